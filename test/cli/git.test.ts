// The git helper of `tend scale --commit` when the process has no file descriptor left: execa 9
// then throws "subprocess.stdio is not iterable" instead of a spawn error; tend must say EMFILE.
// Run for real: a child process lowers its limit, opens files until EMFILE, then asks git.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { NODE, ROOT, tempDir } from '../helpers/index.js';

test('git under descriptor exhaustion is a clear EMFILE error, not a TypeError', (t) => {
  const dir = tempDir(t);
  const script = join(dir, 'exhaust.mts');
  writeFileSync(
    script,
    `import { openSync } from 'node:fs';
    import { trackedBy } from ${JSON.stringify(join(ROOT, 'src/cli/git.ts'))};
    const fds = [];
    try { for (;;) fds.push(openSync('/dev/null', 'r')); } catch (err) { if (err.code !== 'EMFILE') throw err; }
    try {
      await trackedBy(${JSON.stringify(join(dir, 'x.yaml'))});
      console.log(JSON.stringify({ ok: true }));
    } catch (err) {
      console.log(JSON.stringify({ name: err.name, code: err.code, message: err.message }));
    }
    process.exit(0);`,
  );
  const r = spawnSync('sh', ['-c', 'ulimit -n 256 && exec "$@"', 'sh', NODE, '--import', 'tsx', script], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as { name?: string; code?: string; message?: string };
  assert.equal(out.name, 'TendError', r.stdout);
  assert.equal(out.code, 'SPAWN_FAILED');
  assert.match(out.message ?? '', /^cannot run git: this process is out of file descriptors \(EMFILE\)/);
});
