// The replicas of one service as the alert evaluator sees them, read from the controller's
// instances: one observation per wanted slot (its newest instance), in one pass.

import type { DesiredState, Instance } from '../reconcile/types.js';
import type { GroupUsage } from '../runtime/types.js';
import type { ReplicaObservation } from './evaluate.js';

export interface ObservedReplicas {
  desired: DesiredState;
  /** The instances of the service evaluated. */
  instances: Iterable<Readonly<Instance>>;
  usage: (id: string) => GroupUsage | undefined;
}

/** What the event history adds: restart times and stale flags, by `service/replica`. */
export interface EventFacts {
  restarts(slot: string): readonly number[];
  stale(slot: string): boolean;
}

// One observation per replica that the spec still wants (of the slots in `only`, if given).
export function observeReplicas(o: ObservedReplicas, facts: EventFacts, only?: ReadonlySet<number>): ReplicaObservation[] {
  // Shutting down, no slot is wanted: every alert resolves, without a walk of 5000 instances at
  // each evaluation while they stop.
  if (o.desired.shuttingDown) return [];
  const newest = new Map<string, Readonly<Instance>>();
  for (const i of o.instances) {
    if (only && !only.has(i.index)) continue;
    const spec = o.desired.services.get(i.service);
    if (!spec || i.index >= spec.replicas) continue;
    const slot = `${i.service}/${i.index}`;
    const cur = newest.get(slot);
    if (!cur || seqOf(i.id) > seqOf(cur.id)) newest.set(slot, i);
  }
  const out: ReplicaObservation[] = [];
  for (const [slot, i] of newest) {
    const u = o.usage(i.id);
    const live = i.state === 'running' || i.state === 'starting';
    out.push({
      service: i.service,
      replica: i.index,
      failed: i.state === 'failed',
      ...(i.reason ? { reason: i.reason } : {}),
      notReady: !i.spec.oneshot && ((live && !i.ready) || i.state === 'backoff'),
      restarts: facts.restarts(slot),
      cpu: live && u ? u.cpu : null,
      memory: live && u ? u.memory : null,
      stale: facts.stale(slot),
    });
  }
  return out;
}

function seqOf(id: string): number {
  return Number(id.slice(id.lastIndexOf('#') + 1));
}
