// Gives back the memory a burst of work left behind, as soon as the burst is over.
//
// A cold start of 5000 replicas allocates far more than it keeps (events, state snapshots, spawn
// requests), and V8 collects its old generation only when that generation reaches a limit that
// grew during the burst. An idle daemon never reaches it: measured at 5000 replicas, 93 MB of heap
// in use for 32 MB live, RSS 172 MiB, for as long as it stayed idle. So: a second after V8's last
// collection, if the heap V8 holds grew well past what the last look left and the loop has done
// no reconcile pass for a second, one collection that reduces memory (reduceMemory()): at 5000
// replicas the heap goes from 121 to 32 MiB committed and RSS from ~180 to ~100 MiB, for ~0.1 s of
// CPU once, ~1.3 s after the last replica started (bench/FINDINGS.md §13).
//
// Why a second, and not later: V8's ordinary full collection gives back the young generation's
// pages (32 MiB, grown during the burst) only when it finds little allocated over the last 5 s
// (Heap::ReduceNewSpaceSize), so the collection that tend used to make came 5.5 s after V8's last
// one, and another a second later to unmap what the first freed. An idle window that began 2 s
// after the burst held both (0.6% of a core at 5000 replicas, 0.07% without them) and 4 s of the
// RSS before them. A collection made to reduce memory shrinks the young generation whatever the
// rate, and unmaps what it frees at once.

import { PerformanceObserver } from 'node:perf_hooks';
import * as v8 from 'node:v8';

export interface MemoryReducerOptions {
  /** Collects all V8 can and gives its pages back; undefined where this Node has no way (the
   *  reducer then does nothing). */
  collect: (() => void) | undefined;
  /** Milliseconds since the daemon last did work; a busy daemon is left alone. */
  quietForMs: () => number;
  /** Bytes of heap V8 holds now (committed: live, garbage and free pages). */
  heapCommitted?: () => number;
  /** Bytes V8 holds for its young generation (new space). */
  youngCommitted?: () => number;
  /** How long after V8's last collection to look (default AFTER_GC_MS). */
  afterGcMs?: number;
  checkEveryMs?: number;
  onCollected?: (before: number, after: number, ms: number) => void;
}

/** A look at this interval as well, for growth that no collection of V8's was seen to follow. */
const CHECK_EVERY_MS = 10_000;
/** A burst's reconcile passes and V8's collections come every few milliseconds: a second without
 *  either, and the burst is over. */
const AFTER_GC_MS = 1000;
const QUIET_MS = 1000;
/** Grown past what the last look left by at least this much, and by half of it. */
const MIN_GROWTH_BYTES = 32 * 1024 * 1024;
/** A young generation this large was grown by a burst (it starts at 1 MiB, and idles empty): at
 *  1000 replicas 32 MiB of it stayed committed (RSS 110 MiB) while the whole heap had grown by
 *  31 MiB, under MIN_GROWTH_BYTES. */
const YOUNG_GROWN_BYTES = 16 * 1024 * 1024;

/** Never instantiated: queryObjects() finds none, and is called for the collections it makes. */
class NoInstances {}

/**
 * V8's collection of "all available garbage", the one it makes on low memory: full collections
 * (two at least) with the flag that reduces memory, so that the young generation shrinks back to
 * its initial size and the pages freed are unmapped at once. Node exposes it only through
 * v8.queryObjects(), which makes it before it counts the objects of a class (a heap profiler's
 * answer must not count garbage): counting a class that has no instances costs a walk of the live
 * heap (a few ms) on top. Undefined where this Node has no queryObjects (before 20.13; tend wants
 * 20.19).
 */
export function reducingCollector(): (() => void) | undefined {
  const query = (v8 as { queryObjects?: typeof v8.queryObjects }).queryObjects;
  if (typeof query !== 'function') return undefined;
  return () => {
    // It is marked experimental, and says so once on stderr: the daemon's users did not ask for it.
    const emitWarning = process.emitWarning;
    process.emitWarning = () => {};
    try {
      query(NoInstances, { format: 'count' });
    } finally {
      process.emitWarning = emitWarning;
    }
  };
}

export class MemoryReducer {
  private timer?: NodeJS.Timeout;
  /** The look that comes AFTER_GC_MS after V8's last collection. */
  private afterGc?: NodeJS.Timeout;
  private observer?: PerformanceObserver;
  private seen = 0;
  private readonly committed: () => number;
  private readonly young: () => number;
  /** The young-generation rule may fire (see grown()). */
  private youngArmed = true;
  /** The committed heap after the last collection (or at start). */
  private baseline: number;

  constructor(private readonly opts: MemoryReducerOptions) {
    this.committed = opts.heapCommitted ?? (() => v8.getHeapStatistics().total_heap_size);
    this.young = opts.youngCommitted ?? (() => v8.getHeapSpaceStatistics().find((x) => x.space_name === 'new_space')?.space_size ?? 0);
    this.baseline = this.committed();
  }

  start(): void {
    if (!this.opts.collect) return;
    this.timer = setInterval(() => this.check(), this.opts.checkEveryMs ?? CHECK_EVERY_MS);
    this.timer.unref();
    // Each collection V8 makes puts the next look a second after it: an idle daemon, which makes
    // none, is not woken; the end of a burst is seen a second after its last collection.
    this.observer = new PerformanceObserver((list) => {
      this.seen += list.getEntries().length;
      this.gcSeen();
    });
    this.observer.observe({ entryTypes: ['gc'] });
  }

  /** V8's collections seen since start(). */
  get gcsSeen(): number {
    return this.seen;
  }

  /** V8 collected: look once it has not for a second (and the loop is quiet, see afterBurst()). */
  gcSeen(): void {
    clearTimeout(this.afterGc);
    this.afterGc = setTimeout(() => this.afterBurst(), this.opts.afterGcMs ?? AFTER_GC_MS);
    this.afterGc.unref();
  }

  close(): void {
    clearInterval(this.timer);
    clearTimeout(this.afterGc);
    this.observer?.disconnect();
  }

  /** One look: collect if the heap grew enough and the daemon is quiet. True when it collected. */
  check(): boolean {
    const collect = this.opts.collect;
    if (!collect) return false;
    const committed = this.committed();
    if (committed < this.baseline) this.baseline = committed; // V8 gave some back on its own
    if (!this.grown(committed) || this.opts.quietForMs() < QUIET_MS) return false;
    this.youngArmed = false;
    const t0 = performance.now();
    collect();
    this.baseline = this.committed();
    this.opts.onCollected?.(committed, this.baseline, performance.now() - t0);
    return true;
  }

  /** A second after V8's last collection. Passes still coming without a collection (replicas
   *  reporting running one by one): look again a second later, while the heap stays grown. */
  private afterBurst(): void {
    if (this.check() || this.opts.quietForMs() >= QUIET_MS || !this.grown(this.committed())) return;
    this.afterGc = setTimeout(() => this.afterBurst(), QUIET_MS);
    this.afterGc.unref();
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
}
