// Gives back the memory a burst of work left behind, once the daemon is quiet again.
//
// A cold start of 5000 replicas allocates far more than it keeps (events, state snapshots, spawn
// requests), and V8 collects its old generation only when that generation reaches a limit that
// grew during the burst. An idle daemon never reaches it: measured at 5000 replicas, 93 MB of heap
// in use for 32 MB live, RSS 172 MiB, for as long as it stayed idle (at 1000: 116 MiB for 28 MB
// live). V8's own memory reducer only runs after a full collection that the burst never
// triggered. So: GC_QUIET_MS after V8's last collection (and every CHECK_EVERY_MS), if the heap V8
// holds (committed, garbage and free pages alike) grew well past what the last collection left,
// and the loop has done no reconcile pass for a while, a full collection, then a second one from a
// task of V8's that returns the pages (see collect()): at 5000 replicas RSS 200 → 92 MiB, for
// ~0.2 s of CPU once.

import { PerformanceObserver } from 'node:perf_hooks';
import { getHeapSpaceStatistics, getHeapStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/** V8's `gc`: a full collection at once (no argument); a full one from a task V8 posts to the loop
 *  (major, async: still one atomic collection, not incremental marking, in `--trace-gc`); or a
 *  young-generation one (minor). */
export type Gc = (options?: { type: 'major' | 'minor'; execution: 'sync' | 'async' }) => void;

export interface MemoryReducerOptions {
  /** V8's collector, or undefined where this Node has none to give (the reducer does nothing). */
  gc: Gc | undefined;
  /** Milliseconds since the daemon last did work; a busy daemon is left alone. */
  quietForMs: () => number;
  /** Bytes of heap V8 holds now (committed: live, garbage and free pages). */
  heapCommitted?: () => number;
  /** Bytes of that heap in use (live, and garbage not yet collected). */
  heapUsed?: () => number;
  /** Bytes V8 holds for its young generation (new space). */
  youngCommitted?: () => number;
  /** Milliseconds since V8's last collection ended (default: watched with a PerformanceObserver). */
  gcQuietForMs?: () => number;
  /** How long after V8's last collection to look (default GC_QUIET_MS). */
  gcQuietMs?: number;
  checkEveryMs?: number;
  onCollected?: (before: number, after: number, ms: number) => void;
}

const CHECK_EVERY_MS = 10_000;
/** Quiet for this long: the burst is over (a cold start's passes come every few milliseconds). */
const QUIET_MS = 5_000;
/** Grown past what the last collection left by at least this much, and by half of it. */
const MIN_GROWTH_BYTES = 32 * 1024 * 1024;
/** A young generation this large was grown by a burst (it starts at 1 MiB, and idles empty): at
 *  1000 replicas 32 MiB of it stayed committed (RSS 110 MiB) while the whole heap had grown by
 *  31 MiB, under MIN_GROWTH_BYTES. */
const YOUNG_GROWN_BYTES = 16 * 1024 * 1024;
const AGAIN_AFTER_MS = 1000;
/** V8 gives back the young generation's pages (32 MiB at 5000 replicas, grown during the burst)
 *  only in a full collection that finds the allocation rate since its previous collection low
 *  (Heap::ReduceNewSpaceSize: under 1000 bytes/ms, over at least its last 5 s). A collection
 *  sooner after the burst collected the old generation and kept the young one whole: RSS 130
 *  instead of 100 MiB at 5000 replicas, until a second one (bench/FINDINGS.md §12). And the end of
 *  a burst allocates ~12 MB after V8's last collection, which kept that rate high for ~15 s more.
 *  So the look comes once V8 has not collected for GC_QUIET_MS; if much was allocated since, a
 *  young-generation collection (~1 ms) starts V8's count again, and the look comes GC_QUIET_MS
 *  after it. */
const GC_QUIET_MS = 5_500;
/** V8's low allocation rate, with a margin. */
const LOW_ALLOCATION_BYTES_PER_MS = 800;
/** Without a pass or a collection for this long after the heap grew, the burst is over. */
const NUDGE_MS = 1000;

/** V8's full collection, which Node exposes only to `--expose-gc`: the flag can be set at run time,
 *  and a new context created after that has `gc` as a global. Undefined if that fails. */
export function exposeGc(): Gc | undefined {
  try {
    setFlagsFromString('--expose-gc');
    const gc: unknown = runInNewContext('gc');
    return typeof gc === 'function' ? (gc as Gc) : undefined;
  } catch {
    return undefined;
  } finally {
    // Only that context's `gc`: nothing else the daemon creates later should see the flag.
    setFlagsFromString('--no-expose-gc');
  }
}

/** exposeGc() when first called: making the context costs 1–5 ms, which at start-up came before
 *  the first replica, and most daemons never collect. Does nothing where `gc` cannot be had. */
export function lazyGc(): Gc {
  let gc: Gc | undefined | null = null;
  return (options) => {
    if (gc === null) gc = exposeGc();
    gc?.(options);
  };
}

export class MemoryReducer {
  private timer?: NodeJS.Timeout;
  private again?: NodeJS.Timeout;
  /** The look that comes GC_QUIET_MS after V8's last collection. */
  private afterGc?: NodeJS.Timeout;
  private nudgeTimer?: NodeJS.Timeout;
  private observer?: PerformanceObserver;
  private lastGcEnd = -Infinity;
  /** Bytes in use just after V8's last collection (seen by the observer): what was allocated
   *  since is the difference. */
  private usedAfterGc?: number;
  private seen = 0;
  private readonly gcQuiet: () => number;
  private readonly young: () => number;
  private youngArmed = true;
  private readonly committed: () => number;
  /** The committed heap after the last collection (or at start). */
  private baseline: number;
  /** A collection was asked for: the next look takes what it left as the baseline. */
  private settling = false;
  /** The collections of this burst were asked for a second time (see check()). */
  private retried = false;
  private readonly used: () => number;

  constructor(private readonly opts: MemoryReducerOptions) {
    this.committed = opts.heapCommitted ?? (() => getHeapStatistics().total_heap_size);
    this.used = opts.heapUsed ?? (() => getHeapStatistics().used_heap_size);
    this.gcQuiet = opts.gcQuietForMs ?? (() => performance.now() - this.lastGcEnd);
    this.young = opts.youngCommitted ?? (() => getHeapSpaceStatistics().find((x) => x.space_name === 'new_space')?.space_size ?? 0);
    this.baseline = this.committed();
  }

  start(): void {
    if (!this.opts.gc) return;
    this.timer = setInterval(() => this.check(), this.opts.checkEveryMs ?? CHECK_EVERY_MS);
    this.timer.unref();
    // Each collection V8 makes puts the next look GC_QUIET_MS after it: an idle daemon, which
    // makes none, is not woken; a burst's last collection is followed by a look when one can pay.
    this.observer = new PerformanceObserver((list) => {
      for (const e of list.getEntries()) {
        this.lastGcEnd = Math.max(this.lastGcEnd, e.startTime + e.duration);
        this.seen++;
      }
      this.usedAfterGc = this.used();
      this.gcSeen();
    });
    this.observer.observe({ entryTypes: ['gc'] });
  }

  /** V8's collections seen since start(). */
  get gcsSeen(): number {
    return this.seen;
  }

  /** V8 collected: look again once it has not for gcQuietMs, and see a second after whether the
   *  burst that grew the heap is over (nudge()). */
  private gcSeen(): void {
    clearTimeout(this.afterGc);
    this.afterGc = setTimeout(() => this.check(), (this.opts.gcQuietMs ?? GC_QUIET_MS) + 50);
    this.afterGc.unref();
    clearTimeout(this.nudgeTimer);
    this.nudgeTimer = setTimeout(() => this.nudge(), NUDGE_MS);
    this.nudgeTimer.unref();
  }

  /** A second without a pass or a collection after the heap grew: the burst is over. If it left
   *  much allocated since V8's last collection, a young-generation one now, so that the look
   *  GC_QUIET_MS later can give the pages back (~6 s after the burst instead of ~11). */
  private nudge(): void {
    const gc = this.opts.gc;
    if (!gc || this.settling) return;
    if (!this.grown(this.committed())) return;
    const since = this.gcQuiet();
    if (since < NUDGE_MS) return; // a collection since: the observer armed the next nudge
    if (this.opts.quietForMs() < NUDGE_MS) {
      // Still passes (replicas reported running), without a collection: a second later.
      this.nudgeTimer = setTimeout(() => this.nudge(), NUDGE_MS);
      this.nudgeTimer.unref();
      return;
    }
    if (this.allocatedSinceGc(since)) gc({ type: 'minor', execution: 'sync' });
  }

  close(): void {
    clearInterval(this.timer);
    clearTimeout(this.again);
    clearTimeout(this.afterGc);
    clearTimeout(this.nudgeTimer);
    this.observer?.disconnect();
  }

  /** One look: collect if the heap grew enough and the daemon is quiet. True when it collected. */
  check(): boolean {
    const gc = this.opts.gc;
    if (!gc) return false;
    const committed = this.committed();
    if (this.settling && !this.retried && committed - this.used() >= MIN_GROWTH_BYTES) {
      // The collections left their pages committed. It happened in 4 of 11 starts of 1000 (58 →
      // 56 MiB instead of 58 → 25: RSS 100 instead of 70 MiB for as long as the daemon idled) and
      // in 2 of 4 of 5000 when the look came at a fixed tick: the allocation since V8's last
      // collection was not yet low enough for it to shrink the young generation (GC_QUIET_MS).
      // Asked once more, they gave them back (48 → 17 MiB, RSS 72). Once quiet again; once per
      // burst.
      if (!this.quiet(gc)) return false;
      this.retried = true;
      return this.collect(gc, committed);
    }
    if (this.settling || committed < this.baseline) {
      // What the collections left (the second is over by now), or V8 gave back on its own.
      this.settling = false;
      this.retried = false;
      this.baseline = committed;
      return false;
    }
    if (!this.grown(committed) || !this.quiet(gc)) return false;
    return this.collect(gc, committed);
  }

  /** The heap grew well past what the last collection left, or a burst grew the young generation
   *  (once: again only after V8 was seen to shrink it, so that a young generation V8 keeps large
   *  does not bring a collection at every look). */
  private grown(committed: number): boolean {
    const grown = committed - this.baseline;
    if (grown >= MIN_GROWTH_BYTES && grown >= this.baseline / 2) return true;
    if (this.young() < YOUNG_GROWN_BYTES) {
      this.youngArmed = true;
      return false;
    }
    return this.youngArmed;
  }

  /** No reconcile pass for QUIET_MS; no collection by V8 for GC_QUIET_MS, and little allocated
   *  since its last one. If much was: a young-generation collection, and the look comes again
   *  GC_QUIET_MS after it (the observer sees it). */
  private quiet(gc: Gc): boolean {
    const since = this.gcQuiet();
    if (this.opts.quietForMs() < QUIET_MS || since < (this.opts.gcQuietMs ?? GC_QUIET_MS)) return false;
    if (!this.allocatedSinceGc(since)) return true;
    gc({ type: 'minor', execution: 'sync' });
    return false;
  }

  /** More allocated since V8's last collection (seen `since` ms ago) than V8 lets shrink the young
   *  generation; false before the observer saw any. */
  private allocatedSinceGc(since: number): boolean {
    return this.usedAfterGc !== undefined && (this.used() - this.usedAfterGc) / since >= LOW_ALLOCATION_BYTES_PER_MS;
  }

  private collect(gc: Gc, committed: number): boolean {
    this.youngArmed = false;
    const t0 = performance.now();
    gc();
    this.opts.onCollected?.(committed, this.committed(), performance.now() - t0);
    // The pages it freed stay mapped while the daemon idles (RSS 208 → 155 MiB at 5000 replicas,
    // no lower; two collections in a row: 140; a second synchronous one a second later: 135). The
    // same collection a second later from a task of V8's (`execution: 'async'`, with no JavaScript
    // on the stack; atomic too, 32 ms at 5000 in `--trace-gc`) unmaps them: 92 MiB.
    clearTimeout(this.again);
    this.again = setTimeout(() => gc({ type: 'major', execution: 'async' }), AGAIN_AFTER_MS);
    this.again.unref();
    this.settling = true;
    return true;
  }
}
