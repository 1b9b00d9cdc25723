// The tests' own cleanup: what was made last is undone first, and one cleanup that fails does not
// keep the others from running (those kill the test's processes).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cleanup, NODE, ROOT, tempDir } from '../helpers/index.js';

test('cleanups run last registered first', async (t) => {
  const ran: string[] = [];
  await t.test('inner', (inner) => {
    cleanup(inner, () => ran.push('directory'));
    cleanup(inner, () => ran.push('daemon'));
    cleanup(inner, async () => {
      await new Promise((r) => setImmediate(r));
      ran.push('replicas');
    });
  });
  assert.deepEqual(ran, ['replicas', 'daemon', 'directory']);
});

test('a cleanup that throws fails its test, and every other cleanup still runs', (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'inner.test.ts');
  const helpers = join(ROOT, 'test', 'helpers', 'index.ts');
  writeFileSync(
    file,
    `import { test } from 'node:test';
import { cleanup } from ${JSON.stringify(helpers)};
test('inner', (t) => {
  cleanup(t, () => console.log('ran: first'));
  cleanup(t, () => { throw new Error('unmount failed'); });
  cleanup(t, () => console.log('ran: last'));
});
`,
  );
  // Its own run, not a subtest of this one: NODE_TEST_CONTEXT would make it report to this runner.
  const { NODE_TEST_CONTEXT: _, ...env } = process.env;
  const r = spawnSync(NODE, ['--import', 'tsx', '--test-reporter=tap', file], { cwd: ROOT, env, encoding: 'utf8' });
  assert.equal(r.status, 1, r.stdout + r.stderr);
  assert.match(r.stdout, /unmount failed/);
  assert.ok(r.stdout.indexOf('ran: last') < r.stdout.indexOf('ran: first') && r.stdout.includes('ran: last'), r.stdout);
});
