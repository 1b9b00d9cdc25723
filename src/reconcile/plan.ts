// plan(desired, observed, now) → actions: the whole decision of one reconcile pass.
//
// Pure and level-triggered, in the manner of a Kubernetes controller: it is handed the whole
// desired state (the specs) and the whole observed state (every instance) and says what to do next
// to bring the second closer to the first. It never sees an event, so a lost, duplicated or
// reordered event cannot make it wrong; it has no I/O and no clock, so every case is a table test.
//
// It never issues an action twice: an instance being started is already `starting` (the controller
// records it before spawning) and one being stopped is `stopping`, and the planner leaves both alone.
// Actions move one step at a time; the controller runs another pass whenever something changes.

import type { Condition, ServiceSpec } from '../spec/types.js';
import type { Action, DesiredState, Instance, ObservedState, Plan } from './types.js';
import { formatDuration } from '../spec/units.js';

type Inst = Readonly<Instance>;

/** Has a process (or is about to): counts against replicas and surge. */
export function isLive(i: Inst): boolean {
  return i.state === 'starting' || i.state === 'running' || i.state === 'paused' || i.state === 'stopping';
}

/** Running and ready: counts as available for rolling updates and the `healthy` condition. */
export function isAvailable(i: Inst): boolean {
  return i.state === 'running' && i.ready;
}

/** An instance that should be replaced because its spec changed or a manual restart asked for it. */
function isOutdated(i: Inst, spec: ServiceSpec): boolean {
  return i.spec.hash !== spec.hash || i.replaceRequested === true;
}

export function plan(desired: DesiredState, observed: ObservedState, now: number): Plan {
  const byService = groupByService(observed.instances.values());
  const actions: Action[] = [];
  const waiting = new Map<string, string>();
  let wakeAt: number | undefined;
  const wake = (t: number) => {
    wakeAt = wakeAt === undefined ? t : Math.min(wakeAt, t);
  };

  const wanted = desired.shuttingDown ? new Map<string, ServiceSpec>() : desired.services;

  for (const [name, spec] of wanted) {
    const insts = byService.get(name) ?? [];
    const blocked = desired.blocked.get(name);
    const unmet = blocked ? undefined : unmetCondition(spec, byService, desired.services);
    if (blocked) waiting.set(name, blocked);
    else if (unmet) waiting.set(name, unmet);
    planService(spec, insts, { canStart: !blocked && !unmet, blocked: blocked !== undefined }, now, actions, wake);
  }

  planRemovals(wanted, byService, desired.shuttingDown, actions);
  return wakeAt === undefined ? { actions, waiting } : { actions, waiting, wakeAt };
}

interface Gate {
  /** Dependencies hold and the service is not blocked: new processes may start. */
  canStart: boolean;
  /** A blocked service keeps what runs (restarting crashes from their own spec), and nothing else. */
  blocked: boolean;
}

function planService(
  spec: ServiceSpec,
  insts: Inst[],
  gate: Gate,
  now: number,
  actions: Action[],
  wake: (t: number) => void,
): void {
  const slots = new Map<number, Inst[]>();
  for (const i of insts) {
    if (i.index >= spec.replicas) {
      planScaledAway(i, actions);
      continue;
    }
    const list = slots.get(i.index);
    if (list) list.push(i);
    else slots.set(i.index, [i]);
  }

  // Rolling-update budgets, counted over the wanted slots.
  let available = 0;
  let live = 0;
  for (const list of slots.values()) {
    if (list.some(isAvailable)) available++;
    live += list.filter(isLive).length;
  }
  let unavailableBudget = available - (spec.replicas - spec.update.maxUnavailable);
  let surgeBudget = spec.update.maxSurge - Math.max(0, live - spec.replicas);

  for (let index = 0; index < spec.replicas; index++) {
    const list = slots.get(index) ?? [];
    const start = (reason: string, extra: Partial<Extract<Action, { kind: 'start' }>> = {}) =>
      actions.push({ kind: 'start', service: spec.name, index, spec, reason, ...extra });

    if (list.length === 0) {
      if (gate.canStart) start('missing');
      continue;
    }

    const current = list.filter((i) => !isOutdated(i, spec));
    const outdated = list.filter((i) => isOutdated(i, spec));

    // Two processes of the same spec in one slot (say, adopted after a crash of tend while a
    // start was in flight): keep the one that serves best, stop the others.
    const twins = current.filter((i) => isLive(i) && i.state !== 'stopping');
    if (twins.length > 1) {
      const keep = twins.find(isAvailable) ?? twins[0]!;
      for (const extra of twins) if (extra !== keep) actions.push({ kind: 'stop', id: extra.id, intent: 'scale', reason: 'duplicate replica' });
    }

    for (const i of list) {
      // Terminal or waiting instances, by state. Live ones are handled below.
      switch (i.state) {
        case 'backoff': {
          if (isOutdated(i, spec) && !gate.blocked) {
            if (gate.canStart) start('spec changed', { supersedes: i.id });
          } else if (i.nextStartAt === undefined || now >= i.nextStartAt) {
            // A restart after a crash is not gated on dependencies: it was running before.
            actions.push({ kind: 'start', service: spec.name, index, spec: i.spec, reason: 'restart after crash', continues: i.id, supersedes: i.id });
          } else {
            wake(i.nextStartAt);
          }
          break;
        }
        case 'failed':
        case 'completed':
        case 'stopped':
          // A failed crash loop, a finished job or a replica that exited under `restart: never`
          // stays as it is until its spec changes (or a manual restart forgets it).
          if (isOutdated(i, spec) || (i.state === 'stopped' && i.stopIntent !== undefined)) {
            if (list.some((o) => o !== i && (isLive(o) || o.state === 'backoff'))) actions.push({ kind: 'forget', id: i.id });
            else if (gate.canStart) start(i.state === 'stopped' && i.stopIntent ? 'replaced' : 'spec changed', { supersedes: i.id });
          }
          break;
        case 'running':
        case 'starting':
        case 'paused': {
          if (i.restartRequested && i.state !== 'paused') {
            actions.push({ kind: 'stop', id: i.id, intent: 'restart', reason: i.restartRequested });
          } else if (i.state === 'running' && spec.limits.maxRuntimeMs > 0 && i.startedAt !== undefined) {
            const deadline = i.startedAt + spec.limits.maxRuntimeMs;
            if (now >= deadline) {
              actions.push({ kind: 'stop', id: i.id, intent: 'restart', reason: `limit: ran longer than max_runtime ${formatDuration(spec.limits.maxRuntimeMs)}` });
            } else wake(deadline);
          }
          break;
        }
        case 'stopping':
        case 'pending':
          break;
      }
    }

    // Rollout of the live outdated instances of this slot (current ones need nothing).
    if (gate.blocked || !gate.canStart) continue;
    for (const old of outdated.filter((i) => isLive(i) && i.state !== 'stopping' && !i.restartRequested)) {
      const successor = current.find((i) => isLive(i) && i.state !== 'stopping');
      if (spec.update.strategy === 'recreate') {
        actions.push({ kind: 'stop', id: old.id, intent: 'replace', reason: replaceReason(old, spec) });
      } else if (successor && isAvailable(successor)) {
        actions.push({ kind: 'stop', id: old.id, intent: 'replace', reason: replaceReason(old, spec) });
      } else if (!isAvailable(old)) {
        // Not serving anyway: replacing it costs no availability.
        if (!successor) actions.push({ kind: 'stop', id: old.id, intent: 'replace', reason: replaceReason(old, spec) });
      } else if (successor) {
        // Its surge replacement is on the way; wait for it to be ready.
      } else if (surgeBudget > 0) {
        surgeBudget--;
        start('surge: spec changed');
      } else if (unavailableBudget > 0) {
        unavailableBudget--;
        actions.push({ kind: 'stop', id: old.id, intent: 'replace', reason: replaceReason(old, spec) });
      }
    }
  }
}

/** An instance whose index is no longer wanted: stop it, or forget it when it has no process. */
function planScaledAway(i: Inst, actions: Action[]): void {
  if (i.state === 'stopping') return;
  if (isLive(i)) actions.push({ kind: 'stop', id: i.id, intent: 'scale', reason: 'scaled down' });
  else actions.push({ kind: 'forget', id: i.id });
}

function replaceReason(old: Inst, spec: ServiceSpec): string {
  return old.replaceRequested && old.spec.hash === spec.hash ? 'restart requested' : 'spec changed';
}

/** Services no longer wanted (removed, or all of them at shutdown): stopped dependents first. */
function planRemovals(
  wanted: ReadonlyMap<string, ServiceSpec>,
  byService: Map<string, Inst[]>,
  shuttingDown: boolean,
  actions: Action[],
): void {
  const leaving = [...byService.keys()].filter((name) => !wanted.has(name));
  const hasLive = (name: string) => (byService.get(name) ?? []).some(isLive);
  // A service waits while a live service that is also leaving depends on it.
  const dependsOn = (svc: string, dep: string) =>
    (byService.get(svc) ?? []).some((i) => isLive(i) && Object.hasOwn(i.spec.dependsOn, dep));
  const mayStop = (name: string) => !leaving.some((other) => other !== name && hasLive(other) && dependsOn(other, name));
  let ready = leaving.filter(mayStop);
  // A dependency cycle among leaving services would wait forever: then stop them all at once.
  if (ready.length === 0) ready = leaving;
  const readySet = new Set(ready);
  for (const name of leaving) {
    for (const i of byService.get(name) ?? []) {
      if (i.state === 'stopping') continue;
      if (!isLive(i)) actions.push({ kind: 'forget', id: i.id });
      else if (readySet.has(name)) {
        actions.push(shuttingDown
          ? { kind: 'stop', id: i.id, intent: 'shutdown', reason: 'tend is shutting down' }
          : { kind: 'stop', id: i.id, intent: 'remove', reason: 'service removed' });
      }
    }
  }
}

/** The first dependency condition that does not hold, as `db: healthy`, or undefined. */
function unmetCondition(
  spec: ServiceSpec,
  byService: Map<string, Inst[]>,
  services: ReadonlyMap<string, ServiceSpec>,
): string | undefined {
  for (const [dep, cond] of Object.entries(spec.dependsOn)) {
    if (!conditionHolds(cond, byService.get(dep) ?? [], services.get(dep))) return `${dep}: ${cond}`;
  }
  return undefined;
}

/** DESIGN §3: started = one running; healthy = one running and ready; completed = the job finished. */
export function conditionHolds(cond: Condition, insts: readonly Inst[], spec: ServiceSpec | undefined): boolean {
  switch (cond) {
    case 'started':
      return insts.some((i) => i.state === 'running');
    case 'healthy':
      return insts.some(isAvailable);
    case 'completed': {
      if (!spec) return false;
      const done = new Set(insts.filter((i) => i.state === 'completed' && i.spec.hash === spec.hash).map((i) => i.index));
      for (let n = 0; n < spec.replicas; n++) if (!done.has(n)) return false;
      return true;
    }
  }
}

function groupByService(instances: Iterable<Inst>): Map<string, Inst[]> {
  const m = new Map<string, Inst[]>();
  for (const i of instances) {
    const list = m.get(i.service);
    if (list) list.push(i);
    else m.set(i.service, [i]);
  }
  for (const list of m.values()) list.sort((a, b) => a.index - b.index || a.id.localeCompare(b.id));
  return m;
}
