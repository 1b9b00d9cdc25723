// Keeps each replica log within its `logs.max_size` promptly, and records when its bytes arrived.
//
// Children write straight to their log (O_APPEND, no byte through the daemon), so tend never sees a
// write. It watches each log directory instead (inotify through fs.watch: nothing is added to the
// child's write path, and an idle file costs nothing). The first change after a quiet spell is checked at
// once; further changes within CHECK_MS are checked once at the end of that window. A check is one
// stat: the size is recorded in the time index, and a file at or over max_size is rotated.
//
// Overshoot bound: a file is rotated within CHECK_MS (+ the copy) of crossing max_size, so it can
// exceed it by what the child writes in that time (e.g. ~1 MiB at 10 MiB/s with CHECK_MS = 100).
// A sweep every SWEEP_MS checks the files of a directory whose watch could not be set up (inotify
// limits, a directory not created yet) and tries the watch again.

import { mkdirSync, statSync, watch, type FSWatcher, type Stats } from 'node:fs';
import { dirname, join } from 'node:path';
import type { LogsSpec } from '../spec/types.js';
import { logBook, type LogBook } from './log-book.js';
import { appendRecords, type IndexRecord } from './log-index.js';
import { rotateIfNeeded } from './logs.js';

export const CHECK_MS = 100;
const SWEEP_MS = 1000;
/** Index records are buffered and appended at most this often per file. */
const INDEX_FLUSH_MS = 1000;

interface Tracked {
  spec: LogsSpec;
  /** Set while a check is pending at the end of the current window. */
  timer?: NodeJS.Timeout;
  lastSize: number;
  rotating: boolean;
  pending: IndexRecord[];
  /** Records were appended to its index (or the log had bytes when first tracked). */
  indexed: boolean;
  /** Untracked: forgotten at the end of the window unless a new run takes the path again. */
  leaving?: boolean;
}

interface WatchedDir {
  watcher?: FSWatcher;
  /** The tracked files in it. */
  paths: Set<string>;
}

export interface LogRotatorOptions {
  book?: LogBook;
  checkMs?: number;
  onError?: (path: string, err: unknown) => void;
}

export class LogRotator {
  private readonly files = new Map<string, Tracked>();
  /** One inotify watch per log directory (a service's), not per file: a spawn adds no watch and
   *  10,000 replicas of one service take one watch, not 10,000 of the user's inotify limit. */
  private readonly dirs = new Map<string, WatchedDir>();
  private readonly book: LogBook;
  private readonly checkMs: number;
  private readonly sweep: NodeJS.Timeout;
  private readonly flusher: NodeJS.Timeout;
  /** Paths with index records the flusher may write: it visits these, not every tracked log (a
   *  quiet replica's run mark waits in memory, and 5000 of them were visited every second). */
  private readonly dirty = new Set<string>();
  /** Untracked paths waiting for the end of their window (see untrack). */
  private readonly leaving = new Set<string>();
  private leavingTimer?: NodeJS.Timeout;

  constructor(private readonly opts: LogRotatorOptions = {}) {
    this.book = opts.book ?? logBook;
    this.checkMs = opts.checkMs ?? CHECK_MS;
    this.sweep = setInterval(() => {
      for (const [dir, d] of this.dirs) {
        if (d.watcher) continue;
        this.watchDir(dir, d);
        for (const path of d.paths) this.check(path);
      }
    }, SWEEP_MS);
    this.flusher = setInterval(() => this.flushAll(), INDEX_FLUSH_MS);
    this.sweep.unref();
    this.flusher.unref();
  }

  /** Watches `path` (idempotent; a later call updates the limits): an adopted replica's log. */
  track(path: string, spec: LogsSpec): void {
    const st = statOf(path);
    const f = this.entry(path, spec, st?.size ?? 0);
    f.spec = spec;
    if (st) this.check(path, st);
  }

  /** Before the spawn of a new run: the directory exists and is watched from the child's first
   *  byte. Where the run starts in the file comes after the spawn (runStarted), from the runtime
   *  that opened it: no stat here, and no race between a stat and the fork. */
  prepareRun(path: string, spec: LogsSpec): void {
    if (!this.dirs.get(dirname(path))?.watcher) ensureDir(dirname(path));
    this.entry(path, spec, 0).spec = spec;
  }

  /** The new run's output starts at `offset` (the log's size when the runtime opened it, before the
   *  fork): the separator `tend logs` shows, and a size check. */
  runStarted(path: string, offset: number): void {
    const f = this.files.get(path);
    if (!f) return;
    const now = Date.now();
    // In memory at once for this daemon's readers; on disk with the next flush (≤ 1 s), not with
    // an append per spawn. A crash of tend in between loses only that run's separator.
    this.book.markRun(path, offset, now);
    f.pending.push({ kind: 'r', offset, at: now });
    this.dirty.add(path);
    if (offset > f.lastSize) f.lastSize = offset;
    if (f.spec.maxSizeBytes > 0 && offset >= f.spec.maxSizeBytes && !f.rotating) this.check(path);
  }

  private entry(path: string, spec: LogsSpec, size: number): Tracked {
    let f = this.files.get(path);
    if (f?.leaving) {
      // Its slot is back (a scale down and up again): watched as before.
      f.leaving = false;
      this.leaving.delete(path);
    }
    if (!f) {
      f = { spec, lastSize: size, rotating: false, pending: [], indexed: size > 0 };
      this.files.set(path, f);
      this.watch(path);
    }
    return f;
  }

  /** Writes `path`'s pending index records now: a reader of the history on disk (`tend logs`) must
   *  see a run that began a moment ago, not wait for the next flush. */
  flushIndex(path: string): void {
    const f = this.files.get(path);
    if (!f || f.rotating) return;
    this.check(path); // bytes the watcher has not reported yet
    this.flush(path, f);
  }

  /** Stops watching `path` (its slot is gone); the file stays. Bytes its last run wrote are
   *  still reported by the directory's watch, so with a watch in place the path is forgotten at the
   *  end of a window (the events read meanwhile are checked as usual), without a stat of its own:
   *  at 5000 replicas those stats took 75 ms of `tend down`'s ~1 s. */
  untrack(path: string): void {
    const f = this.files.get(path);
    if (!f || f.leaving) return;
    if (!this.dirs.get(dirname(path))?.watcher) return this.forget(path, f, true);
    f.leaving = true;
    this.leaving.add(path);
    this.leavingTimer ??= setTimeout(() => {
      // After the loop's next poll for I/O, which reads any inotify event still queued (a timer
      // that fires late comes before that poll in the same turn).
      setImmediate(() => {
        this.leavingTimer = undefined;
        for (const p of this.leaving) {
          const g = this.files.get(p);
          if (g?.leaving) this.forget(p, g, g.timer !== undefined);
        }
        this.leaving.clear();
      });
    }, this.checkMs);
    this.leavingTimer.unref(); // never what keeps tend running (close() finishes the rest)
  }

  /** Untracks every path not in `keep`. */
  retain(keep: ReadonlySet<string>): void {
    for (const path of [...this.files.keys()]) if (!keep.has(path)) this.untrack(path);
  }

  close(): void {
    clearInterval(this.sweep);
    clearInterval(this.flusher);
    clearTimeout(this.leavingTimer);
    this.leavingTimer = undefined;
    this.leaving.clear();
    // The daemon is exiting: nothing comes after this to report the last bytes.
    for (const [path, f] of [...this.files]) this.forget(path, f, true);
  }

  /** Done with `path`: its last size checked (`stat`: when no event may report it), its index
   *  records written. */
  private forget(path: string, f: Tracked, stat: boolean): void {
    if (stat) this.check(path);
    this.flush(path, f, true);
    this.unwatch(path);
    clearTimeout(f.timer);
    this.files.delete(path);
    this.dirty.delete(path);
  }

  private watch(path: string): void {
    const dir = dirname(path);
    let d = this.dirs.get(dir);
    if (!d) {
      d = { paths: new Set() };
      this.dirs.set(dir, d);
    }
    d.paths.add(path);
    if (!d.watcher) this.watchDir(dir, d);
  }

  private watchDir(dir: string, d: WatchedDir): void {
    try {
      const w = watch(dir, { persistent: false }, (_event, name) => {
        // No name (some kernels, overflow): any tracked file may have changed.
        if (name === null) for (const p of d.paths) this.changed(p);
        else {
          const path = join(dir, name.toString());
          if (d.paths.has(path)) this.changed(path);
        }
      });
      w.on('error', () => {
        w.close();
        if (d.watcher === w) delete d.watcher; // the sweep checks its files and watches again
      });
      d.watcher = w;
    } catch {
      // Not created yet, or no inotify watch left: the sweep checks its files and retries.
    }
  }

  private unwatch(path: string): void {
    const dir = dirname(path);
    const d = this.dirs.get(dir);
    if (!d) return;
    d.paths.delete(path);
    if (d.paths.size > 0) return;
    d.watcher?.close();
    this.dirs.delete(dir);
  }

  // The first change in a quiet spell is checked now; the rest of the burst at the window's end.
  private changed(path: string): void {
    const f = this.files.get(path);
    if (!f || f.timer) return;
    this.check(path);
    f.timer = setTimeout(() => {
      f.timer = undefined;
      this.check(path);
    }, this.checkMs);
  }

  /** Records the file's size and rotates it when over its limit; `st` when the caller has it. */
  private check(path: string, known?: Stats): void {
    const f = this.files.get(path);
    if (!f || f.rotating) return;
    const st = known ?? statOf(path);
    if (!st) return;
    if (st.size > f.lastSize) {
      f.pending.push({ kind: 't', offset: st.size, at: Date.now() });
      this.dirty.add(path);
    }
    f.lastSize = st.size;
    if (f.spec.maxSizeBytes > 0 && st.size >= f.spec.maxSizeBytes) this.rotate(path, f);
  }

  private rotate(path: string, f: Tracked): void {
    f.rotating = true;
    // What the index knows belongs to the generation being rotated away.
    this.flush(path, f);
    rotateIfNeeded(path, f.spec.maxSizeBytes, f.spec.maxFiles, this.book)
      .catch((err: unknown) => this.opts.onError?.(path, err))
      .finally(() => {
        f.rotating = false;
        f.lastSize = 0;
        // A child writing flat out may be over the limit again already.
        if (this.files.get(path) === f) this.check(path);
      });
  }

  // With `final` (the replica is gone), what cannot wait is written or dropped.
  private flush(path: string, f: Tracked, final = false): void {
    this.dirty.delete(path); // written below, or held back until a check records bytes
    if (f.pending.length === 0) return;
    // A new replica's log that is still empty has nothing to stamp: its run mark waits in memory
    // (this daemon's readers have it from the book) until the first bytes arrive. A cold start
    // of replicas that stay quiet then creates one file per replica, not two: creating a file is
    // what a fresh start waits for on a slow disk (1000 new files took 1 s here).
    if (!f.indexed && f.lastSize === 0 && f.pending.every((r) => r.offset === 0)) {
      if (final) f.pending = []; // it never wrote a byte: no line to separate
      return;
    }
    appendRecords(path, f.pending);
    f.pending = [];
    f.indexed = true;
  }

  private flushAll(): void {
    for (const path of this.dirty) {
      const f = this.files.get(path);
      if (!f) this.dirty.delete(path);
      else if (!f.rotating) this.flush(path, f);
    }
  }
}


// A log that cannot be stat'ed (missing, or a file where its directory should be: ENOTDIR) is
// left to the runtime to report when it spawns; rotation and the index never throw into the caller.
function statOf(path: string): Stats | undefined {
  try {
    return statSync(path, { throwIfNoEntry: false });
  } catch {
    return undefined;
  }
}

function ensureDir(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true });
  } catch {
    // The runtime reports an unwritable log directory when it spawns.
  }
}
