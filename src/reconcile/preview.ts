// `tend plan`: what applying a loaded directory would do to what runs now, computed by the same
// planner that will do it. The plan is simulated to convergence on a copy of the observed state
// (each start runs and is ready at once, each stop is done at once), and every action it took is
// summarised per service; diff.ts only explains why (which fields changed).

import { graphIssues } from '../graph/graph.js';
import type { LoadResult, ServiceSpec } from '../spec/types.js';
import { cmp, liveFieldChanges, problemKeeping, processFieldChanges } from './diff.js';
import { plan } from './plan.js';
import type { PlanChange } from './plan-change.js';
import type { Action, DesiredState, Instance } from './types.js';

export type { PlanChange };

const OP_ORDER: Record<PlanChange['op'], number> = { '!': 0, '-': 1, '~': 2, '=': 3, '+': 4 };
const MAX_STEPS = 200;

export function previewChanges(
  current: ReadonlyMap<string, ServiceSpec>,
  next: LoadResult,
  instances: Iterable<Readonly<Instance>>,
  opts: { held?: ReadonlySet<string>; now?: number } = {},
): PlanChange[] {
  const changes: PlanChange[] = [];
  const services = new Map(next.services.map((s) => [s.name, s]));
  // A service missing because its file is broken keeps its last good spec (DESIGN §1).
  for (const [name, cur] of current) {
    if (services.has(name)) continue;
    const problem = problemKeeping(name, cur, next);
    if (problem) {
      changes.push({ op: '!', service: name, text: `! ${name} keeps its last good spec (${problem})` });
      services.set(name, cur);
    }
  }
  const desired: DesiredState = { services, blocked: graphIssues([...services.values()]).blocked, shuttingDown: false, held: opts.held ?? new Set() };
  const taken = simulate(desired, instances, opts.now ?? Date.now());

  for (const name of [...new Set([...current.keys(), ...services.keys()])].sort(cmp)) {
    const cur = current.get(name);
    const nxt = services.get(name);
    const acts = taken.filter((a) => serviceOf(a) === name);
    if (!nxt) {
      changes.push({ op: '-', service: name, text: `- ${name} stop` });
      continue;
    }
    if (!cur) {
      if (nxt.replicas === 0) changes.push({ op: '+', service: name, text: `+ ${name} add (0 replicas)` });
      for (let i = 0; i < nxt.replicas; i++) changes.push({ op: '+', service: name, index: i, text: `+ ${name}/${i} start` });
      continue;
    }
    if (cur.hash !== nxt.hash) {
      const fields = processFieldChanges(cur, nxt);
      const what = fields.length > 0 ? `${fields.join(', ')} changed` : 'spec changed';
      changes.push({ op: '~', service: name, text: `~ ${name} replace (${what})` });
    } else {
      const live = liveFieldChanges(cur, nxt);
      if (live.length > 0) changes.push({ op: '~', service: name, text: `~ ${name} update (${live.join(', ')}) — no restart` });
    }
    if (cur.replicas !== nxt.replicas) {
      changes.push({ op: '=', service: name, text: `= ${name} scale ${cur.replicas} → ${nxt.replicas}` });
    } else if (cur.hash === nxt.hash) {
      // Same spec and count, yet the planner acts: replicas that are missing now will start.
      for (const a of acts) if (a.kind === 'start') changes.push({ op: '+', service: name, index: a.index, text: `+ ${name}/${a.index} start` });
    }
  }
  return changes.sort((a, b) => cmp(a.service, b.service) || OP_ORDER[a.op] - OP_ORDER[b.op] || (a.index ?? -1) - (b.index ?? -1));
}

/** Runs the planner on a copy of the observed state until it has nothing left to do, and returns
 *  every start and stop it issued. */
function simulate(desired: DesiredState, instances: Iterable<Readonly<Instance>>, now: number): Action[] {
  const sim = new Map<string, Instance>();
  for (const i of instances) sim.set(i.id, { ...i });
  const taken: Action[] = [];
  let seq = 0;
  for (let step = 0; step < MAX_STEPS; step++) {
    const acts = plan(desired, { instances: sim }, now).actions.filter((a) => a.kind !== 'ready');
    if (acts.length === 0) break;
    for (const a of acts) {
      if (a.kind === 'forget') {
        sim.delete(a.id);
        continue;
      }
      taken.push(a);
      if (a.kind === 'stop') sim.delete(a.id);
      else {
        if (a.supersedes) sim.delete(a.supersedes);
        const id = `${a.service}/${a.index}#sim${++seq}`;
        sim.set(id, {
          id,
          service: a.service,
          index: a.index,
          spec: a.spec,
          state: a.spec.oneshot ? 'completed' : 'running',
          ready: !a.spec.oneshot,
          restarts: 0,
          deaths: [],
          streak: 0,
          startedAt: now,
        });
      }
    }
  }
  return taken;
}

function serviceOf(a: Action): string | undefined {
  return a.kind === 'start' ? a.service : undefined;
}
