// plan: the whole decision of one reconcile, per service.
//
// Pure and level-triggered, in the manner of a Kubernetes controller: `planKey` is handed one
// service's desired state and every instance (with its dependencies' instances for conditions) and
// says what to do next to bring the second closer to the first. It never sees an event, so a lost,
// duplicated or reordered event cannot make it wrong; it has no I/O and no clock, so every case is
// a table test. `plan` runs it for every key: start-up, the periodic safety net, `tend plan`, tests.
//
// It never issues an action twice: an instance being started is already `starting` (the
// controller records it before spawning) and one being stopped is `stopping`, and the planner
// leaves both alone. Actions move one step at a time; the loop reconciles the key again whenever
// something of that service (or of a service it depends on) changes.

import type { Condition, ServiceSpec } from '../spec/types.js';
import { formatDuration } from '../spec/units.js';
import { Reason } from './events.js';
import type { Action, DesiredState, Instance, ObservedState, Plan } from './types.js';

type Inst = Readonly<Instance>;

/** Without a readiness probe a replica counts as ready once it has run this long, so that a
 *  process that dies at once is never reported ready nor lets a `healthy` dependent start. */
export const STABLE_START_MS = 500;

/** Has a process (or is about to): counts against replicas and surge. */
export function isLive(i: Inst): boolean {
  return i.state === 'starting' || i.state === 'running' || i.state === 'paused' || i.state === 'stopping';
}

/** Running and ready: counts as available for rolling updates and the `healthy` condition. */
export function isAvailable(i: Inst): boolean {
  return i.state === 'running' && i.ready;
}

/** A oneshot that completed with the spec it has now. */
function isDone(i: Inst, spec: ServiceSpec | undefined): boolean {
  return i.state === 'completed' && (spec === undefined || i.spec.hash === spec.hash);
}

/** An instance that should be replaced because its spec changed or a manual restart asked for it. */
function isOutdated(i: Inst, spec: ServiceSpec): boolean {
  return i.spec.hash !== spec.hash || i.replaceRequested === true;
}

/** One current replica, running and ready, with no restart asked for and no deadline to watch:
 *  nothing in its slot needs a decision. */
function isSettled(i: Inst, spec: ServiceSpec): boolean {
  return i.state === 'running' && i.ready && !isOutdated(i, spec) && !i.restartRequested && spec.limits.maxRuntimeMs === 0;
}

/** A slot's lone instance that no decision can concern now: settled, or on its way (starting,
 *  stopping, pending) with the current spec and no restart asked for. During a cold start of 5000
 *  replicas every slot is `starting`, and each pass planned each of them the long way. */
function needsNothing(i: Inst, spec: ServiceSpec): boolean {
  if (i.state === 'stopping' || i.state === 'pending') return true;
  if (i.state === 'starting') return !isOutdated(i, spec) && !i.restartRequested;
  return isSettled(i, spec);
}

/** What one service needs: its verdict, and when to look again. */
export interface KeyPlan {
  actions: Action[];
  /** What it waits for (`db: healthy`), when it waits. */
  waiting?: string;
  wakeAt?: number;
}

/** The instances of each service, for planning one key without walking the whole fleet: what
 *  planKey reads (a Map satisfies it; the controller serves it lazily from its index). */
export interface ByService {
  get(name: string): readonly Inst[] | undefined;
  keys(): Iterable<string>;
}

export function plan(desired: DesiredState, observed: ObservedState, now: number): Plan {
  const byService = groupByService(observed.instances.values());
  const actions: Action[] = [];
  const waiting = new Map<string, string>();
  let wakeAt: number | undefined;
  const keys = new Set([...desired.services.keys(), ...byService.keys()]);
  for (const name of keys) {
    const p = planKey(name, desired, byService, now);
    actions.push(...p.actions);
    if (p.waiting) waiting.set(name, p.waiting);
    if (p.wakeAt !== undefined) wakeAt = wakeAt === undefined ? p.wakeAt : Math.min(wakeAt, p.wakeAt);
  }
  return wakeAt === undefined ? { actions, waiting } : { actions, waiting, wakeAt };
}

/** The plan of one service: `byService` must hold its instances and its dependencies' (and, for
 *  a service that is leaving, those of every other leaving service). */
export function planKey(name: string, desired: DesiredState, byService: ByService, now: number): KeyPlan {
  const insts = byService.get(name) ?? [];
  const spec = desired.shuttingDown ? undefined : desired.services.get(name);
  if (spec === undefined) return { actions: planLeaving(name, desired, byService) };

  const actions: Action[] = [];
  let wakeAt: number | undefined;
  const wake = (t: number) => (wakeAt = wakeAt === undefined ? t : Math.min(wakeAt, t));
  if (desired.held?.has(name)) {
    // `tend stop`: like a scale to 0 that the files do not see; lifted by `tend start`. Held with
    // its dependents (`tend stop`, every service), it waits for theirs to go, as compose stops;
    // a dependent that is not held runs on.
    const held = [...desired.held].filter((n) => desired.services.has(n));
    if (!dependentsGone(name, held, byService)) return { actions };
    for (const i of insts) {
      if (i.state === 'stopping') continue;
      if (isLive(i)) actions.push({ kind: 'stop', id: i.id, intent: 'hold', reason: Reason.Held, message: 'stopped by `tend stop`' });
    }
    return { actions };
  }
  const blocked = desired.blocked.get(name);
  const unmet = blocked ? undefined : unmetCondition(spec, byService, desired.services);
  planService(spec, insts, { canStart: !blocked && !unmet, blocked: blocked !== undefined }, now, actions, wake);
  const waiting = blocked ?? unmet;
  return { actions, ...(waiting ? { waiting } : {}), ...(wakeAt !== undefined ? { wakeAt } : {}) };
}

interface Gate {
  /** Dependencies hold and the service is not blocked: new processes may start. */
  canStart: boolean;
  /** A blocked service keeps what runs (restarting crashes from their own spec), and nothing else. */
  blocked: boolean;
}

function planService(spec: ServiceSpec, insts: readonly Inst[], gate: Gate, now: number, actions: Action[], wake: (t: number) => void): void {
  // The wanted slots, without an array per slot: a service of 5000 replicas is planned again on
  // every event of any of them, and nearly every slot holds one instance. `heads` holds each
  // slot's oldest instance, `crowded` the whole list of the few slots that hold more.
  const heads = new Array<Inst | undefined>(spec.replicas);
  const crowded = new Map<number, Inst[]>();
  for (const i of insts) {
    if (i.index >= spec.replicas) {
      planScaledAway(i, actions);
      continue;
    }
    const head = heads[i.index];
    if (head === undefined) heads[i.index] = i;
    else {
      const list = crowded.get(i.index);
      if (list) list.push(i);
      else crowded.set(i.index, [head, i]);
    }
  }

  // Rolling-update budgets, counted over the wanted slots. A replica in back-off holds its place
  // in the surge: it comes back when its back-off ends.
  let available = 0;
  let live = 0;
  const occupies = (i: Inst) => isLive(i) || i.state === 'backoff';
  for (let index = 0; index < spec.replicas; index++) {
    const head = heads[index];
    if (head === undefined) continue;
    const list = crowded.get(index);
    if (list === undefined) {
      if (occupies(head)) live++;
      if (isAvailable(head)) available++;
      continue;
    }
    let slotAvailable = false;
    for (const i of list) {
      if (occupies(i)) live++;
      if (isAvailable(i)) slotAvailable = true;
    }
    if (slotAvailable) available++;
  }
  let unavailableBudget = available - (spec.replicas - spec.update.maxUnavailable);
  const halted = insts.some((i) => i.state === 'failed' && !isOutdated(i, spec));
  let surgeBudget = spec.update.maxSurge - Math.max(0, live - spec.replicas);

  for (let index = 0; index < spec.replicas; index++) {
    const head = heads[index];
    let list = crowded.get(index);
    // The common cases, skipped before anything is allocated.
    if (list === undefined && head !== undefined && needsNothing(head, spec)) continue;
    const start = (reason: Reason, message: string, extra: Partial<Extract<Action, { kind: 'start' }>> = {}) =>
      actions.push({ kind: 'start', service: spec.name, index, spec, reason, message, ...extra });

    if (head === undefined) {
      if (gate.canStart) start(Reason.NotRunning, 'not running yet');
      continue;
    }
    list ??= [head];

    const current = list.filter((i) => !isOutdated(i, spec));
    const outdated = list.filter((i) => isOutdated(i, spec));

    // Two processes of the same spec in one slot (say, adopted after a crash of tend while a
    // start was in flight): keep the one that serves best, stop the others.
    const twins = current.filter((i) => isLive(i) && i.state !== 'stopping');
    if (twins.length > 1) {
      const keep = twins.find(isAvailable) ?? twins[0]!;
      for (const extra of twins) {
        if (extra !== keep) actions.push({ kind: 'stop', id: extra.id, intent: 'scale', reason: Reason.Duplicate, message: 'a second replica in its slot' });
      }
    }

    for (const i of list) {
      switch (i.state) {
        case 'backoff': {
          if (isOutdated(i, spec) && !gate.blocked) {
            if (gate.canStart) start(Reason.SpecChanged, 'spec changed', { supersedes: i.id });
          } else if (i.nextStartAt === undefined || now >= i.nextStartAt) {
            // A restart after a crash is not gated on dependencies: it was running before.
            actions.push({
              kind: 'start',
              service: spec.name,
              index,
              spec: i.spec,
              reason: i.restartReason ?? Reason.CrashBackoffDone,
              message: `restart after ${i.reason ?? 'an exit'}`,
              continues: i.id,
              supersedes: i.id,
            });
          } else {
            wake(i.nextStartAt);
          }
          break;
        }
        case 'failed':
        case 'completed':
        case 'stopped':
          // A failed crash loop, a finished job or a replica that exited under `restart: never`
          // stays as it is until its spec changes (or a manual restart forgets it). One stopped
          // by tend itself (a replacement, a hold that was lifted) starts again.
          if (isOutdated(i, spec) || (i.state === 'stopped' && i.stopIntent !== undefined)) {
            if (list.some((o) => o !== i && (isLive(o) || o.state === 'backoff'))) actions.push({ kind: 'forget', id: i.id });
            else if (gate.canStart) {
              if (i.state === 'stopped' && i.stopIntent) start(Reason.Replaced, 'replaced', { supersedes: i.id });
              else start(Reason.SpecChanged, 'spec changed', { supersedes: i.id });
            }
          }
          break;
        case 'running':
        case 'starting':
        case 'paused': {
          if (i.restartRequested && i.state !== 'paused') {
            actions.push({ kind: 'stop', id: i.id, intent: 'restart', reason: i.restartReason ?? Reason.LivenessFailed, message: i.restartRequested });
          } else if (i.state === 'running' && spec.limits.maxRuntimeMs > 0 && i.startedAt !== undefined) {
            const deadline = i.startedAt + spec.limits.maxRuntimeMs;
            if (now >= deadline) {
              actions.push({ kind: 'stop', id: i.id, intent: 'restart', reason: Reason.MaxRuntime, message: `limit: ran longer than max_runtime ${formatDuration(spec.limits.maxRuntimeMs)}` });
            } else wake(deadline);
          }
          // No readiness probe: ready once it has stayed up a moment (never for a job).
          if (i.state === 'running' && !i.ready && !i.spec.readiness && !i.spec.oneshot && i.startedAt !== undefined && !i.restartRequested) {
            const at = i.startedAt + STABLE_START_MS;
            if (now >= at) actions.push({ kind: 'ready', id: i.id });
            else wake(at);
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
      // A successor that crashed is still the successor: it backs off and comes back, or gives up
      // (failed). Taken for none, a surge rollout to a crashing version started a new one on every
      // pass, each with no crash behind it: no back-off, never failed, ~60 spawns a second.
      const successor = current.find((i) => (isLive(i) && i.state !== 'stopping') || i.state === 'backoff' || i.state === 'failed');
      const stop = () => actions.push({ kind: 'stop', id: old.id, intent: 'replace', ...replaceReason(old, spec) });
      if (spec.update.strategy === 'recreate') {
        stop();
      } else if (successor && isAvailable(successor)) {
        stop();
      } else if (!isAvailable(old)) {
        // Not serving anyway: replacing it costs no availability.
        if (!successor) stop();
      } else if (successor) {
        // Its surge replacement is on the way (or backing off); wait for it to be ready.
      } else if (halted) {
        // The new version failed in another slot (a crash loop): the rollout stops there, and the
        // old replicas serve on until the spec changes again or `tend restart` retries it.
      } else if (surgeBudget > 0) {
        surgeBudget--;
        start(Reason.Surge, 'surge: spec changed');
      } else if (unavailableBudget > 0) {
        unavailableBudget--;
        stop();
      }
    }
  }
}

/** An instance whose index is no longer wanted: stop it, or forget it when it has no process. */
function planScaledAway(i: Inst, actions: Action[]): void {
  if (i.state === 'stopping') return;
  if (isLive(i)) actions.push({ kind: 'stop', id: i.id, intent: 'scale', reason: Reason.ScaledDown, message: 'scaled down' });
  else actions.push({ kind: 'forget', id: i.id });
}

function replaceReason(old: Inst, spec: ServiceSpec): { reason: Reason; message: string } {
  return old.replaceRequested && old.spec.hash === spec.hash
    ? { reason: Reason.RestartRequested, message: 'restart requested' }
    : { reason: Reason.SpecChanged, message: 'spec changed' };
}

/** A service no longer wanted (removed, or all of them at shutdown): stopped once no live service
 *  that is also leaving depends on it (dependents first). */
function planLeaving(name: string, desired: DesiredState, byService: ByService): Action[] {
  const wanted = (n: string) => !desired.shuttingDown && desired.services.has(n);
  const mayStop = dependentsGone(name, [...byService.keys()].filter((n) => !wanted(n)), byService);
  const actions: Action[] = [];
  for (const i of byService.get(name) ?? []) {
    if (i.state === 'stopping') continue;
    if (!isLive(i)) actions.push({ kind: 'forget', id: i.id });
    else if (mayStop) {
      actions.push(desired.shuttingDown
        ? { kind: 'stop', id: i.id, intent: 'shutdown', reason: Reason.Shutdown, message: 'tend is shutting down' }
        : { kind: 'stop', id: i.id, intent: 'remove', reason: Reason.ServiceRemoved, message: 'service removed' });
    }
  }
  return actions;
}

/** Whether `name`, stopping together with the services `going` (removed, at shutdown, held), may
 *  stop now: none of them that depends on it has a process left. */
function dependentsGone(name: string, going: readonly string[], byService: ByService): boolean {
  const hasLive = (n: string) => (byService.get(n) ?? []).some(isLive);
  const dependsOn = (svc: string, dep: string) => (byService.get(svc) ?? []).some((i) => isLive(i) && Object.hasOwn(i.spec.dependsOn, dep));
  if (!going.some((other) => other !== name && hasLive(other) && dependsOn(other, name))) return true;
  // A dependency cycle among them would wait for ever: then they all stop at once.
  return !going.some((n) => !going.some((other) => other !== n && hasLive(other) && dependsOn(other, n)));
}

/** The first dependency condition that does not hold, as `db: healthy`, or undefined. */
function unmetCondition(spec: ServiceSpec, byService: ByService, services: ReadonlyMap<string, ServiceSpec>): string | undefined {
  for (const [dep, cond] of Object.entries(spec.dependsOn)) {
    if (!conditionHolds(cond, byService.get(dep) ?? [], services.get(dep))) return `${dep}: ${cond}`;
  }
  return undefined;
}

/** DESIGN §3, with what a compose user expects of a job: a oneshot that completed has started and
 *  is healthy (it did what it is for), so `depends_on: [migrate]` holds after the migration ran.
 *  started = one running (or, for a job, completed); healthy = one running and ready (or, for a
 *  job, completed); completed = every replica of the job completed with its current spec. */
export function conditionHolds(cond: Condition, insts: readonly Inst[], spec: ServiceSpec | undefined): boolean {
  const job = spec?.oneshot ?? insts.some((i) => i.spec.oneshot);
  switch (cond) {
    case 'started':
      return insts.some((i) => i.state === 'running') || (job && insts.some((i) => isDone(i, spec)));
    case 'healthy':
      return insts.some(isAvailable) || (job && insts.some((i) => isDone(i, spec)));
    case 'completed': {
      // Only a job completes (validation refuses `completed` on a service: it is blocked).
      if (!spec?.oneshot) return false;
      const done = new Set(insts.filter((i) => isDone(i, spec)).map((i) => i.index));
      for (let n = 0; n < spec.replicas; n++) if (!done.has(n)) return false;
      return true;
    }
  }
}

export function groupByService(instances: Iterable<Inst>): Map<string, Inst[]> {
  const m = new Map<string, Inst[]>();
  for (const i of instances) {
    const list = m.get(i.service);
    if (list) list.push(i);
    else m.set(i.service, [i]);
  }
  for (const list of m.values()) list.sort((a, b) => a.index - b.index || seqOf(a.id) - seqOf(b.id));
  return m;
}

function seqOf(id: string): number {
  return Number(id.slice(id.lastIndexOf('#') + 1));
}
