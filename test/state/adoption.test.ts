// Table tests of the adoption planner (pure): what a new daemon makes of what the previous one left.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { planAdoption, type AdoptionInput, type Liveness } from '../../src/state/adoption.js';
import { snapshotState } from '../../src/state/state-file.js';
import type { MarkedGroup } from '../../src/state/orphans.js';
import { spec } from '../helpers/world.js';

const W = spec('w', { replicas: 2 });
const JOB = spec('job', { oneshot: true, restart: 'on-failure' });
const W_OLD = spec('w', { replicas: 2, hash: 'w-v0' });
const rec = (index: number, pid: number, nonce: string, over: Partial<{ restarts: number; deaths: number[]; streak: number }> = {}) => ({
  service: 'w', index, pid, pgid: pid, procStart: pid * 10, startedAt: 1, restarts: 0, nonce, spec: W, ...over,
});
const stateWith = (replicas: ReturnType<typeof rec>[], completions: { service: string; index: number; spec: typeof W; exitedAt: number }[] = []) =>
  snapshotState({ replicas, completions, desired: [W, JOB] }, 1);
// (specOf finds a recorded replica's spec by its hash: W_OLD is in the file as the old replica's.)
const mark = (pgid: number, nonce: string | undefined, over: Partial<MarkedGroup> = {}): MarkedGroup => ({
  pgid, startTime: pgid * 10, service: 'w', index: 0, hash: W.hash, ...(nonce ? { nonce } : {}), ...over,
});

function run(over: Partial<AdoptionInput>) {
  const p = planAdoption({ marked: [], liveness: new Map(), specs: new Map([['w', W], ['job', JOB]]), adopt: true, startedAt: (t) => t, now: 5000, ...over });
  return {
    adopt: p.adopt.map((a) => `${a.service}/${a.index}@${a.handle.pid}`),
    exited: p.exited.map((x) => `${x.service}/${x.index}${x.unknown ? ' unknown' : ` code=${x.exit?.code}`}`),
    completed: p.completed.map((c) => `${c.service}/${c.index}`),
    stop: p.stop.map((s) => `${s.handle.pid}: ${s.why}`),
    escaped: p.escaped.map((e) => e.handle.pid),
  };
}
const alive = (...pgids: number[]) => new Map<number, Liveness>(pgids.map((p) => [p, { kind: 'alive' }]));

const cases: Record<string, { input: Partial<AdoptionInput>; expect: Partial<ReturnType<typeof run>> }> = {
  'nothing left: nothing to do': { input: {}, expect: { adopt: [], stop: [], exited: [], escaped: [] } },
  'recorded and alive: adopted as recorded, whatever its environment says': {
    input: { state: stateWith([rec(0, 100, 'n0'), rec(1, 101, 'n1')]), liveness: alive(100, 101), marked: [mark(100, 'n0'), mark(101, 'n1', { index: 7 })] },
    expect: { adopt: ['w/0@100', 'w/1@101'], stop: [], escaped: [] },
  },
  'a descendant carrying a recorded nonce (setsid child, exec probe of old) is never the replica': {
    input: { state: stateWith([rec(0, 100, 'n0')]), liveness: alive(100), marked: [mark(90, 'n0'), mark(100, 'n0')] },
    expect: { adopt: ['w/0@100'], stop: [], escaped: [90] },
  },
  'no state file: the oldest leader per nonce is the replica, the younger ones escaped': {
    input: { marked: [mark(300, 'n0'), mark(200, 'n0'), mark(250, 'n1', { index: 1 })] },
    expect: { adopt: ['w/0@200', 'w/1@250'], escaped: [300], stop: [] },
  },
  'no state file: a group running an outdated spec is stopped': {
    input: { marked: [mark(200, 'n0', { hash: 'old' })] },
    expect: { adopt: [], stop: ['200: nothing to adopt it as (its service or spec is no longer in force)'] },
  },
  'no state file: two replicas in one slot keep the first, stop the second': {
    input: { marked: [mark(200, 'n0'), mark(300, 'n9')] },
    expect: { adopt: ['w/0@200'], stop: ['300: a second replica in its slot'] },
  },
  'recorded but exited while tend was down, exit read from its zombie': {
    input: { state: stateWith([rec(0, 100, 'n0')]), liveness: new Map([[100, { kind: 'exited', exit: { code: 0, signal: null } }]]) },
    expect: { adopt: [], exited: ['w/0 code=0'] },
  },
  'recorded but exited and reaped: the exit is unknown': {
    input: { state: stateWith([rec(0, 100, 'n0')]), liveness: new Map([[100, { kind: 'exited' }]]) },
    expect: { exited: ['w/0 unknown'] },
  },
  'a completed job is restored, not run again': {
    input: { state: stateWith([], [{ service: 'job', index: 0, spec: JOB, exitedAt: 7 }]) },
    expect: { completed: ['job/0'] },
  },
  '--no-adopt: every recorded and marked group is stopped': {
    input: { adopt: false, state: stateWith([rec(0, 100, 'n0')]), liveness: alive(100), marked: [mark(100, 'n0'), mark(250, 'n5', { index: 1 })] },
    expect: { adopt: [], stop: ['100: --no-adopt', '250: --no-adopt'] },
  },
  'a surge rollout cut by the crash: the old replica and its recorded replacement share the slot, both adopted': {
    input: { state: stateWith([{ ...rec(0, 100, 'n0'), spec: W_OLD }, rec(0, 300, 'n9'), rec(1, 101, 'n1')]), liveness: alive(100, 300, 101) },
    expect: { adopt: ['w/0@100', 'w/0@300', 'w/1@101'], stop: [] },
  },
  'a surge rollout cut by the crash before the replacement was recorded: found by its mark and adopted beside the old one': {
    input: { state: stateWith([{ ...rec(0, 100, 'n0'), spec: W_OLD }]), liveness: alive(100), marked: [mark(100, 'n0', { hash: W_OLD.hash }), mark(300, 'n9')] },
    expect: { adopt: ['w/0@100', 'w/0@300'], stop: [] },
  },
  'two recorded replicas of the same spec in one slot: the second is a duplicate and stopped': {
    input: { state: stateWith([rec(0, 100, 'n0'), rec(0, 300, 'n9')]), liveness: alive(100, 300) },
    expect: { adopt: ['w/0@100'], stop: ['300: a second replica in its slot'] },
  },
  'a replica that exited while tend was down, whose restart was not recorded yet: the restart is adopted, not run twice': {
    input: { state: stateWith([rec(0, 100, 'n0')]), liveness: new Map([[100, { kind: 'exited' }]]), marked: [mark(300, 'n9')] },
    expect: { adopt: [], exited: ['w/0 unknown'], stop: ['300: a second replica in its slot'] },
  },
  'a kept escaped process recorded at a clean shutdown stays escaped after it': {
    input: { state: { ...stateWith([]), escaped: [{ pgid: 400, startTime: 4000, nonce: 'n0' }] }, marked: [mark(400, 'n0')] },
    expect: { adopt: [], stop: [], escaped: [400] },
  },
};

for (const [name, c] of Object.entries(cases)) {
  test(`adoption: ${name}`, () => {
    const got = run(c.input);
    for (const [k, v] of Object.entries(c.expect)) assert.deepEqual(got[k as keyof typeof got], v, k);
  });
}

test('adoption: the crash-loop history of a recorded replica carries over', () => {
  const p = planAdoption({
    state: stateWith([rec(0, 100, 'n0', { restarts: 3, deaths: [10, 20], streak: 2 })]),
    marked: [], liveness: alive(100), specs: new Map([['w', W]]), adopt: true, startedAt: (t) => t, now: 5000,
  });
  assert.deepEqual([p.adopt[0]!.restarts, p.adopt[0]!.deaths, p.adopt[0]!.streak], [3, [10, 20], 2]);
});

test('adoption: times recorded ahead of now (the last daemon ran on after a step back of the wall clock) are taken as now', () => {
  const ahead = { restarts: 3, deaths: [4000, 9000], streak: 2 };
  const p = planAdoption({
    state: stateWith([{ ...rec(0, 100, 'n0', ahead), startedAt: 9500 }, { ...rec(1, 101, 'n1', ahead), startedAt: 9500 }]),
    marked: [], liveness: new Map<number, Liveness>([[100, { kind: 'alive' }], [101, { kind: 'exited' }]]), specs: new Map([['w', W]]), adopt: true, startedAt: (t) => t, now: 5000,
  });
  assert.deepEqual([p.adopt[0]!.deaths, p.adopt[0]!.handle.startedAt], [[4000, 5000], 5000]);
  assert.deepEqual([p.exited[0]!.deaths, p.exited[0]!.startedAt], [[4000, 5000], 5000]);
});

test('notify: the session is kept from the state file, or read from the environment when the file missed the replica', () => {
  const withSession = { ...rec(0, 100, 'n0'), notify: { token: 'tok-recorded', ready: true, watchdogMs: 8000, status: 'serving' } };
  const recorded = planAdoption({
    state: snapshotState({ replicas: [withSession], completions: [], desired: [W] }, 1),
    marked: [mark(100, 'n0', { notifyToken: 'tok-recorded' })],
    liveness: alive(100),
    specs: new Map([['w', W]]),
    adopt: true,
    startedAt: (t) => t,
    now: 5000,
  });
  // With the watchdog period it set itself and its last STATUS (a datagram sender says them once).
  assert.deepEqual(recorded.adopt.map((a) => a.notify), [{ token: 'tok-recorded', ready: true, watchdogMs: 8000, status: 'serving' }]);
  // Spawned after the last write of state.json: its token is in its environment; whether it said
  // READY is not, so it is not assumed.
  const byEnv = planAdoption({ marked: [mark(200, 'n1', { notifyToken: 'tok-env' }), mark(250, 'n2', { index: 1 })], liveness: new Map(), specs: new Map([['w', W]]), adopt: true, startedAt: (t) => t, now: 5000 });
  assert.deepEqual(byEnv.adopt.map((a) => [a.index, a.notify]), [[0, { token: 'tok-env', ready: false }], [1, undefined]]);
});
