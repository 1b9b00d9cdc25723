// The alert engine: the effectful shell around evaluateAlerts. It keeps the facts only events
// carry (restart times, stale watchdogs), evaluates on a timer and soon after a relevant event,
// and announces each transition as an event (`alert.firing`, `alert.resolved`) that hooks, the
// history and the SSE stream see like any other.

import type { TendEvent } from '../api/types.js';
import type { EventBody } from '../reconcile/events.js';
import type { AlertRules } from '../spec/hook-types.js';
import { EMPTY_ALERT_STATE, evaluateAlerts, type AlertState, type FiringAlert, type ReplicaObservation } from './evaluate.js';
import type { EventFacts } from './observe.js';

export interface AlertEngineOptions {
  events: { subscribe(l: (e: TendEvent) => void): () => void; emit(e: EventBody): TendEvent };
  /** The replicas now (observeReplicas over the controller, given these facts). */
  observe: (facts: EventFacts) => ReplicaObservation[];
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

/** Events that may change a condition: evaluate soon rather than at the next tick. */
const PROMPT = new Set(['replica.failed', 'replica.restarting', 'replica.started', 'replica.ready', 'replica.unready', 'replica.backoff', 'replica.stale', 'replica.stopped', 'spec.loaded']);

export class AlertEngine implements EventFacts {
  private state: AlertState = EMPTY_ALERT_STATE;
  private current: FiringAlert[] = [];
  private readonly restartTimes = new Map<string, number[]>();
  private readonly staleSlots = new Set<string>();
  private timer?: NodeJS.Timeout;
  private unsubscribe?: () => void;
  private scheduled = false;
  private lastEvaluation = 0;
  /** Something the observations depend on changed since the last evaluation. */
  private dirty = true;
  /** When the clock alone could change the answer (evaluateAlerts' nextAt). */
  private nextAt = Number.POSITIVE_INFINITY;
  private usageSeen = Number.NaN;
  private readonly now: () => number;

  constructor(private readonly opts: AlertEngineOptions) {
    this.now = opts.now ?? Date.now;
  }

  start(): void {
    this.unsubscribe = this.opts.events.subscribe((e) => this.onEvent(e));
    // A tick evaluates only when an event, a usage sample or the clock may have changed a condition:
    // evaluating walks every replica, and an idle daemon must not pay that each second.
    this.timer = setInterval(() => {
      if (this.dirty || this.now() >= this.nextAt || (this.opts.usageVersion?.() ?? 0) !== this.usageSeen) this.evaluate();
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
    this.dirty = true;
  }

  /** Evaluates now and announces what changed. */
  evaluate(): void {
    const now = this.now();
    this.lastEvaluation = now;
    this.dirty = false;
    this.usageSeen = this.opts.usageVersion?.() ?? 0;
    const keep = this.opts.keepRestartsMs ?? 24 * 3_600_000;
    for (const [slot, times] of this.restartTimes) {
      const kept = times.filter((t) => t > now - keep);
      if (kept.length === 0) this.restartTimes.delete(slot);
      else if (kept.length !== times.length) this.restartTimes.set(slot, kept);
    }
    const r = evaluateAlerts(this.state, this.opts.observe(this), this.opts.rulesOf, now);
    this.state = r.state;
    this.current = r.firing;
    this.nextAt = r.nextAt ?? Number.POSITIVE_INFINITY;
    for (const t of r.transitions) {
      const body = { ...(t.service !== undefined ? { service: t.service } : {}), ...(t.replica !== undefined ? { replica: t.replica } : {}), alert: t.alert, message: t.summary };
      this.opts.events.emit(t.kind === 'firing' ? { type: 'alert.firing', ...body } : { type: 'alert.resolved', ...body });
    }
  }

  private onEvent(e: TendEvent): void {
    if (e.service === undefined && e.type !== 'spec.loaded') return;
    // Alerts' own events change no observation; anything else about a service may.
    if (!e.type.startsWith('alert.')) this.dirty = true;
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
    if (PROMPT.has(e.type) && !this.scheduled) {
      this.scheduled = true;
      // Not inside the emit of the controller, and at most every PROMPT_MS: a burst of 1000 exits
      // is one or two evaluations over all replicas, not one per event.
      const wait = Math.max(0, this.lastEvaluation + PROMPT_MS - this.now());
      setTimeout(() => {
        this.scheduled = false;
        this.evaluate();
      }, wait).unref();
    }
  }
}
