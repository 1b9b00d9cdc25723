// Descriptor exhaustion must turn a command hook into a reported failure, never a crash of tend.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { NODE, ROOT } from '../helpers/index.js';

test('under `ulimit -n 256` with every descriptor taken, a command hook fails cleanly and works again once they are freed', () => {
  const script = join(ROOT, 'test', 'hooks', 'fixtures', 'emfile-hook.ts');
  // Not lower: the module loader (tsx, with a cold cache on a fresh clone) opens files in parallel
  // before the fixture runs, and under 64 it failed one start in three with EMFILE of its own.
  const r = spawnSync('sh', ['-c', 'ulimit -n 256 && exec "$@"', 'sh', NODE, '--import', 'tsx', script], { cwd: ROOT, encoding: 'utf8', timeout: 30_000 });
  assert.equal(r.status, 0, `the process survived (stderr: ${r.stderr})`);
  const out = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { held: number; starved: { ok: boolean; reason?: string }; after: { ok: boolean } };
  assert.ok(out.held > 0, 'descriptors were filled');
  assert.equal(out.starved.ok, false);
  assert.match(out.starved.reason!, /out of file descriptors|EMFILE/);
  assert.equal(out.after.ok, true);
});
