// Gives back the memory a burst of work left behind, once the daemon is quiet again.
//
// A cold start of 5000 replicas allocates far more than it keeps (events, state snapshots, spawn
// requests), and V8 collects its old generation only when that generation reaches a limit that
// grew during the burst. An idle daemon never reaches it: measured at 5000 replicas, 93 MB of heap
// in use for 32 MB live, RSS 172 MiB, for as long as it stayed idle (at 1000: 116 MiB for 28 MB
// live). V8's own memory reducer only runs after a full collection that the burst never
// triggered. So: once the heap V8 holds (committed: live, garbage and free pages alike) grew well
// past what the last collection left, and V8 has not collected for half a second, and the loop
// has done no reconcile pass for half a second after a burst (passes without a break for 2 s or
// more) or for 5 s after shorter work (an edit, a crash), a full collection; then a train of
// young-generation ones that makes V8 give back the young generation the burst grew
// (shrinkYoung()); then a second full collection, which gives back the pages the first one freed.
// At 5000 replicas: RSS ~180 → ~106 MiB, done ~1 s after the burst, for 65–125 ms of pauses
// (bench/FINDINGS.md §14).

import { PerformanceObserver } from 'node:perf_hooks';
import { runInNewContext } from 'node:vm';
import { nodeV8 } from './builtins.js';

/** V8's `gc`: a full collection (no argument) or a young-generation one. Only these two: on Node
 *  20 `gc({type: 'major'})` is a young-generation collection too (bench/FINDINGS.md §14). */
export type Gc = (options?: { type: 'minor'; execution: 'sync' }) => void;

export interface MemoryReducerOptions {
  /** V8's collector, or undefined where this Node has none to give (the reducer does nothing). */
  gc: Gc | undefined;
  /** Milliseconds since the daemon last did work (a reconcile pass); a busy daemon is left alone. */
  quietForMs: () => number;
  /** How long the daemon's last stretch of work lasted (ms): only after a long one (a burst) does
   *  the collection come NUDGE_MS after it; after a short one (an edit, a crash), QUIET_MS. */
  lastBusyMs?: () => number;
  /** Bytes of heap V8 holds now (committed: live, garbage and free pages). */
  heapCommitted?: () => number;
  /** Bytes V8 holds for its young generation (new space). */
  youngCommitted?: () => number;
  /** Milliseconds since V8's last collection ended (default: watched with a PerformanceObserver). */
  gcQuietForMs?: () => number;
  /** Milliseconds between the young-generation collections of the train (default SHRINK_GAP_MS). */
  shrinkGapMs?: number;
  onCollected?: (c: Collected) => void;
}

/** What one collection after a burst did: the heap V8 held before and after, the full
 *  collections' pause, and the train's young-generation collections and the young generation
 *  before and after them. */
export interface Collected {
  committedBefore: number;
  committedAfter: number;
  pauseMs: number;
  trainSteps: number;
  youngBefore: number;
  youngAfter: number;
  /** A pass came before the second full collection, which was left to the next quiet look. */
  interrupted: boolean;
}

/** The safety net's cadence: a burst whose end the nudge missed is looked at within this. */
const CHECK_EVERY_MS = 10_000;
/** Without a burst before it, a collection comes only after this long without a reconcile pass:
 *  edits a second apart at 5000 replicas, each followed by status reads that grew the young
 *  generation again, had one collection (88 ms of pauses) land on an edit (bench/FINDINGS.md §14). */
const QUIET_MS = 5_000;
/** Work that lasted this long without a break (BUSY_GAP_MS in the controller) was a burst. */
const BURST_MS = 2_000;
/** This long without a pass and without a collection by V8 after the heap grew: the burst is over
 *  (a cold start's passes and collections come every few milliseconds). Short, so that the
 *  collections are over before the daemon is looked at idle: the bench's idle window starts 2 s
 *  after `tend status` says converged. */
const NUDGE_MS = 500;
/** Grown past what the last collection left by at least this much, and by half of it. */
const MIN_GROWTH_BYTES = 32 * 1024 * 1024;
/** A young generation this large was grown by a burst (it starts at 1 MiB, and idles empty): at
 *  1000 replicas 32 MiB of it stayed committed (RSS 110 MiB) while the whole heap had grown by
 *  31 MiB, under MIN_GROWTH_BYTES. */
const YOUNG_GROWN_BYTES = 16 * 1024 * 1024;
/** V8 shrinks its young generation after a collection only when the allocation rate it measured
 *  is low (Heap::ReduceNewSpaceSize: under 1000 bytes/ms), and it measures that rate over its last
 *  ten collections, or the last 5 s if those span more (GCTracer's ring buffers). After a burst,
 *  those ten are the burst's: megabytes each, and the rate stays high for 10–15 s of idle. So the
 *  train: young-generation collections (~0.7 ms each at 5000 replicas) this far apart, each of
 *  which pushes one of the burst's out. With the observer off an idle daemon allocates ~3 KB
 *  between two (~300 bytes/ms), and V8 gives the young generation back after 12–13 of them
 *  (32 → 1 MiB at 5000 replicas, in ~150 ms). With the observer on and 5 ms apart, ~11 KB
 *  between two (~1900 bytes/ms): V8 kept it through 40 (bench/FINDINGS.md §14). */
const SHRINK_GAP_MS = 10;
/** The train gives up after this many: the daemon is allocating again. */
const SHRINK_STEPS = 25;
/** Without a train, the second full collection waits this long for the first one's sweeping. */
const SWEEP_MS = 250;

/** V8's full collection, which Node exposes only to `--expose-gc`: the flag can be set at run time,
 *  and a new context created after that has `gc` as a global. Undefined if that fails. */
export function exposeGc(): Gc | undefined {
  try {
    nodeV8().setFlagsFromString('--expose-gc');
    const gc: unknown = runInNewContext('gc');
    return typeof gc === 'function' ? (gc as Gc) : undefined;
  } catch {
    return undefined;
  } finally {
    // Only that context's `gc`: nothing else the daemon creates later should see the flag.
    nodeV8().setFlagsFromString('--no-expose-gc');
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
  private nudgeTimer?: NodeJS.Timeout;
  private shrinkTimer?: NodeJS.Timeout;
  private observer?: PerformanceObserver;
  private lastGcEnd = -Infinity;
  private seen = 0;
  private readonly gcQuiet: () => number;
  private readonly young: () => number;
  private readonly committed: () => number;
  /** The committed heap after the last collection (or at start). */
  private baseline: number;
  /** A young generation of YOUNG_GROWN_BYTES or more brings a collection only when armed: not
   *  again until a pass did work after the last one (see grown()). */
  private youngArmed = true;
  /** performance.now() of the last collection asked for. */
  private collectedAt = -Infinity;
  /** The train is running: the observer is off and no other collection is asked for. */
  private shrinking = false;
  /** The last collection left its work half done: V8 kept the young generation through the train
   *  (the daemon allocated during it), or the daemon got busy before the second full collection.
   *  The next quiet look asks once more. */
  private unfinished?: 'young' | 'interrupted';

  constructor(private readonly opts: MemoryReducerOptions) {
    // V8's total_heap_size, as process.memoryUsage() reads it: node:v8 is loaded later, if at all.
    this.committed = opts.heapCommitted ?? (() => process.memoryUsage().heapTotal);
    this.gcQuiet = opts.gcQuietForMs ?? (() => performance.now() - this.lastGcEnd);
    this.young = opts.youngCommitted ?? (() => nodeV8().getHeapSpaceStatistics().find((x) => x.space_name === 'new_space')?.space_size ?? 0);
    this.baseline = this.committed();
  }

  start(): void {
    if (!this.opts.gc) return;
    this.timer = setInterval(() => this.check(), CHECK_EVERY_MS);
    this.timer.unref();
    this.observe();
  }

  /** Each collection V8 makes puts a look NUDGE_MS after it: an idle daemon, which makes none, is
   *  not woken; a burst's last collection is followed by a look half a second later. */
  private observe(): void {
    this.observer ??= new PerformanceObserver((list) => {
      for (const e of list.getEntries()) {
        this.lastGcEnd = Math.max(this.lastGcEnd, e.startTime + e.duration);
        this.seen++;
      }
      clearTimeout(this.nudgeTimer);
      this.nudgeTimer = setTimeout(() => this.nudge(), NUDGE_MS);
      this.nudgeTimer.unref();
    });
    this.observer.observe({ entryTypes: ['gc'] });
  }

  /** V8's collections seen since start() (the train's own are not watched). */
  get gcsSeen(): number {
    return this.seen;
  }

  /** Half a second after V8's last collection: if the heap grew and the daemon has been quiet
   *  long enough (NUDGE_MS after a burst, QUIET_MS after shorter work), collect. */
  private nudge(): void {
    const gc = this.opts.gc;
    if (!gc || this.shrinking) return;
    const committed = this.committed();
    this.notePass();
    if (!this.grown(committed)) return;
    if (this.gcQuiet() < NUDGE_MS) return; // a collection since: the observer armed the next nudge
    const quiet = this.opts.quietForMs();
    const needed = (this.opts.lastBusyMs?.() ?? 0) >= BURST_MS ? NUDGE_MS : QUIET_MS;
    if (quiet < needed) {
      // Still passes (replicas reported running), without a collection: look again then.
      this.nudgeTimer = setTimeout(() => this.nudge(), needed - quiet);
      this.nudgeTimer.unref();
      return;
    }
    this.collect(gc, committed);
  }

  close(): void {
    clearInterval(this.timer);
    clearTimeout(this.nudgeTimer);
    clearTimeout(this.shrinkTimer);
    this.shrinking = false;
    this.observer?.disconnect();
  }

  /** The safety net's look: collect if the heap grew enough and the daemon has been quiet for
   *  QUIET_MS. True when it collected. */
  check(): boolean {
    const gc = this.opts.gc;
    if (!gc || this.shrinking) return false;
    const committed = this.committed();
    if (committed < this.baseline) this.baseline = committed; // V8 gave back on its own
    this.notePass();
    const quiet = this.opts.quietForMs() >= QUIET_MS && this.gcQuiet() >= NUDGE_MS;
    if (this.unfinished) {
      // Asked once more when quiet; if that is left half done too, it stays until the next burst.
      if (!quiet) return false;
      const why = this.unfinished;
      this.unfinished = undefined;
      if (why === 'young' && this.young() < YOUNG_GROWN_BYTES) return false; // V8 gave it back since
      return this.collect(gc, committed, true);
    }
    if (!quiet || !this.grown(committed)) return false;
    return this.collect(gc, committed);
  }

  /** The heap grew well past what the last collection left, or a burst grew the young
   *  generation. The second only once per burst: a status read at 5000 replicas can grow the
   *  young generation again, and it would bring a collection every few reads; so it is armed
   *  again only once a pass has run since the last collection. */
  private grown(committed: number): boolean {
    const grown = committed - this.baseline;
    if (grown >= MIN_GROWTH_BYTES && grown >= this.baseline / 2) return true;
    return this.youngArmed && this.young() >= YOUNG_GROWN_BYTES;
  }

  /** A pass ran since the last collection: the young generation's rule is armed again. */
  private notePass(): void {
    if (!this.youngArmed && this.opts.quietForMs() < performance.now() - this.collectedAt) this.youngArmed = true;
  }

  /** The full collection, the train, the second full collection. A retry (`again`) that leaves
   *  the young generation large too is not retried. */
  private collect(gc: Gc, committed: number, again = false): boolean {
    this.youngArmed = false;
    const t0 = (this.collectedAt = performance.now());
    gc();
    const firstMs = performance.now() - t0;
    this.shrinking = true;
    this.observer?.disconnect();
    this.shrinkYoung(gc, (steps, youngBefore, youngAfter, interrupted) => {
      // The first collection freed the burst's garbage, but the pages it lay on stay committed and
      // resident (at 5000 replicas RSS 182 MiB after it, 133 after the train, for as long as the
      // daemon idled, or until V8's own memory reducer collected ~35 s later, in the middle of an
      // idle window). A second one, now that the first's sweeping is over, gives them back:
      // 107 → 44 MiB committed, RSS 106 (bench/FINDINGS.md §14). Not if the daemon is busy again:
      // that pause would land on its work; the next quiet look finishes the job.
      let pauseMs = firstMs;
      if (!interrupted) {
        const t1 = performance.now();
        gc();
        pauseMs += performance.now() - t1;
      }
      const after = this.committed();
      this.shrinking = false;
      this.unfinished = again ? undefined : interrupted ? 'interrupted' : youngAfter >= YOUNG_GROWN_BYTES ? 'young' : undefined;
      this.baseline = after;
      this.observe();
      this.opts.onCollected?.({ committedBefore: committed, committedAfter: after, pauseMs, trainSteps: steps, youngBefore, youngAfter, interrupted });
    });
    return true;
  }

  /** The full collection left the young generation as large as the burst grew it (V8 found the
   *  allocation rate high: the burst's): a train of young-generation collections SHRINK_GAP_MS
   *  apart until V8 gives it back (see SHRINK_GAP_MS). The observer is off meanwhile: its entries
   *  are allocation too, and the train's collections are not V8's own. A young generation that
   *  did not grow gets no train, only the wait the first collection's sweeping needs. A pass
   *  (the daemon busy again) ends the train. */
  private shrinkYoung(gc: Gc, then: (steps: number, youngBefore: number, youngAfter: number, interrupted: boolean) => void): void {
    const gap = this.opts.shrinkGapMs ?? SHRINK_GAP_MS;
    const before = this.young();
    let steps = 0;
    const step = () => {
      const young = this.young();
      const busy = this.opts.quietForMs() < performance.now() - this.collectedAt;
      if (busy) return then(steps, before, young, true);
      const over = young < YOUNG_GROWN_BYTES || young < before || steps >= SHRINK_STEPS;
      if (over && (steps > 0 || performance.now() - this.collectedAt >= SWEEP_MS)) return then(steps, before, young, false);
      if (!over) {
        steps++;
        gc({ type: 'minor', execution: 'sync' });
      }
      this.shrinkTimer = setTimeout(step, over ? SWEEP_MS : gap);
      this.shrinkTimer.unref();
    };
    step();
  }
}
