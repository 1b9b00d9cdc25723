// CPU and memory of live replicas, in one batched /proc scan, taken only when something needs it:
//
// - a reader (status, top, /metrics, the dashboard) asks: one scan of every replica, at most once
//   per gap, the gap growing with what the last scan cost (at most ~2% of a core while somebody
//   polls without pause, and never more often than once a second);
// - replicas with a limit or a CPU/memory alert are scanned on a timer, every 5 s up to 1000 of
//   them, then 5 ms per replica, whether or not anybody reads.
//
// A scan reads every process's /proc stat, ~140 ms at 5000 replicas: it is read a slice at a time,
// yielding to the loop in between, so that a crash is still handled at once while a reader waits.
//
// Nothing else: an idle daemon with nobody watching does no work per replica (issue 13: idle CPU
// grew with the number of replicas, 2.8% of a core at 5000 while a status read kept a periodic
// scan of the whole fleet alive for a minute). CPU% is over the time since the process's previous
// sample, so after a long quiet spell it is the average over that spell.

import { performance } from 'node:perf_hooks';

import { sampleUsage } from '../runtime/stats.js';
import type { GroupUsage } from '../runtime/types.js';
import { steadyNow } from '../util/clock.js';

export interface SamplerTarget {
  id: string;
  pgid: number;
  /** It has a memory or CPU limit or alert: sampled on the timer even when nobody reads. */
  limited: boolean;
}

export interface SamplerOptions {
  /** The timer's interval for limited replicas (0: no timer, readers only). */
  intervalMs: number;
  targets: () => SamplerTarget[];
  onSample: (id: string, usage: GroupUsage) => void;
  onError: (err: unknown) => void;
  now?: () => number;
  /** Entries of /proc read per turn of the event loop (runtime/proc.ts scanGroupsInSlices). */
  slice?: number;
}

/** Readers never cause scans closer together than this... */
const MIN_READER_GAP_MS = 1000;
/** ...nor closer than this many times what the last full scan cost (50: ≤ 2% of a core). */
const READER_COST_FACTOR = 50;

export class UsageSampler {
  private timer?: NodeJS.Timeout;
  private closed = false;
  private lastFullAt = Number.NEGATIVE_INFINITY;
  private lastFullCostMs = 0;
  /** The scan in progress: one at a time (the CPU history is shared); a reader waits for it. */
  private scanning?: Promise<void>;
  private readonly now: () => number;

  constructor(private readonly opts: SamplerOptions) {
    this.now = opts.now ?? steadyNow;
  }

  start(): void {
    this.schedule(Math.min(1000, this.opts.intervalMs));
  }

  /** A reader wants current figures: scan every replica now, unless a scan was taken recently.
   *  Resolves when the figures are in (the scan yields to the loop as it goes). */
  refresh(): Promise<void> {
    if (this.closed) return Promise.resolve();
    // After the scan in progress: a full one leaves nothing to do, a timed one (limited replicas
    // only) is followed by the full one.
    if (this.scanning) return this.scanning.then(() => this.refresh());
    const gap = Math.max(MIN_READER_GAP_MS, this.lastFullCostMs * READER_COST_FACTOR);
    if (this.now() - this.lastFullAt < gap) return Promise.resolve();
    const started = performance.now();
    return this.run(this.opts.targets(), () => {
      this.lastFullAt = this.now();
      this.lastFullCostMs = performance.now() - started;
    });
  }

  /** Something new may need the timer (a limit or an alert added): look again soon. */
  poke(): void {
    if (!this.closed && this.timer === undefined) this.schedule(0);
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private run(targets: SamplerTarget[], done?: () => void): Promise<void> {
    const p: Promise<void> = this.scan(targets).finally(() => {
      if (this.scanning === p) this.scanning = undefined;
      done?.();
    });
    this.scanning = p;
    return p;
  }

  private async scan(targets: SamplerTarget[]): Promise<void> {
    if (targets.length === 0) return;
    try {
      const byGroup = await sampleUsage(targets.map((t) => t.pgid), this.opts.slice);
      if (this.closed) return;
      for (const t of targets) {
        const u = byGroup.get(t.pgid);
        if (u) this.opts.onSample(t.id, u);
      }
    } catch (err) {
      this.opts.onError(err);
    }
  }

  private schedule(ms: number): void {
    if (this.opts.intervalMs <= 0 || this.closed) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.tick();
    }, ms);
    this.timer.unref();
  }

  private tick(): void {
    if (this.closed) return;
    const limited = this.opts.targets().filter((t) => t.limited);
    // No limited replica: the timer sleeps until poke() (a spec or alert change) wakes it.
    if (limited.length === 0) return;
    const next = () => this.schedule(Math.max(this.opts.intervalMs, limited.length * 5));
    // A scan in progress counts as this one (a reader's covers every replica).
    void (this.scanning ?? this.run(limited)).then(next);
  }
}
