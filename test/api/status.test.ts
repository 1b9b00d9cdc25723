// The status report: summaries a person scans in `tend status`, and the `converged` flag that
// `tend up --wait` relies on.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildStatus } from '../../src/api/status.js';
import type { Instance } from '../../src/reconcile/types.js';
import { desired, inst, runningSet, spec } from '../helpers/world.js';

function report(specs: ReturnType<typeof spec>[], instances: Instance[], opts: { waiting?: Record<string, string>; blocked?: Record<string, string>; problems?: number; loaded?: boolean } = {}) {
  return buildStatus({
    loaded: opts.loaded ?? true,
    desired: desired(specs, opts.blocked ?? {}),
    instances,
    waiting: new Map(Object.entries(opts.waiting ?? {})),
    problems: Array.from({ length: opts.problems ?? 0 }, () => ({ file: 'x.yaml', line: 1, column: 1, message: 'bad', code: 'SPEC_INVALID' as const })),
    usage: () => ({ cpu: 1.5, memory: 1000, processes: 1 }),
    source: 'services.d',
    pid: 1,
  });
}

const web = spec('web', { replicas: 2 });
const job = spec('job', { oneshot: true });

const cases: Record<string, { r: () => ReturnType<typeof report>; states: Record<string, string>; converged: boolean }> = {
  'all running and ready: converged': { r: () => report([web], runningSet(web)), states: { web: 'running' }, converged: true },
  'nothing started yet: pending replicas': { r: () => report([web], [], { waiting: { web: 'db: healthy' } }), states: { web: 'pending' }, converged: false },
  'one starting': { r: () => report([web], [inst(web, 0, 'running'), inst(web, 1, 'starting', { ready: false })]), states: { web: 'starting' }, converged: false },
  'a completed job counts as converged': { r: () => report([job], [inst(job, 0, 'completed')]), states: { job: 'completed' }, converged: true },
  'a failed replica': { r: () => report([web], [inst(web, 0, 'running'), inst(web, 1, 'failed')]), states: { web: 'failed' }, converged: false },
  'a replica in back-off': { r: () => report([web], [inst(web, 0, 'running'), inst(web, 1, 'backoff')]), states: { web: 'backoff' }, converged: false },
  'an outdated replica: updating': { r: () => report([{ ...web, hash: 'v2' }], runningSet(web)), states: { web: 'updating' }, converged: false },
  'blocked by a cycle': { r: () => report([web], [], { blocked: { web: 'cycle' } }), states: { web: 'blocked' }, converged: false },
  'spec errors are not converged': { r: () => report([web], runningSet(web), { problems: 1 }), states: { web: 'running' }, converged: false },
  'a removed service still stopping': { r: () => report([], [inst(web, 0, 'stopping')]), states: { web: 'stopping' }, converged: false },
  'before the first load nothing is converged': { r: () => report([], [], { loaded: false }), states: {}, converged: false },
  'scaled to zero': { r: () => report([{ ...web, replicas: 0 }], []), states: { web: 'stopped' }, converged: true },
};

for (const [name, c] of Object.entries(cases)) {
  test(`status: ${name}`, () => {
    const r = c.r();
    assert.deepEqual(Object.fromEntries(r.services.map((s) => [s.name, s.state])), c.states);
    assert.equal(r.converged, c.converged);
  });
}

test('status: a pending replica says what it waits for; a job counts completed replicas as ready', () => {
  const r = report([web, job], [inst(job, 0, 'completed')], { waiting: { web: 'db: healthy' } });
  const w = r.services.find((s) => s.name === 'web')!;
  assert.deepEqual(w.replicas.map((x) => [x.index, x.state, x.reason]), [[0, 'pending', 'waiting for db: healthy'], [1, 'pending', 'waiting for db: healthy']]);
  assert.equal(w.waiting_for, 'db: healthy');
  assert.equal(r.services.find((s) => s.name === 'job')!.ready, 1);
});

test('status: JSON fields of DESIGN §5, usage summed per service', () => {
  const r = report([web], runningSet(web));
  const s = r.services[0]!;
  assert.deepEqual([s.name, s.replicas_desired, s.ready, s.cpu, s.memory], ['web', 2, 2, 3, 2000]);
  for (const key of ['index', 'state', 'pid', 'ready', 'restarts', 'started_at', 'exit_code', 'reason']) assert.ok(key in s.replicas[0]!, key);
  assert.deepEqual(r.errors, []);
});
