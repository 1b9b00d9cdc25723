// The alert engine: the effectful shell around evaluateAlerts. It keeps the facts only events
// carry (restart times, stale watchdogs), evaluates on a timer and soon after a relevant event,
// and announces each transition as an event (`alert.firing`, `alert.resolved`) that hooks, the
// history and the SSE stream see like any other. It evaluates per service, and only the services
// an event, the clock or a usage sample concerns: a crash at 5000 replicas costs one service.

import type { TendEvent } from '../api/types.js';
import type { EventBody } from '../reconcile/events.js';
import type { AlertRules } from '../spec/hook-types.js';
import { EMPTY_ALERT_STATE, evaluateAlerts, type AlertState, type FiringAlert, type ReplicaObservation } from './evaluate.js';
import type { EventFacts } from './observe.js';

export interface AlertEngineOptions {
  events: { subscribe(l: (e: TendEvent) => void): () => void; emit(e: EventBody): TendEvent };
  /** The services whose alerts are evaluated (those in force). */
  services: () => Iterable<string>;
  /** The replicas of one service now (observeReplicas over the controller, given these facts). */
  observe: (service: string, facts: EventFacts) => ReplicaObservation[];
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

/** One service's alerts: evaluateAlerts' state over its replicas, and when the clock alone could
 *  change the answer. */
interface ServiceAlerts {
  state: AlertState;
  firing: FiringAlert[];
  nextAt: number;
}

export class AlertEngine implements EventFacts {
  /** Per service: an event of one replica re-evaluates its service, not the fleet. */
  private readonly byService = new Map<string, ServiceAlerts>();
  private current: FiringAlert[] = [];
  private readonly restartTimes = new Map<string, number[]>();
  private readonly staleSlots = new Set<string>();
  private timer?: NodeJS.Timeout;
  private unsubscribe?: () => void;
  private scheduled = false;
  private lastEvaluation = 0;
  /** Services whose observations may have changed since their last evaluation. */
  private readonly dirty = new Set<string>();
  /** Every service may have changed (start, a spec load, new rules). */
  private allDirty = true;
  private usageSeen = Number.NaN;
  private readonly now: () => number;

  constructor(private readonly opts: AlertEngineOptions) {
    this.now = opts.now ?? Date.now;
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
    const due = new Set<string>(this.dirty);
    if (this.allDirty) {
      for (const name of this.opts.services()) due.add(name);
      for (const name of this.byService.keys()) due.add(name);
    }
    for (const [name, s] of this.byService) if (now >= s.nextAt) due.add(name);
    if (usageMoved) {
      for (const name of this.opts.services()) {
        const r = this.opts.rulesOf(name);
        if (r.cpu_high || r.memory_high) due.add(name);
      }
    }
    this.allDirty = false;
    this.dirty.clear();
    if (due.size === 0) return;
    let firingChanged = false;
    for (const name of due) {
      const prev = this.byService.get(name);
      const r = evaluateAlerts(prev?.state ?? EMPTY_ALERT_STATE, this.opts.observe(name, this), this.opts.rulesOf, now);
      if (r.state.entries.size === 0 && r.nextAt === undefined) this.byService.delete(name);
      else this.byService.set(name, { state: r.state, firing: r.firing, nextAt: r.nextAt ?? Number.POSITIVE_INFINITY });
      if ((prev?.firing.length ?? 0) > 0 || r.firing.length > 0) firingChanged = true;
      for (const t of r.transitions) {
        const body = { service: t.service, replica: t.replica, alert: t.alert, message: t.summary };
        this.opts.events.emit(t.kind === 'firing' ? { type: 'alert.firing', ...body } : { type: 'alert.resolved', ...body });
      }
    }
    if (firingChanged) {
      this.current = [...this.byService.values()]
        .flatMap((s) => s.firing)
        .sort((a, b) => a.service.localeCompare(b.service) || a.replica - b.replica || a.alert.localeCompare(b.alert));
    }
  }

  /** The earliest moment the clock alone could change an answer. */
  private nextAt(): number {
    let at = Number.POSITIVE_INFINITY;
    for (const s of this.byService.values()) at = Math.min(at, s.nextAt);
    return at;
  }

  private onEvent(e: TendEvent): void {
    if (e.type === 'spec.loaded') this.allDirty = true;
    if (e.service === undefined && e.type !== 'spec.loaded') return;
    // Alerts' own events change no observation; anything else about a service may.
    if (e.service !== undefined && !e.type.startsWith('alert.')) this.dirty.add(e.service);
    const slot = `${e.service}/${e.replica}`;
    if (e.type === 'replica.restarting' && e.replica !== undefined) {
      const list = this.restartTimes.get(slot) ?? [];
      list.push(Date.parse(e.ts) || this.now());
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
