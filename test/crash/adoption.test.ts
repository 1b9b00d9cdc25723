// A restart of tend loses nothing: replicas outlive a SIGKILL of the daemon and are adopted again
// by pid and start time, with no duplicate; state.json damage never leaves an orphan behind.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TendEvent } from '../../src/api/types.js';
import { readState } from '../../src/state/state-file.js';
import { isAlive, specDir, tempDir, waitFor } from '../helpers/index.js';
import { markedGroups, runningPids, startDaemon, zombieChildren } from '../helpers/daemon.js';

const sleeper = (over = '') => `command: ["sleep", "1000"]\nstop_timeout: 2s\n${over}`;


test('SIGKILL of tend: replicas keep running and the next tend adopts them, starting no duplicate', async (t) => {
  const { dir, state } = specDir(t, { 'w.yaml': sleeper('replicas: 3'), 'db.yaml': sleeper() });
  const d1 = await startDaemon(t, dir, state);
  const before = runningPids(await d1.converged((s) => runningPids(s).length === 4));

  d1.child.kill('SIGKILL');
  await d1.exited;
  for (const pid of before) assert.ok(isAlive(pid), `replica ${pid} outlived tend`);

  const d2 = await startDaemon(t, dir, state);
  const after = await d2.converged((s) => runningPids(s).length === 4);
  assert.deepEqual(runningPids(after), before, 'the same processes, adopted');
  assert.deepEqual(markedGroups(state).sort((a, b) => a - b), before, 'no duplicate was started');
  const events = await d2.api.eventHistory(100);
  assert.equal(events.filter((e) => e.type === 'replica.adopted').length, 4);

  // An adopted replica is not tend's child; its exit is still noticed (by polling /proc) and restarted.
  const victim = before[0]!;
  process.kill(victim, 'SIGKILL');
  const healed = await d2.converged((s) => runningPids(s).length === 4 && !runningPids(s).includes(victim));
  assert.equal(runningPids(healed).length, 4);

  await d2.api.shutdown();
  await d2.exited;
  for (const pid of runningPids(healed)) await waitFor(() => !isAlive(pid), { what: `${pid} stopped` });
  assert.deepEqual(zombieChildren(d2.pid), []);
});

test('a spec changed while tend was down replaces the adopted replicas; the others are kept', async (t) => {
  const { dir, state } = specDir(t, { 'a.yaml': sleeper('env: { V: "1" }'), 'b.yaml': sleeper() });
  const d1 = await startDaemon(t, dir, state);
  const s1 = await d1.converged((s) => runningPids(s).length === 2);
  const [a1, b1] = [runningPids(s1, 'a')[0], runningPids(s1, 'b')[0]];
  d1.child.kill('SIGKILL');
  await d1.exited;

  writeFileSync(join(dir, 'a.yaml'), sleeper('env: { V: "2" }'));
  const d2 = await startDaemon(t, dir, state);
  const s2 = await d2.converged((s) => runningPids(s).length === 2 && runningPids(s, 'a')[0] !== a1);
  assert.equal(runningPids(s2, 'b')[0], b1, 'b adopted as is');
  await waitFor(() => !isAlive(a1!), { what: 'old a stopped' });
});

test('--no-adopt stops the replicas of the earlier run and starts fresh ones', async (t) => {
  const { dir, state } = specDir(t, { 'w.yaml': sleeper('replicas: 2') });
  const d1 = await startDaemon(t, dir, state);
  const before = runningPids(await d1.converged((s) => runningPids(s).length === 2));
  d1.child.kill('SIGKILL');
  await d1.exited;

  const d2 = await startDaemon(t, dir, state, { flags: ['--no-adopt'] });
  const after = runningPids(await d2.converged((s) => runningPids(s).length === 2));
  for (const pid of before) {
    assert.ok(!after.includes(pid));
    assert.equal(isAlive(pid), false, `old replica ${pid} was stopped`);
  }
});

test('a corrupt state.json is reported and set aside; the replicas are found by their marker and adopted, no orphan, no duplicate', async (t) => {
  const { dir, state } = specDir(t, { 'w.yaml': sleeper('replicas: 2'), 'x.yaml': sleeper('env: { V: "1" }') });
  const d1 = await startDaemon(t, dir, state);
  const before = await d1.converged((s) => runningPids(s).length === 3);
  await waitFor(() => existsSync(join(state, 'state.json')), { what: 'state.json written' });
  d1.child.kill('SIGKILL');
  await d1.exited;
  writeFileSync(join(state, 'state.json'), '{"version":1,"replicas":[{"pid":');
  // x changes meanwhile: its marker says it runs an old spec, so it is replaced, not adopted.
  writeFileSync(join(dir, 'x.yaml'), sleeper('env: { V: "2" }'));

  const d2 = await startDaemon(t, dir, state);
  const oldX = runningPids(before, 'x')[0]!;
  const after = await d2.converged((s) => runningPids(s).length === 3 && !runningPids(s, 'x').includes(oldX));
  assert.deepEqual(runningPids(after, 'w'), runningPids(before, 'w'), 'w adopted by its marker');
  await waitFor(() => !isAlive(oldX), { what: 'outdated x stopped' });
  assert.deepEqual(markedGroups(state).sort((a, b) => a - b), runningPids(after), 'exactly the wanted replicas run');
  const events = await d2.api.eventHistory(200);
  assert.ok(events.some((e) => e.type === 'state.corrupt'));
  assert.ok(readdirSync(state).some((f) => f.startsWith('state.json.corrupt-')), 'the corrupt file is kept aside');
});

test('a replica of a service removed while tend was down is stopped, not orphaned', async (t) => {
  const { dir, state } = specDir(t, { 'keep.yaml': sleeper(), 'gone.yaml': sleeper() });
  const d1 = await startDaemon(t, dir, state);
  const before = await d1.converged((s) => runningPids(s).length === 2);
  d1.child.kill('SIGKILL');
  await d1.exited;
  rmSync(join(dir, 'gone.yaml'));
  rmSync(join(state, 'state.json'), { force: true });

  const d2 = await startDaemon(t, dir, state);
  const after = await d2.converged((s) => runningPids(s).length === 1);
  assert.deepEqual(runningPids(after, 'keep'), runningPids(before, 'keep'));
  await waitFor(() => !isAlive(runningPids(before, 'gone')[0]!), { what: 'gone stopped' });
});

test('state.json is always whole JSON, even while replicas churn', async (t) => {
  const { dir, state } = specDir(t, { 'w.yaml': sleeper('replicas: 20') });
  const d = await startDaemon(t, dir, state);
  await d.converged((s) => runningPids(s).length === 20);
  for (let n = 0; n < 30; n++) {
    writeFileSync(join(dir, 'w.yaml'), sleeper(`replicas: ${n % 2 ? 5 : 20}`));
    const text = existsSync(join(state, 'state.json')) ? readFileSync(join(state, 'state.json'), 'utf8') : '{}';
    assert.doesNotThrow(() => JSON.parse(text), 'state.json parses');
    await new Promise((r) => setImmediate(r));
  }
});

/** The fewest replicas in service at any point of `events`, from `serving` (the adopted, ready
 *  ones): a replica leaves service when it is told to stop, a new one joins at its replica.ready. */
function fewestServing(events: TendEvent[], serving: Set<number>): number {
  const now = new Set(serving);
  let fewest = now.size;
  for (const e of events) {
    const pid = (e as { pid?: number }).pid;
    if (pid === undefined) continue;
    if (e.type === 'replica.stopping' || e.type === 'replica.exited') now.delete(pid);
    if (e.type === 'replica.ready') now.add(pid);
    fewest = Math.min(fewest, now.size);
  }
  return fewest;
}

/** Waits until state.json records every replica of `pids` as ready (its writes are coalesced). */
async function recordedReady(state: string, pids: number[]): Promise<void> {
  await waitFor(
    () => {
      const s = readState(join(state, 'state.json'));
      return s.kind === 'ok' && pids.every((pid) => s.state.replicas.some((r) => r.pid === pid && r.ready === true));
    },
    { what: 'state.json to record the replicas ready' },
  );
}

test('a rolling update that tend restarts into keeps its pace: one replica out of service at a time, with or without a readiness probe', { timeout: 120_000 }, async (t) => {
  for (const probe of ['', 'readiness: { exec: ["sh", "-c", "sleep 0.2"], interval: 500ms }\n']) {
    const web = (v: number) => sleeper(`replicas: 4\nenv: { V: "${v}" }\nupdate: { strategy: rolling, max_unavailable: 1, max_surge: 0 }\n${probe}`);
    const { dir, state } = specDir(t, { 'web.yaml': web(1) });
    const d1 = await startDaemon(t, dir, state);
    const before = runningPids(await d1.converged((s) => s.services[0]!.replicas.filter((r) => r.ready).length === 4));
    await recordedReady(state, before);
    d1.child.kill('SIGKILL');
    await d1.exited;

    // The deploy lands while tend is down (or tend is restarted in its middle: the same to the next daemon).
    writeFileSync(join(dir, 'web.yaml'), web(2));
    const d2 = await startDaemon(t, dir, state);
    const after = runningPids(await d2.converged((s) => s.services[0]!.replicas.filter((r) => r.ready).length === 4 && runningPids(s).every((p) => !before.includes(p)), 60_000));
    assert.equal(after.length, 4);
    const events = await d2.api.eventHistory(1000);
    const from = events.findIndex((e) => e.type === 'replica.adopted');
    assert.ok(from >= 0, 'the replicas were adopted');
    assert.equal(fewestServing(events.slice(from), new Set(before)), 3, `${probe ? 'with' : 'without'} a probe: never more than max_unavailable (1) out of service`);
    await d2.api.shutdown();
    await d2.exited;
  }
});

test('tend killed in the middle of a surge rollout: the next one adopts the old replica and its replacement, and finishes with none out of service', { timeout: 120_000 }, async (t) => {
  // A readiness probe that passes from the second check: each replacement takes ~1 s to be ready,
  // time for the crash to come while one is on the way.
  const marks = tempDir(t);
  const mark = `${marks}/ready.$$TEND_REPLICA.$$V`;
  const probe = `readiness: { exec: ["sh", "-c", "test -e ${mark} || { touch ${mark}; exit 1; }"], interval: 500ms, failure_threshold: 1 }\n`;
  const web = (v: number) => sleeper(`replicas: 3\nenv: { V: "${v}" }\nupdate: { strategy: rolling, max_unavailable: 0, max_surge: 1 }\n${probe}`);
  const { dir, state } = specDir(t, { 'web.yaml': web(1) });
  const d1 = await startDaemon(t, dir, state);
  const before = runningPids(await d1.converged((s) => s.services[0]!.replicas.filter((r) => r.ready).length === 3, 30_000));
  await recordedReady(state, before);

  writeFileSync(join(dir, 'web.yaml'), web(2));
  // The surge replacement is on record beside the replica it replaces.
  const surge = await waitFor(() => {
    const s = readState(join(state, 'state.json'));
    if (s.kind !== 'ok') return undefined;
    return s.state.replicas.find((r) => !before.includes(r.pid) && s.state.replicas.some((o) => o.index === r.index && before.includes(o.pid)));
  }, { what: 'a surge replica on record', timeoutMs: 30_000, intervalMs: 10 });
  d1.child.kill('SIGKILL');
  await d1.exited;

  const d2 = await startDaemon(t, dir, state);
  const after = runningPids(await d2.converged((s) => s.services[0]!.replicas.filter((r) => r.ready).length === 3 && runningPids(s).every((p) => !before.includes(p)), 60_000));
  assert.ok(after.includes(surge.pid), `the surge replica ${surge.pid} was adopted and kept (${after.join(', ')})`);
  const events = await d2.api.eventHistory(1000);
  const from = events.findIndex((e) => e.type === 'replica.adopted');
  const adopted = events.slice(from).filter((e) => e.type === 'replica.adopted').map((e) => (e as { pid: number }).pid);
  assert.deepEqual(adopted.sort((a, b) => a - b), [...before, surge.pid].sort((a, b) => a - b), 'all four adopted');
  assert.equal(fewestServing(events.slice(from), new Set(before)), 3, 'never fewer than 3 in service (max_unavailable: 0)');
  await d2.api.shutdown();
  await d2.exited;
});
