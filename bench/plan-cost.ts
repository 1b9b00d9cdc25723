// The cost of planning one service of N replicas, all running and ready (the common case after a
// crash of one of them): the work every event of that service pays. Measured twice: with the
// instances in the few shapes that spreads and optional fields make, and in the one shape the
// controller gives every instance it holds (withOneShape).
//
//   node --import tsx bench/plan-cost.ts [N=5000] [rounds=200]

import { planKey } from '../src/reconcile/plan.js';
import { withOneShape, type DesiredState, type Instance } from '../src/reconcile/types.js';
import { spec } from '../test/helpers/world.js';

const n = Number(process.argv[2] ?? 5000);
const rounds = Number(process.argv[3] ?? 200);
const s = spec('w', { replicas: n });
const desired: DesiredState = { services: new Map([['w', s]]), blocked: new Map(), shuttingDown: false, held: new Set() };
const insts: Instance[] = [];
for (let k = 0; k < n; k++) {
  const base: Instance = { id: `w/${k}#${k + 1}`, service: 'w', index: k, state: 'running', spec: s, pid: 1000 + k, pgid: 1000 + k, procStart: 1, startedAt: 1, ready: true, restarts: 0, deaths: [], streak: 0, nonce: 'x' };
  // Shapes as the controller makes them: some instances went through more folds than others.
  insts.push(k % 3 === 0 ? { ...base, usage: { cpu: 0, memory: 1, processes: 1, memoryOver: 0, cpuOver: 0 } } : k % 3 === 1 ? { ...base, reason: 'x' } : base);
}
insts[7] = { ...insts[7]!, state: 'backoff', ready: false, nextStartAt: 0 };

function measure(label: string, list: Instance[]): void {
  const view = { get: (name: string) => (name === 'w' ? list : undefined), keys: () => ['w'] };
  for (let r = 0; r < 20; r++) planKey('w', desired, view, 10);
  const t0 = performance.now();
  let actions = 0;
  for (let r = 0; r < rounds; r++) actions += planKey('w', desired, view, 10).actions.length;
  const ms = (performance.now() - t0) / rounds;
  process.stdout.write(`planKey over ${n} replicas, ${label}: ${ms.toFixed(3)} ms per plan (${((ms * 1000) / n).toFixed(3)} µs per replica), ${actions / rounds} action(s)\n`);
}
// Separate copies of the planner would share nothing, but one process warms both: the one-shape
// run goes first so that the other shapes cannot have trained its inline caches.
measure('one shape (withOneShape)', insts.map(withOneShape));
measure('three shapes (spreads)', insts);
