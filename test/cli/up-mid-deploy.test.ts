// From the user's side, with the real CLI: `tend up -d` during a deploy that has moved services.d
// away (tend was killed a moment before) keeps every replica the previous daemon ran; and
// `tend stop` / `tend start --wait` hold and release a service.

import assert from 'node:assert/strict';
import { readFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import type { StatusReport } from '../../src/api/types.js';
import { FIXTURE_BIN, NODE, isAlive, processReaper, tempDir, waitFor, writeFiles } from '../helpers/index.js';
import { runCli } from './run-cli.js';

const forever = JSON.stringify([NODE, join(FIXTURE_BIN, 'forever.mjs')]);

function daemonPid(dir: string): number {
  return Number(readFileSync(join(dir, '.tend', 'tend.pid'), 'utf8').split('\n')[0]);
}

/** `tend up -d --wait` on a services.d of one service `web` (2 replicas); `status` reads
 *  `tend status -o json` and registers every replica pid it sees to be killed after the test. */
async function upWeb(t: TestContext): Promise<{ dir: string; reaper: ReturnType<typeof processReaper>; status: () => Promise<StatusReport> }> {
  const dir = tempDir(t);
  const reaper = processReaper(t);
  writeFiles(join(dir, 'services.d'), { 'web.yaml': `command: ${forever}\nreplicas: 2\nstop_timeout: 2s\n` });
  const up = await runCli(dir, ['up', '-d', '--wait', '--timeout', '30s', '--settle', '50ms']);
  reaper.track(daemonPid(dir), true);
  assert.equal(up.code, 0, up.stdout + up.stderr);
  const status = async () => {
    const s = JSON.parse((await runCli(dir, ['status', '-o', 'json'])).stdout) as StatusReport;
    for (const svc of s.services) for (const r of svc.replicas) if (r.pid !== null) reaper.track(r.pid, true);
    return s;
  };
  return { dir, reaper, status };
}

test('tend up -d on a services.d moved away mid-deploy keeps the previous daemon\'s replicas', { timeout: 120_000 }, async (t) => {
  const { dir, reaper, status } = await upWeb(t);
  const before = (await status()).services[0]!.replicas.map((r) => r.pid);
  assert.equal(before.length, 2);

  const first = daemonPid(dir);
  process.kill(first, 'SIGKILL');
  await waitFor(() => !isAlive(first), { what: 'daemon gone' });
  renameSync(join(dir, 'services.d'), join(dir, 'services.old'));

  // A directory the previous daemon never ran from is a typo, state file or not.
  const typo = await runCli(dir, ['up', '-d', 'servics.d']);
  assert.equal(typo.code, 1);
  assert.match(typo.stderr, /servics\.d does not exist; create it, or add --wait-for-dir/);

  const again = await runCli(dir, ['up', '-d', '--timeout', '30s', '--settle', '50ms']);
  reaper.track(daemonPid(dir), true);
  assert.equal(again.code, 0, again.stdout + again.stderr);
  assert.match(again.stderr, /services\.d does not exist \(yet\): keeping what the previous daemon ran/);
  const adopted = await waitFor(async () => {
    const s = await status();
    return s.services[0]?.replicas.filter((r) => r.state === 'running').length === 2 ? s : undefined;
  }, { what: 'adopted' });
  assert.deepEqual(adopted.services[0]!.replicas.map((r) => r.pid), before, 'the same processes, none stopped');
  for (const pid of before) assert.ok(isAlive(pid!));

  // Without a state file (a first start), a missing directory is still a clear error.
  const down = await runCli(dir, ['down']);
  assert.equal(down.code, 0, down.stderr);
  for (const pid of before) await waitFor(() => !isAlive(pid!), { what: `replica ${pid} stopped by down` });
  const fresh = await runCli(dir, ['up', '-d']);
  assert.equal(fresh.code, 1);
  assert.match(fresh.stderr, /does not exist; create it, or add --wait-for-dir/);
});

test('tend stop holds a service; tend start --wait lifts the hold and returns once it is ready', { timeout: 120_000 }, async (t) => {
  const { dir, status: report } = await upWeb(t);
  const status = async () => (await report()).services.find((x) => x.name === 'web')!;
  const running = (await status()).replicas.map((r) => r.pid!);

  const stop = await runCli(dir, ['stop', 'web']);
  assert.equal(stop.code, 0, stop.stderr);
  for (const pid of running) await waitFor(() => !isAlive(pid), { what: `replica ${pid} stopped` });
  const held = await status();
  assert.equal(held.held, true);

  const start = await runCli(dir, ['start', 'web', '--wait', '--timeout', '30s']);
  assert.equal(start.code, 0, start.stdout + start.stderr);
  assert.match(start.stdout, /^started \(hold lifted\) web$/m);
  assert.match(start.stdout, /^start of web: done$/m);
  // --wait returned only once both replicas were ready: no polling needed here.
  const after = await status();
  assert.equal(after.held, false);
  assert.deepEqual(after.replicas.map((r) => [r.state, r.ready]), [['running', true], ['running', true]]);
  for (const r of after.replicas) assert.ok(!running.includes(r.pid!), 'new processes');
  assert.equal((await runCli(dir, ['down'])).code, 0);
});

test('tend stop --wait returns once every replica has exited, also one that outlives its stop signal', { timeout: 120_000 }, async (t) => {
  const dir = tempDir(t);
  const reaper = processReaper(t);
  // Ignores SIGTERM: it ends at the SIGKILL after stop_timeout, a second after `tend stop`.
  writeFiles(join(dir, 'services.d'), { 'stubborn.yaml': `command: ${JSON.stringify([NODE, join(FIXTURE_BIN, 'ignore-sigterm.mjs')])}\nreplicas: 2\nstop_timeout: 1s\n` });
  const up = await runCli(dir, ['up', '-d', '--wait', '--timeout', '30s', '--settle', '50ms']);
  reaper.track(daemonPid(dir), true);
  assert.equal(up.code, 0, up.stdout + up.stderr);
  const before = JSON.parse((await runCli(dir, ['status', '-o', 'json'])).stdout) as StatusReport;
  const running = before.services[0]!.replicas.map((r) => r.pid!);
  for (const pid of running) reaper.track(pid, true);
  assert.equal(running.length, 2);

  const stop = await runCli(dir, ['stop', 'stubborn', '--wait', '--timeout', '30s']);
  assert.equal(stop.code, 0, stop.stdout + stop.stderr);
  assert.match(stop.stdout, /^stopping \(held until `tend start`\) stubborn$/m);
  assert.match(stop.stdout, /^stop of stubborn: done$/m);
  // Returned only once both were gone: no polling here.
  assert.deepEqual(running.filter(isAlive), [], 'every replica has exited');
  const after = JSON.parse((await runCli(dir, ['status', '-o', 'json'])).stdout) as StatusReport;
  assert.equal(after.services[0]!.held, true);
  assert.equal((await runCli(dir, ['down'])).code, 0);
});
