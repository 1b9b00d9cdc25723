// Gives back the memory a burst of work left behind, once the daemon is quiet again.
//
// A cold start of 5000 replicas allocates far more than it keeps (events, state snapshots, spawn
// requests), and V8 collects its old generation only when that generation reaches a limit that
// grew during the burst. An idle daemon never reaches it: measured at 5000 replicas, 93 MB of heap
// in use for 32 MB live, RSS 172 MiB, for as long as it stayed idle (at 1000: 116 MiB for 28 MB
// live). V8's own memory reducer only runs after a full collection that the burst never
// triggered. So: every CHECK_EVERY_MS, if the heap V8 holds (committed, garbage and free pages
// alike) grew well past what the last collection left, and the loop has done no reconcile pass
// for a while, a full collection, then an incremental one that returns the pages (see check()):
// at 5000 replicas RSS 200 → 92 MiB, for ~0.2 s of CPU once.

import { getHeapStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/** V8's `gc`: a full collection, at once (no argument) or as incremental marking on the loop. */
export type Gc = (options?: { type: 'major'; execution: 'sync' | 'async' }) => void;

export interface MemoryReducerOptions {
  /** V8's collector, or undefined where this Node has none to give (the reducer does nothing). */
  gc: Gc | undefined;
  /** Milliseconds since the daemon last did work; a busy daemon is left alone. */
  quietForMs: () => number;
  /** Bytes of heap V8 holds now (committed: live, garbage and free pages). */
  heapCommitted?: () => number;
  /** Bytes of that heap in use (live, and garbage not yet collected). */
  heapUsed?: () => number;
  checkEveryMs?: number;
  onCollected?: (before: number, after: number, ms: number) => void;
}

const CHECK_EVERY_MS = 10_000;
/** Quiet for this long: the burst is over (a cold start's passes come every few milliseconds). */
const QUIET_MS = 5_000;
/** Grown past what the last collection left by at least this much, and by half of it. */
const MIN_GROWTH_BYTES = 32 * 1024 * 1024;
const AGAIN_AFTER_MS = 1000;

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
    this.baseline = this.committed();
  }

  start(): void {
    if (!this.opts.gc) return;
    this.timer = setInterval(() => this.check(), this.opts.checkEveryMs ?? CHECK_EVERY_MS);
    this.timer.unref();
  }

  close(): void {
    clearInterval(this.timer);
    clearTimeout(this.again);
  }

  /** One look: collect if the heap grew enough and the daemon is quiet. True when it collected. */
  check(): boolean {
    const gc = this.opts.gc;
    if (!gc) return false;
    const committed = this.committed();
    if (this.settling && !this.retried && committed - this.used() >= MIN_GROWTH_BYTES) {
      // The collections left their pages committed. It happens now and then (at 1000 replicas
      // 58 → 56 MiB instead of 58 → 25: RSS 100 instead of 70 MiB for as long as the daemon
      // idled, in 4 of 11 starts here), presumably when V8 had begun marking on its own. Asked
      // once more, they gave them back (48 → 17 MiB, RSS 72). Once quiet again; once per burst.
      if (this.opts.quietForMs() < QUIET_MS) return false;
      this.retried = true;
      return this.collect(gc, committed);
    }
    if (this.settling || committed < this.baseline) {
      // What the collections left (the incremental one is over by now), or V8 gave back on its own.
      this.settling = false;
      this.retried = false;
      this.baseline = committed;
      return false;
    }
    const grown = committed - this.baseline;
    if (grown < MIN_GROWTH_BYTES || grown < this.baseline / 2 || this.opts.quietForMs() < QUIET_MS) return false;
    return this.collect(gc, committed);
  }

  private collect(gc: Gc, committed: number): boolean {
    const t0 = performance.now();
    gc();
    this.opts.onCollected?.(committed, this.committed(), performance.now() - t0);
    // The pages it freed stay mapped while the daemon idles (RSS 208 → 155 MiB at 5000 replicas,
    // no lower; two collections in a row: 140; a second synchronous one a second later: 135). An
    // incremental one, which V8 runs in steps on the loop as it would its own, unmaps them: 92 MiB.
    clearTimeout(this.again);
    this.again = setTimeout(() => gc({ type: 'major', execution: 'async' }), AGAIN_AFTER_MS);
    this.again.unref();
    this.settling = true;
    return true;
  }
}
