// The state directory removed under a running daemon: `git clean -xdf` in the checkout that holds
// the default ./.tend, or an `rm -rf .tend` to "start afresh". Before the fix, `tend status` said
// there was no daemon, and `tend up -d` started a second one: two daemons, each with its own copy
// of every replica, the first one out of reach of every command.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, renameSync, rmSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import type { StatusReport } from '../../src/api/types.js';
import { cleanup, isAlive, specDir, tempDir, waitFor, writeFiles } from '../helpers/index.js';
import { killDetachedDaemon, killMarkedGroups, markedGroups, runningPids } from '../helpers/daemon.js';
import { runCli } from '../cli/run-cli.js';

test('the state directory removed under a running daemon comes back: the same daemon answers, no second one starts, nothing runs twice', async (t) => {
  const { root, dir } = specDir(t, { 'w.yaml': 'command: ["sleep", "1000"]\nreplicas: 2\nstop_timeout: 2s\n' });
  const state = join(root, '.tend');
  const up = await runCli(root, ['up', dir, '-d', '--wait']);
  assert.equal(up.code, 0, up.stdout + up.stderr);
  markedGroups(state); // remembers the directory's token for the cleanup, after the file is gone
  cleanup(t, () => killMarkedGroups(state));
  const daemon = Number(readFileSync(join(state, 'tend.pid'), 'utf8').split('\n')[0]);
  cleanup(t, () => killDetachedDaemon(daemon, state));
  const status = async (): Promise<StatusReport | undefined> => {
    const r = await runCli(root, ['status', '-o', 'json']);
    return r.code === 0 ? (JSON.parse(r.stdout) as StatusReport) : undefined;
  };
  const before = (await status())!;

  rmSync(state, { recursive: true, force: true });

  const after = await waitFor(status, { what: '`tend status` answering again', timeoutMs: 20_000 });
  assert.equal(after.pid, daemon, 'the same daemon');
  assert.deepEqual(runningPids(after).sort(), runningPids(before).sort(), 'the same replicas');
  for (const f of ['id', 'tend.pid', 'state.json']) assert.ok(existsSync(join(state, f)), `${f} is back`);

  // Were a second daemon to start, `down` would stop it after the test (it carries another token).
  cleanup(t, async () => void (await runCli(root, ['down']).catch(() => undefined)));
  const again = await runCli(root, ['up', dir, '-d']);
  assert.equal(again.code, 6, `a second \`tend up -d\` is refused: ${again.stdout}${again.stderr}`);
  assert.equal(markedGroups(state).length, 2, 'no replica started twice');

  assert.equal((await runCli(root, ['down'])).code, 0);
  await waitFor(() => markedGroups(state).length === 0 && !isAlive(daemon), { what: 'every replica and the daemon gone' });
});

test('the default .tend of a shell in a release link, after a deploy renames the link over the next release: the same daemon answers there, no second one starts', async (t) => {
  // Capistrano's layout; tend started by a shell after `cd current`, so its state directory is
  // current/.tend, which a release switch points at the new release (that has none).
  const root = tempDir(t);
  const current = join(root, 'current');
  const release = (n: string) => {
    writeFiles(join(root, 'releases', n, 'services.d'), { 'w.yaml': `command: ["sleep", "1000"]\nenv: { RELEASE: "${n}" }\nstop_timeout: 2s\n` });
    symlinkSync(join(root, 'releases', n), join(root, 'current.tmp'));
    renameSync(join(root, 'current.tmp'), current);
  };
  release('1');
  const state = join(current, '.tend');
  const inCurrent = (args: string[]) => runCli(current, args, { env: { PWD: current } });
  const up = await inCurrent(['up', '-d', '--wait', '--settle', '50ms']);
  assert.equal(up.code, 0, up.stdout + up.stderr);
  markedGroups(state);
  cleanup(t, () => killMarkedGroups(state));
  const daemon = Number(readFileSync(join(state, 'tend.pid'), 'utf8').split('\n')[0]);
  cleanup(t, () => killDetachedDaemon(daemon, join(root, 'releases', '1', '.tend')));
  cleanup(t, () => killDetachedDaemon(daemon, state));
  const status = async (): Promise<StatusReport | undefined> => {
    const r = await inCurrent(['status', '-o', 'json']);
    return r.code === 0 ? (JSON.parse(r.stdout) as StatusReport) : undefined;
  };
  const first = runningPids((await status())!);

  release('2'); // release 1 is kept, as Capistrano keeps the last five
  const after = await waitFor(async () => {
    const s = await status();
    return s && runningPids(s).length === 1 && runningPids(s)[0] !== first[0] ? s : undefined;
  }, { what: 'the daemon answering in current/.tend, w replaced by release 2', timeoutMs: 20_000 });
  assert.equal(after.pid, daemon, 'the same daemon');
  assert.ok(existsSync(join(root, 'releases', '2', '.tend', 'id')), 'the state directory is in release 2 now');
  assert.match(readFileSync(`/proc/${runningPids(after)[0]}/environ`, 'latin1'), /\0RELEASE=2\0/);

  cleanup(t, async () => void (await inCurrent(['down']).catch(() => undefined)));
  const again = await inCurrent(['up', '-d']);
  assert.equal(again.code, 6, `a second \`tend up -d\` is refused: ${again.stdout}${again.stderr}`);
  assert.equal(markedGroups(state).length, 1, 'no replica started twice');

  assert.equal((await inCurrent(['down'])).code, 0);
  await waitFor(() => markedGroups(state).length === 0 && !isAlive(daemon), { what: 'every replica and the daemon gone' });
});
