// Runs one probe of one replica on its interval and keeps its folded state. The reconciler owns
// one runner per probe per replica and reads `state`; the runner only observes (it never restarts
// anything) and tells its owner when the verdict changes.

import type { ProbeCheck, ProbeSpec } from '../spec/types.js';
import { foldProbe } from './fold.js';
import { runProbe } from './probe.js';
import { INITIAL_PROBE_STATE, type ProbeOutcome, type ProbeState } from './types.js';
import { steadyNow } from '../util/clock.js';

/** Called on every status transition (unknown→success, success→failure, failure→success, …) and
 *  only then: a run that changes nothing but the counters or the output is not reported, so a
 *  thousand steady probes cost their owner nothing. A reset by `update()` is not reported either
 *  (the owner caused it and can read `state`). */
export type ProbeChangeHandler = (state: ProbeState, prev: ProbeState, outcome: ProbeOutcome) => void;

/** Marks a run in flight that has nothing to cancel. */
const NOT_CANCELABLE = { abort(): void {} };

// Schedules one replica's probe: the first run at start(), then one every interval measured from
// the start of the previous run, and never two at once: the next run is scheduled only when the
// previous one has settled (one slower than the interval is followed at once by the next).
export class ProbeRunner {
  #spec: ProbeSpec;
  readonly #ctx: { cwd: string; env: Record<string, string>; user?: string };
  readonly #onChange: ProbeChangeHandler;
  #state: ProbeState = INITIAL_PROBE_STATE;
  #startedAt = 0;
  #running = false;
  #timer: NodeJS.Timeout | undefined;
  #inFlight: { abort(): void } | undefined;
  #lastRunAt = 0;
  /** Bumped whenever a run's result must be dropped (stop, restart, check changed). */
  #generation = 0;

  constructor(spec: ProbeSpec, ctx: { cwd: string; env: Record<string, string>; user?: string }, onChange: ProbeChangeHandler) {
    this.#spec = spec;
    this.#ctx = ctx;
    this.#onChange = onChange;
  }

  /** The folded verdict so far; `unknown` until a threshold is reached. */
  get state(): ProbeState {
    return this.#state;
  }

  // Begins probing a (new) process started at `startedAt` (the start period counts from it), from
  // a fresh state: a verdict about an earlier process says nothing about this one.
  start(startedAt: number): void {
    this.#startedAt = startedAt;
    this.#state = INITIAL_PROBE_STATE;
    this.#generation++;
    this.#running = true;
    // A run still in flight from before a stop() is dropped when it settles, and the next starts.
    if (this.#inFlight === undefined) this.#schedule(0);
  }

  // Applies a live spec change. New interval, timeout and thresholds take effect without touching
  // the state; only a different check (kind, command, url, host, port) resets it to unknown, and
  // that new check runs at once.
  update(spec: ProbeSpec): void {
    const checkChanged = !sameCheck(this.#spec.check, spec.check);
    this.#spec = spec;
    if (checkChanged) {
      this.#state = INITIAL_PROBE_STATE;
      this.#generation++;
      this.#inFlight?.abort();
    }
    // A run in flight schedules the next one, with the new spec, when it settles.
    if (!this.#running || this.#inFlight !== undefined) return;
    this.#schedule(checkChanged ? 0 : this.#lastRunAt + spec.intervalMs - steadyNow());
  }

  // Stops probing. A run in flight is dropped: its late result is ignored, and an exec probe is
  // canceled at once (its process group killed).
  stop(): void {
    this.#running = false;
    this.#generation++;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#inFlight?.abort();
  }

  #schedule(delayMs: number): void {
    clearTimeout(this.#timer);
    this.#timer = setTimeout(this.#run, Math.max(0, delayMs));
    // Probes alone must not keep a process alive (the daemon's server does that).
    this.#timer.unref();
  }

  readonly #run = (): void => {
    this.#timer = undefined;
    const generation = this.#generation;
    const { check, timeoutMs } = this.#spec;
    // Only an exec probe is worth canceling (a hung one holds processes until its timeout); http
    // and tcp runs end at their timeout anyway, and an AbortController per run was a measurable
    // share of the cost of a thousand tcp probes a second (bench/probes.ts).
    const controller = check.kind === 'exec' ? new AbortController() : undefined;
    this.#inFlight = controller ?? NOT_CANCELABLE;
    this.#lastRunAt = steadyNow();
    const ctx = controller ? { ...this.#ctx, signal: controller.signal } : this.#ctx;
    void runProbe(check, timeoutMs, ctx).then((outcome) => this.#settle(generation, outcome));
  };

  #settle(generation: number, outcome: ProbeOutcome): void {
    this.#inFlight = undefined;
    if (!this.#running) return;
    if (generation !== this.#generation) {
      // The result is about a check or a process that is gone; probe the current one now.
      this.#schedule(0);
      return;
    }
    const prev = this.#state;
    this.#state = foldProbe(prev, outcome, this.#spec, this.#startedAt);
    this.#schedule(this.#lastRunAt + this.#spec.intervalMs - steadyNow());
    // Last, so that the next run is already scheduled; a handler that throws is the owner's bug and
    // surfaces as an unhandled rejection.
    if (this.#state.status !== prev.status) this.#onChange(this.#state, prev, outcome);
  }
}

// Whether two checks probe the same thing (the fields that, changed, make the old verdict moot).
export function sameCheck(a: ProbeCheck, b: ProbeCheck): boolean {
  switch (a.kind) {
    case 'exec':
      return b.kind === 'exec' && a.command.length === b.command.length && a.command.every((arg, i) => arg === b.command[i]);
    case 'http':
      return b.kind === 'http' && a.url === b.url;
    case 'tcp':
      return b.kind === 'tcp' && a.host === b.host && a.port === b.port;
  }
}
