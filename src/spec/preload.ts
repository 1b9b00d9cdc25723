// A read of the spec tree started before the settle window closes, used when it closes if nothing
// moved meanwhile. The window exists for what may still be written (a `git checkout` mid-way); a
// read that started after the last event and saw no event since is the read the end of the window
// would make, so making it earlier takes the read, parse and validation (2–8 ms for one file
// beside 5000 replicas, more for a deployment of many files) off the edit's latency
// (bench/FINDINGS.md §15).
//
// The watcher decides when (SpecWatcher's onQuiet: quiet for as long as a read needs to see every
// change it reported) and numbers its events (a generation): a preload is taken only for the same
// generation, and only by a reload from the same previous load (the reload diffs against it).

import type { SpecSource } from './source.js';
import type { LoadResult } from './types.js';

/** A load made ahead of the reload that may use it. */
export interface Preloaded {
  /** The load it was made from: the reload uses it only if its own previous load is this one. */
  previous: LoadResult | undefined;
  result: Promise<LoadResult>;
}

export class SpecPreload {
  private pending?: Preloaded & { generation: number };
  private inFlight = false;

  constructor(private readonly source: SpecSource) {}

  /** Reads the tree now, for the window of watcher generation `generation`. One read at a time: a
   *  tree so large that the last one is still going is read when the window closes. */
  start(generation: number, previous: LoadResult | undefined): void {
    if (this.inFlight) return;
    this.inFlight = true;
    const result = this.source.load(previous);
    // Handled here too: a preload nobody takes must not end the daemon as an unhandled rejection.
    result.catch(() => undefined).finally(() => (this.inFlight = false));
    this.pending = { generation, previous, result };
  }

  /** The preload of this generation's window, if one was made (and forgets it either way). */
  take(generation: number): Preloaded | undefined {
    const p = this.pending;
    this.pending = undefined;
    return p !== undefined && p.generation === generation ? { previous: p.previous, result: p.result } : undefined;
  }
}
