// CPU and memory of live replicas, in one batched /proc scan, taken only when something needs it:
//
// - a reader (status, top, /metrics, the dashboard) asks: one scan of every replica, at most once
//   per gap, the gap growing with what the last scan cost (at most ~2% of a core while somebody
//   polls without pause, and never more often than once a second);
// - replicas with a limit or a CPU/memory alert are scanned on a timer, every 5 s up to 1000 of
//   them, then 5 ms per replica, whether or not anybody reads.
//
// Nothing else: an idle daemon with nobody watching does no work per replica (issue 13: idle CPU
// grew with the number of replicas, 2.8% of a core at 5000 while a status read kept a periodic
// scan of the whole fleet alive for a minute). CPU% is over the time since the process's previous
// sample, so after a long quiet spell it is the average over that spell.

import { performance } from 'node:perf_hooks';

import { sampleUsage } from '../runtime/stats.js';
import type { GroupUsage } from '../runtime/types.js';

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
  private readonly now: () => number;

  constructor(private readonly opts: SamplerOptions) {
    this.now = opts.now ?? Date.now;
  }

  start(): void {
    this.schedule(Math.min(1000, this.opts.intervalMs));
  }

  /** A reader wants current figures: scan every replica now, unless a scan was taken recently. */
  refresh(): void {
    if (this.closed) return;
    const gap = Math.max(MIN_READER_GAP_MS, this.lastFullCostMs * READER_COST_FACTOR);
    if (this.now() - this.lastFullAt < gap) return;
    const started = performance.now();
    this.scan(this.opts.targets());
    this.lastFullAt = this.now();
    this.lastFullCostMs = performance.now() - started;
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

  private scan(targets: SamplerTarget[]): void {
    if (targets.length === 0) return;
    try {
      const byGroup = sampleUsage(targets.map((t) => t.pgid));
      for (const t of targets) {
        const u = byGroup.get(t.pgid);
        if (u) this.opts.onSample(t.id, u);
      }
    } catch (err) {
      this.opts.onError(err);
    }
  }

  private schedule(ms: number): void {
    if (this.opts.intervalMs <= 0) return;
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
    this.scan(limited);
    // No limited replica: the timer sleeps until poke() (a spec or alert change) wakes it.
    if (limited.length > 0) this.schedule(Math.max(this.opts.intervalMs, limited.length * 5));
  }
}
