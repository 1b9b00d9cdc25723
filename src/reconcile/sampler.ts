// CPU and memory of every live replica, in one batched /proc scan, only while somebody needs them:
// a limit to enforce, or a reader (status, /metrics, the dashboard) in the last minute. An idle
// daemon whose replicas have no limits and nobody watching does not scan at all (issue: idle CPU
// grew with the number of replicas). The interval grows with the fleet so that a scan costs at
// most a small share of a core: 5 s up to 1000 replicas, then 5 ms per replica.

import { sampleUsage } from '../runtime/stats.js';
import type { GroupUsage } from '../runtime/types.js';

export interface SamplerTarget {
  id: string;
  pgid: number;
  /** It has a memory or CPU limit: sampled even when nobody reads. */
  limited: boolean;
}

export interface SamplerOptions {
  intervalMs: number;
  targets: () => SamplerTarget[];
  onSample: (id: string, usage: GroupUsage) => void;
  onError: (err: unknown) => void;
  /** Extra work at each tick (log rotation checks). */
  onTick?: () => Promise<void> | void;
}

/** How long after the last read samples keep coming. */
const READER_GRACE_MS = 60_000;

export class UsageSampler {
  private timer?: NodeJS.Timeout;
  private lastReadAt = 0;
  private sampling = false;
  private closed = false;

  constructor(private readonly opts: SamplerOptions) {}

  start(): void {
    if (this.opts.intervalMs <= 0) return;
    // A first sample soon after start, so that the first `tend status` shows CPU and memory.
    this.schedule(Math.min(1000, this.opts.intervalMs));
  }

  /** Somebody looked at usage: keep sampling for a while (and now, if never sampled). */
  touch(): void {
    const idle = Date.now() - this.lastReadAt > READER_GRACE_MS;
    this.lastReadAt = Date.now();
    if (idle && this.timer === undefined && !this.closed && this.opts.intervalMs > 0) this.schedule(0);
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private schedule(ms: number): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.tick();
    }, ms);
    this.timer.unref();
  }

  private async tick(): Promise<void> {
    if (this.closed || this.sampling) return;
    this.sampling = true;
    let targets: SamplerTarget[] = [];
    try {
      targets = this.opts.targets();
      const reading = Date.now() - this.lastReadAt <= READER_GRACE_MS;
      const wanted = reading ? targets : targets.filter((t) => t.limited);
      if (wanted.length > 0) {
        const byGroup = await sampleUsage(wanted.map((t) => t.pgid));
        for (const t of wanted) {
          const u = byGroup.get(t.pgid);
          if (u) this.opts.onSample(t.id, u);
        }
      }
      await this.opts.onTick?.();
    } catch (err) {
      this.opts.onError(err);
    } finally {
      this.sampling = false;
    }
    if (this.closed) return;
    // Sleep until a reader comes back when nothing needs samples and no tick work is pending.
    const anyLimited = targets.some((t) => t.limited);
    const reading = Date.now() - this.lastReadAt <= READER_GRACE_MS;
    if (!anyLimited && !reading && !this.opts.onTick) return;
    this.schedule(Math.max(this.opts.intervalMs, targets.length * 5));
  }
}
