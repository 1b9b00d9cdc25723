// One daemon per services directory, from the user's side. A shell with TEND_STATE_DIR exported
// (for another project, from a .bashrc) ran `tend up -d` in a project whose daemon already ran on
// its default ./.tend: a second daemon started, and every replica ran twice, the copies fighting
// for their ports. s6-svscan and runsv refuse a second instance on one directory; so does tend now,
// and the lock goes with the process that held it, however it ended.

import assert from 'node:assert/strict';
import { existsSync, readFileSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { BUILT, cleanup, isAlive, NODE, specDir, waitFor } from '../helpers/index.js';
import { killDetachedDaemon, killMarkedGroups, markedGroups } from '../helpers/daemon.js';
import { runCli, upDetached } from './run-cli.js';

test('a second daemon on the same services.d is refused, whatever its state directory and however the directory is named; the lock goes with the daemon', { timeout: 120_000 }, async (t) => {
  const { root, dir } = specDir(t, { 'w.yaml': 'command: ["sleep", "1000"]\nreplicas: 2\nstop_timeout: 2s\n' });
  const state = join(root, '.tend');
  const other = join(root, 'other-project-state');
  const { daemon } = await upDetached(t, root);
  // Were a second daemon to start, it would be stopped after the test.
  cleanup(t, () => runCli(root, ['--state-dir', other, 'down']).catch(() => undefined));

  const exported = await runCli(root, ['up', '-d'], { env: { TEND_STATE_DIR: other } });
  assert.equal(exported.code, 6, exported.stdout + exported.stderr);
  assert.equal(
    exported.stderr,
    `tend: the tend daemon ${daemon} already supervises ${dir}, with the state directory ${state} (TEND_STATE_DIR is set to ${other} here); two would run every replica twice: reach it with \`tend --state-dir ${state} status\`, or stop it with \`tend --state-dir ${state} down\` first\n`,
  );
  assert.ok(!existsSync(join(other, 'tend.pid')), 'no second daemon');

  // In the foreground, and through a link to the same directory: the daemon itself refuses.
  symlinkSync(dir, join(root, 'link.d'));
  const linked = await runCli(root, ['--state-dir', other, 'up', 'link.d']);
  assert.equal(linked.code, 6, linked.stdout + linked.stderr);
  assert.match(linked.stderr, new RegExp(`^tend: the tend daemon ${daemon} already supervises ${join(root, 'link.d')}, with the state directory ${state}; two would run`, 'm'));
  assert.ok(!existsSync(join(other, 'tend.pid')), 'no pid file left by the refused daemon');
  assert.equal(markedGroups(state).length, 2, 'no replica started twice');

  // Killed, the daemon gives the directory up: a daemon on another state directory may start.
  process.kill(daemon, 'SIGKILL');
  await waitFor(() => !isAlive(daemon), { what: 'the first daemon gone' });
  const after = await runCli(root, ['--state-dir', other, 'up', '-d', '--no-adopt', '--wait']);
  assert.equal(after.code, 0, after.stdout + after.stderr);
  const second = Number(readFileSync(join(other, 'tend.pid'), 'utf8').split('\n')[0]);
  cleanup(t, () => killDetachedDaemon(second, other));
  markedGroups(other);
  cleanup(t, () => killMarkedGroups(other));
  assert.equal((await runCli(root, ['--state-dir', other, 'down'])).code, 0);
});

test('a replica that runs `tend up` for a project of its own is told that TEND_STATE_DIR, which tend set for it, chose its daemon\'s state directory, not to `tend down` it', { timeout: 120_000 }, async (t) => {
  // A CI runner supervised by tend, starting tend for the project it tests: both ways of `up`.
  const { root: inner, dir: innerDir } = specDir(t, { 'x.yaml': 'command: ["sleep", "1000"]\n' });
  // The paths as arguments, not in the script: a checkout under a directory with a space in it.
  const script = [
    'cd "$3"',
    '"$1" "$2" up -d > up-d.out 2>&1; echo $? > up-d.code',
    '"$1" "$2" up > up.out 2>&1; echo $? > up.code',
    'exec sleep 1000',
  ].join('; ');
  const command = ['sh', '-c', script, 'sh', NODE, BUILT, inner];
  const { root, dir } = specDir(t, { 'ci.yaml': `command: ${JSON.stringify(command)}\nstop_timeout: 2s\n` });
  const { daemon, state } = await upDetached(t, root);
  cleanup(t, () => killMarkedGroups(join(inner, '.tend')));

  await waitFor(() => existsSync(join(inner, 'up.code')), { what: 'both commands run by the replica', timeoutMs: 60_000 });
  const leave = `TEND_STATE_DIR chose it (tend sets it for its replicas, and this command runs in one (ci/0)): run tend with \`env -u TEND_STATE_DIR\` for the project's own, or give --state-dir`;
  assert.equal(readFileSync(join(inner, 'up-d.code'), 'utf8').trim(), '6');
  assert.equal(readFileSync(join(inner, 'up-d.out'), 'utf8'), `tend: the state directory ${state} is in use by the tend daemon ${daemon}, which supervises ${dir}, not ${innerDir}; ${leave}\n`);
  assert.equal(readFileSync(join(inner, 'up.code'), 'utf8').trim(), '6');
  assert.match(readFileSync(join(inner, 'up.out'), 'utf8'), new RegExp(`a tend daemon \\(pid ${daemon}\\) already supervises this state directory \\(${join(state, 'tend.pid')}\\); TEND_STATE_DIR chose it \\(tend sets it for its replicas`));
  assert.doesNotMatch(readFileSync(join(inner, 'up.out'), 'utf8'), /tend down/, 'not told to stop the daemon it runs under');
  assert.equal((await runCli(root, ['down'])).code, 0);
});
