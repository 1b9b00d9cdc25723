// The git helper of `tend scale --commit`: with no file descriptor left (execa 9 then throws
// "subprocess.stdio is not iterable" instead of a spawn error; tend must say EMFILE; run for real: a
// child process lowers its limit, opens files until EMFILE, then asks git), and as root in a
// checkout another user owns.

import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { NODE, ROOT, tempDir } from '../helpers/index.js';
import { runCli } from './run-cli.js';

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

// `sudo tend scale --commit` in a deploy user's checkout. git (since 2.35.2) refuses a repository
// that is not the caller's ("dubious ownership"); tend said the file was "not tracked" and committed
// nothing. Running git as root there would also run the user's hooks as root.
test('scale --commit as root in a checkout another user owns: git runs as that user, and the commit is theirs', { skip: process.getuid?.() !== 0 && 'needs root to give a checkout to another user' }, async (t) => {
  if (!/^[^:]*:[^:]*:65534:/m.test(readFileSync('/etc/passwd', 'utf8'))) return t.skip('no user 65534 in /etc/passwd');
  const dir = tempDir(t, { 'services.d/web.yaml': 'command: ["sleep", "100"]\nreplicas: 2\n' });
  // safe.directory: this test's own git, as root, looks into the user's repository afterwards.
  const git = (...args: string[]) => execFileSync('git', ['-c', 'safe.directory=*', ...args], { cwd: dir, encoding: 'utf8' });
  git('init', '-q');
  git('config', 'user.email', 'deploy@example.test'); // the checkout's own identity
  git('config', 'user.name', 'Deploy');
  git('add', '.');
  git('commit', '-qm', 'init');
  // A hook in the user's repository: it must run as the user, never as root.
  writeFileSync(join(dir, '.git', 'hooks', 'pre-commit'), '#!/bin/sh\nid -u > hook-uid\n', { mode: 0o755 });
  execFileSync('chown', ['-R', '65534:65534', dir]);

  const r = await runCli(dir, ['scale', 'web=3', '--commit']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^web: replicas 2 → 3 \(web\.yaml\)\ncommitted services\.d\/web\.yaml as [0-9a-f]+: tend scale: web: replicas 2 → 3\n$/);
  assert.equal(readFileSync(join(dir, 'hook-uid'), 'utf8').trim(), '65534', 'the hook ran as the checkout\'s owner');
  // Before this test's own git reads the repository as root (a status may rewrite the index).
  assert.equal(statSync(join(dir, '.git', 'index')).uid, 65534, 'git\'s own files stay the user\'s');
  const st = statSync(join(dir, 'services.d/web.yaml'));
  assert.deepEqual([st.uid, st.gid], [65534, 65534]);
  assert.equal(git('--no-optional-locks', 'status', '--porcelain', '--', 'services.d'), '', 'the file is committed');
  assert.equal(git('log', '-1', '--format=%ae'), 'deploy@example.test\n');
});
