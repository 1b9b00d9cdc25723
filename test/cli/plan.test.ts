// `tend plan` from the user's side: a copy or a checkout elsewhere compares by content; --switch
// asks what pointing the daemon there would do; a directory that does not exist is an error.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { specDir } from '../helpers/index.js';
import { runningPids, startDaemon } from '../helpers/daemon.js';
import { runCli } from './run-cli.js';

test('plan on an identical copy elsewhere says no changes; a real edit is named; --switch counts the location', async (t) => {
  const { root, dir, state } = specDir(t, {
    'api.yaml': 'command: ["sleep", "1000"]\ncwd: .\nenv: { MODE: a }\nstop_timeout: 2s\n',
    'w.yaml': 'command: ["sleep", "1000"]\nreplicas: 2\nstop_timeout: 2s\n',
  });
  const d = await startDaemon(t, dir, state);
  await d.converged((s) => runningPids(s).length === 3);
  const copy = join(root, 'checkout', 'services.d');
  mkdirSync(join(root, 'checkout'));
  cpSync(dir, copy, { recursive: true });

  const same = await runCli(root, ['--state-dir', state, 'plan', copy, '--exit-code']);
  assert.equal(same.code, 0, same.stdout + same.stderr);
  assert.equal(same.stdout, 'no changes\n');

  const switched = await runCli(root, ['--state-dir', state, 'plan', copy, '--switch', '--exit-code']);
  assert.equal(switched.code, 2);
  assert.match(switched.stdout, /^~ api replace \(cwd changed\)$/m);

  writeFileSync(join(copy, 'api.yaml'), 'command: ["sleep", "1000"]\ncwd: .\nenv: { MODE: b }\nstop_timeout: 2s\n');
  writeFileSync(join(copy, 'w.yaml'), 'command: ["sleep", "1000"]\nreplicas: 3\nstop_timeout: 2s\n');
  const edited = await runCli(root, ['--state-dir', state, 'plan', copy, '--exit-code']);
  assert.equal(edited.code, 2);
  assert.equal(edited.stdout, '~ api replace (env.MODE changed)\n= w scale 2 → 3\n');

  const missing = await runCli(root, ['--state-dir', state, 'plan', join(root, 'nonexistent')]);
  assert.equal(missing.code, 5);
  assert.match(missing.stderr, /nonexistent: no such directory/);
  assert.equal(runningPids(await d.status()).length, 3, 'nothing was touched');
});
