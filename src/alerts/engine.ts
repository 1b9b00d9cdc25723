// The alert engine: the effectful shell around evaluateAlerts. It keeps the facts only events
// carry (restart times, stale watchdogs), evaluates on a timer and soon after a relevant event,
// and announces each transition as an event (`alert.firing`, `alert.resolved`) that hooks, the
// history and the SSE stream see like any other. It evaluates per replica slot, and only the
// slots an event, the clock or a usage sample concerns: a crash at 5000 replicas costs one slot
// (it cost the whole service, 7 ms, twice per crash: the exit and the restart).

import type { TendEvent } from '../api/types.js';
import type { EventBody } from '../reconcile/events.js';
import type { AlertRules } from '../spec/hook-types.js';
import { EMPTY_ALERT_STATE, evaluateAlerts, type AlertState, type FiringAlert, type ReplicaObservation } from './evaluate.js';
import type { EventFacts } from './observe.js';
import { steadyNow } from '../util/clock.js';

export interface AlertEngineOptions {
  events: { subscribe(l: (e: TendEvent) => void): () => void; emit(e: EventBody): TendEvent };
  /** The services whose alerts are evaluated (those in force). */
  services: () => Iterable<string>;
  /** The replicas of one service now (observeReplicas over the controller, given these facts),
   *  or only those of the slots in `only`. */
  observe: (service: string, facts: EventFacts, only?: ReadonlySet<number>) => ReplicaObservation[];
  rulesOf: (service: string) => AlertRules;
  /** How often the engine checks whether anything needs a new evaluation (default 1 s). */
  intervalMs?: number;
  /** Changes whenever usage samples arrive (CPU and memory conditions depend on them). */
  usageVersion?: () => number;
  /** Restart times older than this are forgotten (default: 24 h, the longest sensible window). */
  keepRestartsMs?: number;
  now?: () => number;
}

/** Prompt evaluations (after an event) are at least this far apart. */
const PROMPT_MS = 100;
/** ...and this long after the event that asked for one. An evaluation walks the replicas of every
 *  service concerned (7 ms for one of 5000, after a spec load); run at once, it held back the
 *  spawn results that the same event led to (replica.started came 8–14 ms after its spawn). */
const PROMPT_MIN_DELAY_MS = 25;

/** Events that may change a condition: evaluate soon rather than at the next tick. */
const PROMPT = new Set(['replica.failed', 'replica.restarting', 'replica.started', 'replica.ready', 'replica.unready', 'replica.backoff', 'replica.stale', 'replica.stopped', 'spec.loaded']);

/** One replica slot's alerts: evaluateAlerts' state over it, and when the clock alone could change
 *  the answer. */
interface SlotAlerts {
  state: AlertState;
  firing: FiringAlert[];
  nextAt: number;
}

export class AlertEngine implements EventFacts {
  /** Per service, per replica index: only slots with an alert pending or firing, or a clock. */
  private readonly byService = new Map<string, Map<number, SlotAlerts>>();
  private current: FiringAlert[] = [];
  private readonly restartTimes = new Map<string, number[]>();
  private readonly staleSlots = new Set<string>();
  private timer?: NodeJS.Timeout;
  private unsubscribe?: () => void;
  private scheduled = false;
  private lastEvaluation = 0;
  /** Slots whose observations may have changed since their last evaluation ('all': the service's). */
  private readonly dirty = new Map<string, Set<number> | 'all'>();
  /** Every service may have changed (start, a spec load, new rules). */
  private allDirty = true;
  private usageSeen = Number.NaN;
  private readonly now: () => number;

  constructor(private readonly opts: AlertEngineOptions) {
    this.now = opts.now ?? steadyNow; // util/clock.ts: windows and `for:` are lengths of time
  }

  start(): void {
    this.unsubscribe = this.opts.events.subscribe((e) => this.onEvent(e));
    this.timer = setInterval(() => {
      // A tick evaluates only when an event, a usage sample or the clock may have changed a
      // condition: an idle daemon must not walk its replicas each second.
      if (this.allDirty || this.dirty.size > 0 || this.now() >= this.nextAt() || (this.opts.usageVersion?.() ?? 0) !== this.usageSeen) this.evaluate();
    }, this.opts.intervalMs ?? 1000);
    this.timer.unref();
  }

  stop(): void {
    this.unsubscribe?.();
    clearInterval(this.timer);
  }

  /** Alerts firing now, for status and /metrics. */
  firing(): readonly FiringAlert[] {
    return this.current;
  }

  restarts(slot: string): readonly number[] {
    return this.restartTimes.get(slot) ?? [];
  }

  stale(slot: string): boolean {
    return this.staleSlots.has(slot);
  }

  /** The rules changed (tend.yaml): evaluate at the next tick. */
  invalidate(): void {
    this.allDirty = true;
  }

  /** Evaluates what may have changed now and announces what changed. */
  evaluate(): void {
    const now = this.now();
    this.lastEvaluation = now;
    const usage = this.opts.usageVersion?.() ?? 0;
    const usageMoved = usage !== this.usageSeen;
    this.usageSeen = usage;
    const keep = this.opts.keepRestartsMs ?? 24 * 3_600_000;
    for (const [slot, times] of this.restartTimes) {
      const kept = times.filter((t) => t > now - keep);
      if (kept.length === 0) this.restartTimes.delete(slot);
      else if (kept.length !== times.length) this.restartTimes.set(slot, kept);
    }
    const due = new Map(this.dirty);
    const all = (name: string) => due.set(name, 'all');
    if (this.allDirty) {
      for (const name of this.opts.services()) all(name);
      for (const name of this.byService.keys()) all(name);
    }
    if (usageMoved) {
      for (const name of this.opts.services()) {
        const r = this.opts.rulesOf(name);
        if (r.cpu_high || r.memory_high) all(name);
      }
    }
    for (const [name, slots] of this.byService) {
      if (due.get(name) === 'all') continue;
      for (const [index, s] of slots) {
        if (now < s.nextAt) continue;
        const d = due.get(name);
        if (d instanceof Set) d.add(index);
        else due.set(name, new Set([index]));
      }
    }
    this.allDirty = false;
    this.dirty.clear();
    let firingChanged = false;
    for (const [name, which] of due) if (this.evaluateService(name, which === 'all' ? undefined : which, now)) firingChanged = true;
    if (firingChanged) {
      this.current = [...this.byService.values()]
        .flatMap((slots) => [...slots.values()].flatMap((s) => s.firing))
        .sort((a, b) => a.service.localeCompare(b.service) || a.replica - b.replica || a.alert.localeCompare(b.alert));
    }
  }

  /** Evaluates these slots of a service (all of them without `only`); whether its firing changed. */
  private evaluateService(name: string, only: ReadonlySet<number> | undefined, now: number): boolean {
    const observed = new Map<number, ReplicaObservation>();
    for (const o of this.opts.observe(name, this, only)) observed.set(o.replica, o);
    let slots = this.byService.get(name);
    // A slot with alert state but no observation now resolves (its replica is gone).
    const indices = only ?? new Set([...observed.keys(), ...(slots?.keys() ?? [])]);
    let firingChanged = false;
    for (const index of indices) {
      const prev = slots?.get(index);
      const o = observed.get(index);
      if (!prev && !o) continue;
      const r = evaluateAlerts(prev?.state ?? EMPTY_ALERT_STATE, o ? [o] : [], this.opts.rulesOf, now);
      if (r.state.entries.size === 0 && r.nextAt === undefined) slots?.delete(index);
      else {
        if (!slots) this.byService.set(name, (slots = new Map()));
        slots.set(index, { state: r.state, firing: r.firing, nextAt: r.nextAt ?? Number.POSITIVE_INFINITY });
      }
      if ((prev?.firing.length ?? 0) > 0 || r.firing.length > 0) firingChanged = true;
      for (const t of r.transitions) {
        const body = { service: t.service, replica: t.replica, alert: t.alert, message: t.summary };
        this.opts.events.emit(t.kind === 'firing' ? { type: 'alert.firing', ...body } : { type: 'alert.resolved', ...body });
      }
    }
    if (slots?.size === 0) this.byService.delete(name);
    return firingChanged;
  }

  /** The earliest moment the clock alone could change an answer. */
  private nextAt(): number {
    let at = Number.POSITIVE_INFINITY;
    for (const slots of this.byService.values()) for (const s of slots.values()) at = Math.min(at, s.nextAt);
    return at;
  }

  private markDirty(service: string, replica: number | undefined): void {
    const d = this.dirty.get(service);
    if (d === 'all') return;
    if (replica === undefined) this.dirty.set(service, 'all');
    else this.dirty.set(service, (d ?? new Set<number>()).add(replica));
  }

  private onEvent(e: TendEvent): void {
    if (e.type === 'spec.loaded') this.allDirty = true;
    if (e.service === undefined && e.type !== 'spec.loaded') return;
    // Alerts' own events change no observation; anything else about a replica may change its
    // slot's, and anything about the service as a whole (a scale, a restart of all) any slot's.
    if (e.service !== undefined && !e.type.startsWith('alert.')) this.markDirty(e.service, e.replica);
    const slot = `${e.service}/${e.replica}`;
    if (e.type === 'replica.restarting' && e.replica !== undefined) {
      const list = this.restartTimes.get(slot) ?? [];
      // Events arrive as they are emitted: now is when it restarted, on the clock windows use.
      list.push(this.now());
      this.restartTimes.set(slot, list);
    } else if (e.type === 'replica.stale') this.staleSlots.add(slot);
    else if (e.type === 'replica.started' || e.type === 'replica.stopped') this.staleSlots.delete(slot);
    else if (e.type === 'service.restarting') {
      // `tend restart` resets crash-loop counters; it resets the restart tally too.
      for (const key of [...this.restartTimes.keys()]) if (key.startsWith(`${e.service}/`) && (e.replica === undefined || key === slot)) this.restartTimes.delete(key);
    }
    // Not inside the emit of the controller, and at most every PROMPT_MS: a burst of 1000 exits is
    // one or two evaluations of the services concerned, not one per event.
    if (PROMPT.has(e.type) && !this.scheduled) {
      this.scheduled = true;
      const wait = Math.max(PROMPT_MIN_DELAY_MS, this.lastEvaluation + PROMPT_MS - this.now());
      setTimeout(() => {
        this.scheduled = false;
        this.evaluate();
      }, wait).unref();
    }
  }
}
