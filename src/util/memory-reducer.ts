// Gives back the memory a burst of work left behind, once the daemon is quiet again.
//
// A cold start of 5000 replicas allocates far more than it keeps (events, state snapshots, spawn
// requests), and V8 collects its old generation only when that generation reaches a limit that
// grew during the burst. An idle daemon never reaches it: measured at 5000 replicas, 93 MB of heap
// in use for 32 MB live, RSS 172 MiB, for as long as it stayed idle. V8's own memory reducer only
// runs after a full collection that the burst never triggered. So: every CHECK_EVERY_MS, if the
// heap grew well past what the last collection left and the loop has done no reconcile pass for a
// while, a full collection, then an incremental one that returns the pages (see check()): 35 ms
// at 5000 replicas, RSS 200 → 92 MiB.

import { getHeapStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/** V8's `gc`: a full collection, at once (no argument) or as incremental marking on the loop. */
export type Gc = (options?: { type: 'major'; execution: 'sync' | 'async' }) => void;

export interface MemoryReducerOptions {
  /** V8's collector, or undefined where this Node has none to give (the reducer does nothing). */
  gc: Gc | undefined;
  /** Milliseconds since the daemon last did work; a busy daemon is left alone. */
  quietForMs: () => number;
  /** Bytes of heap in use now. */
  heapUsed?: () => number;
  checkEveryMs?: number;
  onCollected?: (before: number, after: number, ms: number) => void;
}

const CHECK_EVERY_MS = 10_000;
/** Quiet for this long: the burst is over (a cold start's passes come every few milliseconds). */
const QUIET_MS = 5_000;
/** Grown past the last collection's heap by at least this much, and by half of it. */
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

export class MemoryReducer {
  private timer?: NodeJS.Timeout;
  private again?: NodeJS.Timeout;
  private readonly heapUsed: () => number;
  /** Heap in use after the last collection (or at start). */
  private baseline: number;

  constructor(private readonly opts: MemoryReducerOptions) {
    this.heapUsed = opts.heapUsed ?? (() => getHeapStatistics().used_heap_size);
    this.baseline = this.heapUsed();
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
    const used = this.heapUsed();
    if (used < this.baseline) this.baseline = used; // V8 collected on its own
    const grown = used - this.baseline;
    if (grown < MIN_GROWTH_BYTES || grown < this.baseline / 2 || this.opts.quietForMs() < QUIET_MS) return false;
    const t0 = performance.now();
    gc();
    this.baseline = this.heapUsed();
    this.opts.onCollected?.(used, this.baseline, performance.now() - t0);
    // The pages it freed stay mapped while the daemon idles (RSS 208 → 155 MiB at 5000 replicas,
    // no lower; two collections in a row: 140; a second synchronous one a second later: 135). An
    // incremental one, which V8 runs in steps on the loop as it would its own, unmaps them: 92 MiB.
    clearTimeout(this.again);
    this.again = setTimeout(() => gc({ type: 'major', execution: 'async' }), AGAIN_AFTER_MS);
    this.again.unref();
    return true;
  }
}
