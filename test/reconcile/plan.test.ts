// Table tests of the pure planner: each case is a world (specs + instances + now) and the exact
// actions expected, written as short strings so that a case reads like a sentence.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { plan, planKey } from '../../src/reconcile/plan.js';
import type { Action, DesiredState, Instance, ObservedState } from '../../src/reconcile/types.js';
import { desired, inst, observed, runningSet, spec } from '../helpers/world.js';

/** `start web/2 (not running yet)`, `stop web/0#3 replace`, `forget web/1#4`. */
function render(a: Action): string {
  switch (a.kind) {
    case 'start':
      return `start ${a.service}/${a.index} (${a.message})${a.continues ? ' continues' : ''}${a.spec.hash.endsWith('v1') ? '' : ' ' + a.spec.hash}`;
    case 'stop':
      return `stop ${a.id.replace(/#\d+$/, '')} ${a.intent}`;
    case 'forget':
      return `forget ${a.id.replace(/#\d+$/, '')}`;
    case 'ready':
      return `ready ${a.id.replace(/#\d+$/, '')}`;
  }
}

interface Case {
  world: () => { d: DesiredState; o: ObservedState; now?: number };
  actions: string[];
  waiting?: Record<string, string>;
  wakeAt?: number;
}

const web = spec('web', { replicas: 3 });
const web2 = { ...web, hash: 'web-v2' };
const db = spec('db');
const migrate = spec('migrate', { oneshot: true, restart: 'on-failure' });
const api = spec('api', { replicas: 2, dependsOn: { db: 'healthy', migrate: 'completed' } });

const cases: Record<string, Case> = {
  'everything is good; do nothing': {
    world: () => ({ d: desired([web]), o: observed(runningSet(web)) }),
    actions: [],
  },
  'a new service starts all its replicas at once': {
    world: () => ({ d: desired([web]), o: observed([]) }),
    actions: ['start web/0 (not running yet)', 'start web/1 (not running yet)', 'start web/2 (not running yet)'],
  },
  'independent services start in the same pass': {
    world: () => ({ d: desired([db, spec('cache')]), o: observed([]) }),
    actions: ['start db/0 (not running yet)', 'start cache/0 (not running yet)'],
  },
  'a service waits for its dependencies': {
    world: () => ({ d: desired([db, migrate, api]), o: observed([]) }),
    actions: ['start db/0 (not running yet)', 'start migrate/0 (not running yet)'],
    waiting: { api: 'db: healthy' },
  },
  'healthy is not met by a running replica that is not ready': {
    world: () => ({
      d: desired([db, migrate, api]),
      o: observed([inst(db, 0, 'running', { ready: false }), inst(migrate, 0, 'completed')]),
    }),
    actions: [],
    waiting: { api: 'db: healthy' },
    // db has no readiness probe: it counts as ready once it has stayed up STABLE_START_MS.
    wakeAt: 500,
  },
  'completed waits for the oneshot to finish': {
    world: () => ({ d: desired([db, migrate, api]), o: observed([inst(db, 0, 'running'), inst(migrate, 0, 'running')]) }),
    actions: [],
    waiting: { api: 'migrate: completed' },
  },
  'all conditions met: the dependent starts': {
    world: () => ({ d: desired([db, migrate, api]), o: observed([inst(db, 0, 'running'), inst(migrate, 0, 'completed')]) }),
    actions: ['start api/0 (not running yet)', 'start api/1 (not running yet)'],
  },
  'started is met by a running replica that is not ready yet': {
    world: () => {
      const w = spec('w', { dependsOn: { db: 'started' } });
      return { d: desired([db, w]), o: observed([inst(db, 0, 'running', { ready: false })]) };
    },
    actions: ['start w/0 (not running yet)'],
    wakeAt: 500,
  },
  'scale up 2 → 5 starts only the new indexes': {
    world: () => ({ d: desired([{ ...web, replicas: 5 }]), o: observed(runningSet(web, 2)) }),
    actions: ['start web/2 (not running yet)', 'start web/3 (not running yet)', 'start web/4 (not running yet)'],
  },
  'scale down 5 → 1 stops the highest indexes and touches no other': {
    world: () => ({ d: desired([{ ...web, replicas: 1 }]), o: observed(runningSet(web, 5)) }),
    actions: ['stop web/1 scale', 'stop web/2 scale', 'stop web/3 scale', 'stop web/4 scale'],
  },
  'a scaled-away replica that has no process is forgotten': {
    world: () => ({ d: desired([{ ...web, replicas: 1 }]), o: observed([inst(web, 0, 'running'), inst(web, 1, 'backoff'), inst(web, 2, 'stopped', { stopIntent: 'scale' })]) }),
    actions: ['forget web/1', 'forget web/2'],
  },
  'a replica already stopping is left alone': {
    world: () => ({ d: desired([{ ...web, replicas: 1 }]), o: observed([inst(web, 0, 'running'), inst(web, 1, 'stopping', { stopIntent: 'scale' })]) }),
    actions: [],
  },
  'rolling update: one replica at a time (max_unavailable 1)': {
    world: () => ({ d: desired([web2]), o: observed(runningSet(web)) }),
    actions: ['stop web/0 replace'],
  },
  'rolling update: max_unavailable 2 replaces two at a time': {
    world: () => ({ d: desired([{ ...web2, update: { strategy: 'rolling', maxUnavailable: 2, maxSurge: 0 } }]), o: observed(runningSet(web)) }),
    actions: ['stop web/0 replace', 'stop web/1 replace'],
  },
  'rolling update: while one is being replaced, the next waits': {
    world: () => ({ d: desired([web2]), o: observed([inst(web, 0, 'stopping', { stopIntent: 'replace' }), inst(web, 1, 'running'), inst(web, 2, 'running')]) }),
    actions: [],
  },
  'rolling update: the replaced slot gets its new replica': {
    world: () => ({ d: desired([web2]), o: observed([inst(web, 0, 'stopped', { stopIntent: 'replace' }), inst(web, 1, 'running'), inst(web, 2, 'running')]) }),
    actions: ['start web/0 (replaced) web-v2'],
  },
  'rolling update: the next waits until the new replica is ready': {
    world: () => ({ d: desired([web2]), o: observed([inst(web2, 0, 'starting'), inst(web, 1, 'running'), inst(web, 2, 'running')]) }),
    actions: [],
  },
  'rolling update: once the new one is ready the next is replaced': {
    world: () => ({ d: desired([web2]), o: observed([inst(web2, 0, 'running'), inst(web, 1, 'running'), inst(web, 2, 'running')]) }),
    actions: ['stop web/1 replace'],
  },
  'rolling update with max_surge 1: a new replica starts beside the old one': {
    world: () => {
      const s = { ...web2, update: { strategy: 'rolling' as const, maxUnavailable: 0, maxSurge: 1 } };
      return { d: desired([s]), o: observed(runningSet(web)) };
    },
    actions: ['start web/0 (surge: spec changed) web-v2'],
  },
  'rolling update with surge: the old one stops once its successor is ready': {
    world: () => {
      const s = { ...web2, update: { strategy: 'rolling' as const, maxUnavailable: 0, maxSurge: 1 } };
      return { d: desired([s]), o: observed([...runningSet(web), inst(s, 0, 'running')]) };
    },
    actions: ['stop web/0 replace'],
  },
  'rolling update with surge: no second surge while one is in flight': {
    world: () => {
      const s = { ...web2, update: { strategy: 'rolling' as const, maxUnavailable: 0, maxSurge: 1 } };
      return { d: desired([s]), o: observed([...runningSet(web), inst(s, 0, 'starting')]) };
    },
    actions: [],
  },
  'rolling update with surge: a surge replica that crashed backs off in its slot; no other surge starts meanwhile': {
    world: () => {
      const s = { ...web2, update: { strategy: 'rolling' as const, maxUnavailable: 0, maxSurge: 1 } };
      return { d: desired([s]), o: observed([...runningSet(web), inst(s, 0, 'backoff', { pid: undefined, nextStartAt: 5000 })]) };
    },
    // It thrashed: a new surge every pass (a crash each, no back-off built up, never failed).
    actions: [],
    wakeAt: 5000,
  },
  'rolling update with surge: its back-off over, the crashed surge replica restarts (and only it)': {
    world: () => {
      const s = { ...web2, update: { strategy: 'rolling' as const, maxUnavailable: 0, maxSurge: 1 } };
      return { d: desired([s]), o: observed([...runningSet(web), inst(s, 0, 'backoff', { pid: undefined, nextStartAt: 0 })]) };
    },
    actions: ['start web/0 (restart after an exit) continues web-v2'],
  },
  'rolling update with surge: a new version that failed (crash loop) halts the rollout; the old replicas serve on': {
    world: () => {
      const s = { ...web2, update: { strategy: 'rolling' as const, maxUnavailable: 0, maxSurge: 1 } };
      return { d: desired([s]), o: observed([...runningSet(web), inst(s, 0, 'failed', { pid: undefined })]) };
    },
    actions: [],
  },
  'an outdated replica that is not ready is replaced at once, without spending the budget': {
    world: () => ({ d: desired([web2]), o: observed([inst(web, 0, 'starting'), inst(web, 1, 'running'), inst(web, 2, 'running')]) }),
    // web/1 may not go too: with web/0 down already, it would leave 1 ready < replicas - max_unavailable.
    actions: ['stop web/0 replace'],
  },
  'recreate: every outdated replica stops at once': {
    world: () => ({ d: desired([{ ...web2, update: { strategy: 'recreate', maxUnavailable: 1, maxSurge: 0 } }]), o: observed(runningSet(web)) }),
    actions: ['stop web/0 replace', 'stop web/1 replace', 'stop web/2 replace'],
  },
  'a live-only change (same hash) restarts nothing': {
    world: () => ({ d: desired([{ ...web, restart: 'never', stopTimeoutMs: 1 }]), o: observed(runningSet(web)) }),
    actions: [],
  },
  'a manual restart rolls the replicas like a spec change': {
    world: () => ({ d: desired([web]), o: observed(runningSet(web, 3, { replaceRequested: true })) }),
    actions: ['stop web/0 replace'],
  },
  'a removed service is stopped': {
    world: () => ({ d: desired([]), o: observed(runningSet(web)) }),
    actions: ['stop web/0 remove', 'stop web/1 remove', 'stop web/2 remove'],
  },
  'removed services stop dependents before their dependencies': {
    world: () => ({ d: desired([]), o: observed([inst(db, 0, 'running'), inst(api, 0, 'running'), inst(migrate, 0, 'completed')]) }),
    actions: ['stop api/0 remove', 'forget migrate/0'],
  },
  'a dependency waits while its dependent is still stopping': {
    world: () => ({ d: desired([]), o: observed([inst(db, 0, 'running'), inst(api, 0, 'stopping')]) }),
    actions: [],
  },
  'a dependency stops once its dependents are gone': {
    world: () => ({ d: desired([]), o: observed([inst(db, 0, 'running'), inst(api, 0, 'stopped', { stopIntent: 'remove' })]) }),
    actions: ['stop db/0 remove', 'forget api/0'],
  },
  'shutdown stops everything, dependents first': {
    world: () => ({ d: desired([db, migrate, api], {}, true), o: observed([inst(db, 0, 'running'), inst(api, 0, 'running'), inst(api, 1, 'running')]) }),
    actions: ['stop api/0 shutdown', 'stop api/1 shutdown'],
  },
  'a crashed replica in back-off waits for its time': {
    world: () => ({ d: desired([db]), o: observed([inst(db, 0, 'backoff', { nextStartAt: 5000 })]), now: 1000 }),
    actions: [],
    wakeAt: 5000,
  },
  'a crashed replica restarts when its back-off is over, keeping its counters': {
    world: () => ({ d: desired([db]), o: observed([inst(db, 0, 'backoff', { nextStartAt: 5000 })]), now: 5000 }),
    actions: ['start db/0 (restart after an exit) continues'],
  },
  'a restart after a crash does not wait for dependencies': {
    world: () => ({ d: desired([db, migrate, api]), o: observed([inst(api, 0, 'backoff', { nextStartAt: 0 }), inst(api, 1, 'running')]) }),
    actions: ['start db/0 (not running yet)', 'start migrate/0 (not running yet)', 'start api/0 (restart after an exit) continues'],
    waiting: { api: 'db: healthy' },
  },
  'a replica in back-off whose spec changed starts with the new spec at once': {
    world: () => ({ d: desired([{ ...db, hash: 'db-v2' }]), o: observed([inst(db, 0, 'backoff', { nextStartAt: 99_999 })]), now: 0 }),
    actions: ['start db/0 (spec changed) db-v2'],
  },
  'a failed replica stays failed': {
    world: () => ({ d: desired([db]), o: observed([inst(db, 0, 'failed', { reason: 'crash loop' })]) }),
    actions: [],
  },
  'a failed replica is retried when its spec changes': {
    world: () => ({ d: desired([{ ...db, hash: 'db-v2' }]), o: observed([inst(db, 0, 'failed')]) }),
    actions: ['start db/0 (spec changed) db-v2'],
  },
  'a crash-looping service blocks only its dependents': {
    world: () => {
      const other = spec('other');
      return { d: desired([db, migrate, api, other]), o: observed([inst(db, 0, 'failed'), inst(migrate, 0, 'completed')]) };
    },
    actions: ['start other/0 (not running yet)'],
    waiting: { api: 'db: healthy' },
  },
  'a completed oneshot is not re-run by an unrelated change': {
    world: () => ({ d: desired([migrate, { ...db, hash: 'db-v2' }]), o: observed([inst(migrate, 0, 'completed'), inst(db, 0, 'running')]) }),
    actions: ['stop db/0 replace'],
  },
  'a completed oneshot re-runs when its own spec changes': {
    world: () => ({ d: desired([{ ...migrate, hash: 'migrate-v2' }]), o: observed([inst(migrate, 0, 'completed')]) }),
    actions: ['start migrate/0 (spec changed) migrate-v2'],
  },
  'a replica that exited under restart: never stays stopped': {
    world: () => ({ d: desired([{ ...db, restart: 'never' }]), o: observed([inst(db, 0, 'stopped', { reason: 'exited with exit code 0' })]) }),
    actions: [],
  },
  'a blocked service starts nothing and keeps what runs, even outdated': {
    world: () => ({ d: desired([{ ...web2, replicas: 4 }], { web: 'dependency cycle: web → x → web' }), o: observed(runningSet(web)) }),
    actions: [],
    waiting: { web: 'dependency cycle: web → x → web' },
  },
  'a blocked service still restarts its crashed replicas from their own spec': {
    world: () => ({ d: desired([web2], { web: 'unknown dependency "x"' }), o: observed([inst(web, 0, 'backoff', { nextStartAt: 0 })]) }),
    actions: ['start web/0 (restart after an exit) continues'],
    waiting: { web: 'unknown dependency "x"' },
  },
  'liveness failure: stop it to restart it': {
    world: () => ({ d: desired([db]), o: observed([inst(db, 0, 'running', { restartRequested: 'liveness: http://x answered 500 (3 times)' })]) }),
    actions: ['stop db/0 restart'],
  },
  'max_runtime reached: restart it': {
    world: () => ({ d: desired([{ ...db, limits: { memoryBytes: 0, cpuPercent: 0, maxRuntimeMs: 1000 } }]), o: observed([inst(db, 0, 'running', { startedAt: 0 })]), now: 1000 }),
    actions: ['stop db/0 restart'],
  },
  'max_runtime not reached yet: wake up when it is': {
    world: () => ({ d: desired([{ ...db, limits: { memoryBytes: 0, cpuPercent: 0, maxRuntimeMs: 1000 } }]), o: observed([inst(db, 0, 'running', { startedAt: 0 })]), now: 400 }),
    actions: [],
    wakeAt: 1000,
  },
  'a paused replica is left alone': {
    world: () => ({ d: desired([db]), o: observed([inst(db, 0, 'paused', { ready: false })]) }),
    actions: [],
  },
  'a service starting is not started twice': {
    world: () => ({ d: desired([db]), o: observed([inst(db, 0, 'starting', { pid: undefined })]) }),
    actions: [],
  },
  'two processes of the same spec in one slot: the ready one stays, the other stops': {
    world: () => ({ d: desired([db]), o: observed([inst(db, 0, 'starting', { ready: false }), inst(db, 0, 'running')]) }),
    actions: ['stop db/0 scale'],
  },
  'scale to zero stops all; nothing starts': {
    world: () => ({ d: desired([{ ...web, replicas: 0 }]), o: observed(runningSet(web, 2)) }),
    actions: ['stop web/0 scale', 'stop web/1 scale'],
  },
};

for (const [name, c] of Object.entries(cases)) {
  test(`plan: ${name}`, () => {
    const { d, o, now = 0 } = c.world();
    const p = plan(d, o, now);
    assert.deepEqual(p.actions.map(render), c.actions);
    assert.deepEqual(Object.fromEntries(p.waiting), c.waiting ?? {});
    assert.equal(p.wakeAt, c.wakeAt);
  });
}

test('plan: never fewer than replicas - max_unavailable ready during a whole rolling update', () => {
  // Simulate the rollout to the end: each stop completes, each new replica becomes ready, one step a pass.
  const target = { ...web2, replicas: 4, update: { strategy: 'rolling' as const, maxUnavailable: 1, maxSurge: 0 } };
  let instances: Instance[] = runningSet({ ...web, replicas: 4 });
  for (let pass = 0; pass < 40; pass++) {
    const ready = new Set(instances.filter((i) => i.state === 'running' && i.ready).map((i) => i.index)).size;
    assert.ok(ready >= 3, `pass ${pass}: only ${ready} ready`);
    const p = plan(desired([target]), observed(instances), 0);
    if (p.actions.length === 0 && instances.every((i) => i.spec.hash === 'web-v2' && i.state === 'running')) return;
    for (const a of p.actions) {
      if (a.kind === 'stop') instances = instances.map((i) => (i.id === a.id ? { ...i, state: 'stopped', stopIntent: a.intent, ready: false } : i));
      if (a.kind === 'start') instances = [...instances.filter((i) => i.id !== a.supersedes), inst(a.spec, a.index, 'starting', { ready: false })];
      if (a.kind === 'forget') instances = instances.filter((i) => i.id !== a.id);
    }
    // Whatever was starting becomes ready before the next pass.
    instances = instances.map((i) => (i.state === 'starting' ? { ...i, state: 'running', ready: true } : i));
  }
  assert.fail('the rollout did not finish in 40 passes');
});

// Every condition × dependency kind × dependency state: does the dependent start?
const depStates = ['none', 'starting', 'running-unready', 'running-ready', 'backoff', 'failed', 'completed', 'stopped', 'paused'] as const;
const depKinds = {
  service: spec('dep'),
  job: spec('dep', { oneshot: true, restart: 'on-failure' }),
};
// started: a process runs (for a job, or it completed); healthy: runs and is ready (for a job, or
// it completed); completed: a job finished with its current spec.
const holds: Record<string, Record<string, (typeof depStates)[number][]>> = {
  started: { service: ['running-unready', 'running-ready'], job: ['running-unready', 'running-ready', 'completed'] },
  healthy: { service: ['running-ready'], job: ['running-ready', 'completed'] },
  completed: { service: [], job: ['completed'] },
};
for (const [cond, byKind] of Object.entries(holds)) {
  for (const [kind, depSpec] of Object.entries(depKinds)) {
    for (const st of depStates) {
      test(`plan: depends_on ${cond} on a ${kind} that is ${st}`, () => {
        const w = spec('w', { dependsOn: { dep: cond as 'started' } });
        const depInst =
          st === 'none' ? [] :
          st === 'running-unready' ? [inst(depSpec, 0, 'running', { ready: false })] :
          st === 'running-ready' ? [inst(depSpec, 0, 'running', { ready: true })] :
          [inst(depSpec, 0, st as 'starting')];
        const p = plan(desired([depSpec, w]), observed(depInst), 0);
        const starts = p.actions.filter((a) => a.kind === 'start' && a.service === 'w').length;
        assert.equal(starts, byKind[kind]!.includes(st) ? 1 : 0);
        assert.equal(p.waiting.get('w'), starts === 1 ? undefined : `dep: ${cond}`);
      });
    }
  }
}

test('plan: a replica without a readiness probe is ready once it has stayed up 500 ms, never a job', () => {
  const w = spec('w');
  const young = inst(w, 0, 'running', { ready: false, startedAt: 1000 });
  assert.deepEqual(plan(desired([w]), observed([young]), 1200).actions.map(render), []);
  assert.equal(plan(desired([w]), observed([young]), 1200).wakeAt, 1500);
  assert.deepEqual(plan(desired([w]), observed([young]), 1500).actions.map(render), ['ready w/0']);
  const job = spec('j', { oneshot: true, restart: 'on-failure' });
  assert.deepEqual(plan(desired([job]), observed([inst(job, 0, 'running', { ready: false, startedAt: 0 })]), 5000).actions, []);
  const probed = spec('p', { readiness: { check: { kind: 'tcp', host: '127.0.0.1', port: '1' }, intervalMs: 1000, timeoutMs: 1000, failureThreshold: 1, successThreshold: 1, startPeriodMs: 0 } });
  assert.deepEqual(plan(desired([probed]), observed([inst(probed, 0, 'running', { ready: false, startedAt: 0 })]), 5000).actions, []);
});

test('plan: a hold (`tend stop`) stops the service\'s replicas and starts none; lifted, they start again', () => {
  const held = { ...desired([web]), held: new Set(['web']) };
  assert.deepEqual(plan(held, observed(runningSet(web)), 0).actions.map(render), ['stop web/0 hold', 'stop web/1 hold', 'stop web/2 hold']);
  assert.deepEqual(plan(held, observed([]), 0).actions, []);
  const stopped = runningSet(web).map((i) => ({ ...i, state: 'stopped' as const, stopIntent: 'hold' as const, pid: undefined }));
  assert.deepEqual(plan(desired([web]), observed(stopped), 0).actions.map(render), ['start web/0 (replaced)', 'start web/1 (replaced)', 'start web/2 (replaced)']);
});

test('plan: holds on a service and its dependents stop the dependents first (as compose stops); a dependent not held keeps running', () => {
  const w = spec('w', { dependsOn: { db: 'started' } });
  const both = { ...desired([db, w]), held: new Set(['db', 'w']) };
  const live = [inst(db, 0, 'running'), inst(w, 0, 'running')];
  assert.deepEqual(plan(both, observed(live), 0).actions.map(render), ['stop w/0 hold'], 'db waits for w');
  assert.deepEqual(plan(both, observed([live[0]!, { ...live[1]!, state: 'stopping' as const }]), 0).actions.map(render), [], 'still while w stops');
  assert.deepEqual(plan(both, observed([live[0]!, { ...live[1]!, state: 'stopped' as const, pid: undefined }]), 0).actions.map(render), ['stop db/0 hold']);
  const dbOnly = { ...desired([db, w]), held: new Set(['db']) };
  assert.deepEqual(plan(dbOnly, observed(live), 0).actions.map(render), ['stop db/0 hold'], 'w is not held: it runs on, db stops');
  // Held services that depend on each other: all stop at once rather than wait for ever.
  const a = spec('a', { dependsOn: { b: 'started' } });
  const b = spec('b', { dependsOn: { a: 'started' } });
  const cycle = { ...desired([a, b]), held: new Set(['a', 'b']) };
  assert.deepEqual(plan(cycle, observed([inst(a, 0, 'running'), inst(b, 0, 'running')]), 0).actions.map(render).sort(), ['stop a/0 hold', 'stop b/0 hold']);
});

test('plan: planKey of one service reads only its own instances and its dependencies\'', () => {
  const w = spec('w', { dependsOn: { db: 'started' } });
  const seen: string[] = [];
  const byService = new Map([['db', [inst(db, 0, 'running')]], ['w', []], ['other', [inst(spec('other'), 0, 'running')]]]);
  const spy = { get: (k: string) => (seen.push(k), byService.get(k)), has: (k: string) => byService.has(k), keys: () => byService.keys() } as unknown as Parameters<typeof planKey>[2];
  const p = planKey('w', desired([db, w, spec('other')]), spy, 0);
  assert.deepEqual(p.actions.map(render), ['start w/0 (not running yet)']);
  assert.deepEqual([...new Set(seen)].sort(), ['db', 'w']);
});
