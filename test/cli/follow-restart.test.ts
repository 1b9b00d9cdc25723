// `tend logs -f` and `tend events -f` while the daemon is killed and started again (a crash, a
// restart of tend in the middle of a deploy). Before, `logs -f` died with "internal error: Error:
// aborted" (exit 70) and `events -f` ended silently (exit 0), though the replicas ran on and went
// on writing. Now both say the daemon went away, wait for one to answer, and follow on: no line
// lost and none repeated, events by their ids; `tend down` still ends them (exit 0).

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { BUILT, cleanup, isAlive, processReaper, tempDir, waitFor, writeFiles } from '../helpers/index.js';
import { killMarkedGroups, markedGroups } from '../helpers/daemon.js';
import { runCli } from './run-cli.js';

function follower(dir: string, args: string[]) {
  const env = { ...process.env };
  delete env['TEND_STATE_DIR'];
  const child = spawn(BUILT, args, { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (err += c.toString()));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return { child, out: () => out, err: () => err, exited };
}

/** `tend up -d --wait` in a new project of one service `p`, running `script` in sh; its replicas and
 *  daemons are killed after the test. */
async function upOne(t: TestContext, script: string) {
  const dir = tempDir(t);
  writeFiles(join(dir, 'services.d'), { 'p.yaml': `command: ["sh", "-c", ${JSON.stringify(script)}]\nstop_timeout: 2s\n` });
  const state = join(dir, '.tend');
  const reaper = processReaper(t);
  const up = await runCli(dir, ['up', '-d', '--wait']);
  assert.equal(up.code, 0, up.stdout + up.stderr);
  markedGroups(state);
  cleanup(t, () => killMarkedGroups(state));
  const daemon = () => Number(readFileSync(join(state, 'tend.pid'), 'utf8').split('\n')[0]);
  reaper.track(daemon(), true);
  return { dir, state, reaper, daemon };
}

test('logs -f and events -f follow on across a daemon killed and started again: no line lost or repeated', { timeout: 120_000 }, async (t) => {
  const { dir, reaper, daemon } = await upOne(t, 'i=0; while :; do i=$((i+1)); echo line $i; sleep 0.05; done');
  const first = daemon();

  const logs = follower(dir, ['logs', '-f', 'p']);
  const events = follower(dir, ['events', '-f', '-o', 'json']);
  cleanup(t, () => {
    logs.child.kill('SIGKILL');
    events.child.kill('SIGKILL');
  });
  const numbers = () => [...logs.out().matchAll(/^p\/0 \| line (\d+)$/gm)].map((m) => Number(m[1]));
  await waitFor(() => numbers().length >= 10, { what: '10 lines followed' });
  await waitFor(() => events.out().includes('"type":"replica.ready"'), { what: 'the events followed' });

  process.kill(first, 'SIGKILL');
  await waitFor(() => !isAlive(first), { what: 'the daemon gone' });
  await waitFor(() => logs.err().includes('the daemon went away') && events.err().includes('the daemon went away'), { what: 'both say the daemon went away' }).catch((err: unknown) => {
    throw new Error(`${(err as Error).message}\nlogs said: ${logs.err()}\nevents said: ${events.err()}\nevents printed: ${events.out().length} chars`);
  });
  const before = numbers().at(-1)!;
  const again = await runCli(dir, ['up', '-d']);
  assert.equal(again.code, 0, again.stdout + again.stderr);
  reaper.track(daemon(), true);
  await waitFor(() => logs.err().includes('the daemon is back') && events.err().includes('the daemon is back'), { what: 'both follow on' });
  await waitFor(() => (numbers().at(-1) ?? 0) >= before + 20, { what: 'lines written since, followed' });

  assert.equal((await runCli(dir, ['down'])).code, 0);
  assert.equal(await logs.exited, 0, logs.err());
  assert.equal(await events.exited, 0, events.err());
  const seen = numbers();
  assert.deepEqual(seen, seen.map((_, i) => seen[0]! + i), 'every line once, in order');
  const ids = events.out().trim().split('\n').map((l) => (JSON.parse(l) as { id: number }).id);
  assert.deepEqual(ids, ids.map((_, i) => ids[0]! + i), 'every event once, in order');
  assert.ok(events.out().includes('"type":"replica.adopted"'), 'the new daemon\'s events too');
  assert.doesNotMatch(logs.err() + events.err(), /internal error/);
});

test('tend logs (a history) cut by a daemon killed mid-way: exit 3 and a line that says so, not an internal error', { timeout: 120_000 }, async (t) => {
  const { dir, state, daemon: pidOf } = await upOne(t, 'seq 1 300000; exec sleep 1000');
  const daemon = pidOf();
  const log = join(state, 'logs', 'p', '0.log');
  await waitFor(() => readFileSync(log, 'utf8').endsWith('300000\n'), { what: 'the whole count written' });

  // A reader that stops reading: 300,000 lines cannot all be on their way (a pipe, the socket's
  // buffers) once it has some, so the daemon is killed in the middle of the history.
  const history = follower(dir, ['logs', 'p']);
  cleanup(t, () => history.child.kill('SIGKILL'));
  history.child.stdout.pause();
  await waitFor(() => history.child.stdout.readableLength > 0, { what: 'the history begun' });
  process.kill(daemon, 'SIGKILL');
  history.child.stdout.resume();
  assert.equal(await history.exited, 3, history.err());
  assert.match(history.err(), /^tend: the tend daemon on \.tend\/tend\.sock went away before the logs ended\n$/);
});
