// Faults that must not bring tend down, nor cost a running service.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fixture, liveGroupSize, smallTmpfs, specDir, waitFor } from '../helpers/index.js';
import { sleepService, startSupervisor } from '../helpers/supervisor.js';
import { runningPids, startDaemon } from '../helpers/daemon.js';


test('an unwritable log directory: the replica backs off with a reason, and runs once it is fixed', async (t) => {
  const { dir, state } = specDir(t, { 'ok.yaml': sleepService() });
  // A file where the service's log directory should be: its log cannot be opened.
  mkdirSync(join(state, 'logs'), { recursive: true });
  writeFileSync(join(state, 'logs', 'w'), 'not a directory');
  const s = await startSupervisor(t, dir, state);
  await s.waitReady('ok', 1);
  writeFileSync(join(dir, 'w.yaml'), sleepService('backoff: { initial: 20ms, max: 100ms }\nmax_restarts: 0\n'));
  const backoff = await s.waitFor(() => s.sup.controller.select('w').find((i) => i.state === 'backoff'), 'w in back-off');
  assert.match(backoff.reason ?? '', /log/i);
  rmSync(join(state, 'logs', 'w'));
  await s.waitReady('w', 1);
  assert.equal(s.pids('ok').size, 1, 'the other service never noticed');
});

test('services.d disappearing keeps everything running; when it comes back its changes apply', async (t) => {
  const { root, dir, state } = specDir(t, { 'a.yaml': sleepService(), 'b.yaml': sleepService('replicas: 2') });
  const s = await startSupervisor(t, dir, state);
  const a = await s.waitReady('a', 1);
  const b = await s.waitReady('b', 2);

  // A deployment the hard way: move the directory away, then put a new one in place.
  renameSync(dir, join(root, 'old'));
  await s.waitFor(() => s.sup.controller.specProblems.some((p) => /cannot read the directory/.test(p.message)), 'problem reported');
  assert.deepEqual(s.pids('a'), a);
  assert.deepEqual(s.pids('b'), b);

  cpSync(join(root, 'old'), dir, { recursive: true });
  writeFileSync(join(dir, 'b.yaml'), sleepService('replicas: 3'));
  await s.waitReady('b', 3);
  assert.deepEqual(s.pids('a'), a, 'a untouched');
  await s.waitFor(() => s.sup.controller.specProblems.length === 0, 'problem cleared');
  // And the new directory is watched.
  writeFileSync(join(dir, 'c.yaml'), sleepService());
  await s.waitReady('c', 1);
});

test('a replica that forks 1000 children is stopped whole', async (t) => {
  // 1000 sleeps in the replica's group (the shell waits for them, as a real forking server would).
  const many = `command: "for i in $(seq 1000); do sleep 1000 & done; wait"\nstop_timeout: 5s\n`;
  const { dir, state } = specDir(t, { 'many.yaml': many });
  const s = await startSupervisor(t, dir, state);
  const [pid] = [...(await s.waitReady('many', 1)).values()];
  await s.waitFor(() => liveGroupSize(pid!) > 1000, 'children forked', 30_000);
  writeFileSync(join(dir, 'many.yaml'), `${many}replicas: 0\n`);
  await s.waitFor(() => s.sup.controller.select('many').length === 0, 'stopped', 30_000);
  assert.equal(liveGroupSize(pid!), 0, 'no member of the group is left alive');
});

test('a spec file rewritten hundreds of times a second: passes stay bounded and the final state is right', async (t) => {
  const { dir, state } = specDir(t, { 'w.yaml': sleepService('replicas: 1') });
  const s = await startSupervisor(t, dir, state, { settleMs: 100 });
  await s.waitReady('w', 1);
  const loadsBefore = s.events.filter((e) => e.type === 'spec.loaded').length;
  // A count of writes, not a duration: how many fit in a second depends on the machine's load.
  const started = Date.now();
  let writes = 0;
  for (; writes < 400; writes++) {
    writeFileSync(join(dir, 'w.yaml'), sleepService(`replicas: ${1 + (writes % 4)}\n# ${writes}`));
    if (writes % 5 === 0) await new Promise((r) => setImmediate(r));
  }
  const churn = Date.now() - started;
  writeFileSync(join(dir, 'w.yaml'), sleepService('replicas: 3'));
  await s.waitReady('w', 3);
  const loads = s.events.filter((e) => e.type === 'spec.loaded').length - loadsBefore;
  t.diagnostic(`${writes} writes in ${churn} ms gave ${loads} reloads`);
  // The max wait (2 s) bounds how often constant churn is read: about one read per 2 s of churn
  // and the final one, not one per write.
  assert.ok(loads <= Math.ceil(churn / 2000) + 2, `${loads} reloads for ${writes} writes in ${churn} ms`);
});

test('a replica that floods exits keeps the daemon responsive and its history bounded', async (t) => {
  const { dir, state } = specDir(t, {
    'flood.yaml': 'command: ["true"]\nbackoff: { initial: 0, max: 0 }\nmax_restarts: 0\n',
    'calm.yaml': sleepService(),
  });
  const d = await startDaemon(t, dir, state);
  await waitFor(async () => (await d.status()).services.find((x) => x.name === 'flood')?.restarts! > 200, { what: 'flood', timeoutMs: 20_000 });
  // The API still answers, and the calm service runs.
  const st = await d.status();
  assert.equal(runningPids(st, 'calm').length, 1);
  const history = await d.api.eventHistory(100_000);
  assert.ok(history.length <= 2000, `in-memory history bounded (${history.length})`);
});

test('too many open files: tend under a low fd limit keeps running and converges', async (t) => {
  // 60 exec probes every 50 ms need far more pipes than 128 descriptors allow: some probes fail
  // with EMFILE and are retried; nothing may crash, and every replica gets ready in the end.
  const { dir, state } = specDir(t, { 'w.yaml': sleepService('replicas: 60\nreadiness: { exec: ["true"], interval: 50ms, timeout: 1s }\n') });
  const d = await startDaemon(t, dir, state, { nofile: 128 });
  await d.converged((s) => runningPids(s).length === 60 && s.services[0]!.ready === 60, 60_000);
  assert.equal(d.child.exitCode, null, 'tend is still running');
});

test('a cold start of 300 replicas under 64 descriptors: no start fails for want of one', async (t) => {
  // Log files are opened off the event loop while earlier replicas fork; at most a few are open at
  // once, so a fleet far larger than the descriptor limit starts without a single EMFILE.
  const { dir, state } = specDir(t, { 'w.yaml': sleepService('replicas: 300\n') });
  const d = await startDaemon(t, dir, state, { nofile: 64 });
  await d.converged((s) => runningPids(s).length === 300, 120_000);
  const events = readFileSync(join(state, 'events.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { type: string; message?: string });
  const failed = events.filter((e) => e.type === 'replica.backoff' || e.type === 'replica.failed');
  assert.deepEqual(failed.map((e) => e.message), []);
  assert.equal(events.filter((e) => e.type === 'replica.started').length, 300);
});

test('a full disk under the state directory: tend keeps supervising and answering', async (t) => {
  const { dir } = specDir(t, {
    'chatty.yaml': `command: ${JSON.stringify(fixture('print-lines.mjs', 1_000_000))}\nrestart: never\n`,
    'calm.yaml': sleepService(),
  });
  // The state directory is a 256 KiB tmpfs (unmounted after the daemon and its replicas are killed).
  const state = smallTmpfs(t, '256k', 'mode=0700');
  if (!state) return;
  const d = await startDaemon(t, dir, state);
  // The chatty job fills the disk with its log; everything tend writes after that fails (ENOSPC).
  await waitFor(() => Number(execFileSync('df', ['--output=avail', state], { encoding: 'utf8' }).split('\n')[1]) === 0, { what: 'disk full', timeoutMs: 20_000 });
  // Enough events (two or three a replica) to need new pages of events.jsonl, which a full
  // tmpfs refuses: less fits in the page the file ends in.
  writeFileSync(join(dir, 'calm.yaml'), sleepService('replicas: 20'));
  // (The chatty job itself dies of ENOSPC and stays failed, so the whole status never converges.)
  await waitFor(async () => runningPids(await d.status(), 'calm').length === 20, { what: 'calm scaled to 20', timeoutMs: 20_000 });
  assert.equal(d.child.exitCode, null, 'tend is still running');

  // Space comes back: the events of the full spell reach events.jsonl after all, and the next
  // ones too (the file was given up at the first ENOSPC for good; a restart then numbered events
  // from what the file held, giving ids already seen to other events).
  rmSync(join(state, 'logs', 'chatty'), { recursive: true, force: true });
  const victim = runningPids(await d.status(), 'calm')[0]!;
  process.kill(victim, 'SIGKILL');
  const last = await waitFor(async () => (await d.api.eventHistory(50)).findLast((e) => e.type === 'replica.started' && e.service === 'calm' && e.pid !== victim && (e.id ?? 0) > 0), { what: 'calm restarted' });
  const lastId = last.id!;
  const onDisk = () => readFileSync(join(state, 'events.jsonl'), 'utf8').split('\n').flatMap((l) => { try { return [JSON.parse(l) as { id: number }]; } catch { return []; } });
  await waitFor(() => onDisk().some((e) => e.id === lastId), { what: 'the new events in events.jsonl', timeoutMs: 10_000 });
  // A write that failed part way (ENOSPC) may leave some of its lines in the file, written again
  // after it: tend reads such a line once (ids only grow), as this does.
  const ids: number[] = [];
  for (const e of onDisk()) if (e.id > (ids.at(-1) ?? 0)) ids.push(e.id);
  const held = (await d.api.eventHistory(5000)).map((e) => e.id!);
  const upTo = Math.min(ids.at(-1)!, held.at(-1)!);
  assert.ok(upTo >= lastId);
  assert.deepEqual(ids.filter((id) => id >= held[0]! && id <= upTo), held.filter((id) => id <= upTo), 'every event the daemon holds is in the file, in order');
  await d.api.shutdown();
  await d.exited;
  const again = await startDaemon(t, dir, state);
  const next = (await again.api.eventHistory(5)).at(-1)!;
  assert.ok(next.id! > lastId, `ids go on after a restart (${next.id} after ${lastId})`);
});
