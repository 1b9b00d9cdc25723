// Turns file-system noise into "the spec tree may have changed, and is quiet now".
//
// `git checkout` unlinks and rewrites files one at a time, so acting on the first event would act
// on a half-switched tree. We wait for a quiet period (the settle window), with a ceiling so that
// constant churn cannot starve the loop, and while `.git/index.lock` exists in the enclosing
// repository (git is still writing) we keep waiting. The controller then re-reads the whole tree and
// compares fingerprints, so a spurious wake-up costs one read and nothing else.
//
// The directory itself is watched with one plain `fs.watch` (inotify): the files are one level
// deep, any event there asks for a reload, and the reload reads every file, so there is nothing for
// chokidar to add. It cost ~2.5 ms per event (a stat before it reports a change, after which the
// window started), and ~10 ms before the first replica (its initial scan of the directory). The
// files a spec depends on elsewhere (env files, which may not exist yet, and the targets of spec
// files that are symlinks) are watched the same way, by their directories (setExtraFiles); a
// directory that does not exist yet is looked at every POLL_MS until it does.
//
// With no inotify watch to be had (ENOSPC: `fs.inotify.max_user_watches` used up by a busy
// workstation's IDEs and file watchers), the directory and the env files are looked at every
// POLL_MS instead, and inotify is tried again at each look. Before, the daemon logged a warning at
// start and never saw an edit again (test/watch/no-inotify.test.ts).
//
// A release switched by renaming a symlink (`services.d -> releases/42/services.d`) is invisible
// to a watch on the link (it keeps watching the old target), so the link's parent is watched too
// (for renames only, see watchAround()) and the real path is resolved again on every wake-up. So is
// the parent of a symlink further up (`/srv/app/current/services.d`, `current -> releases/42`: tend
// started by a shell in `current`).

import { existsSync, readdirSync, realpathSync, statSync, watch as fsWatch, type FSWatcher as NodeFSWatcher } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { linksAbove } from '../util/path-links.js';

// The least settle window, and the quiet time before the read that starts early (onQuiet). It was
// chokidar's: it reported at most one `change` per path every 50 ms and dropped the others, so a
// read sooner after the last event could miss a write to an env file for good. inotify on the env
// files' directories drops nothing, but the edit → running figures (bench/FINDINGS.md §15) were
// measured with 60 ms and a lower value was not: kept until it is.
const MIN_SETTLE_MS = 60;

/** How often the tree is looked at while inotify cannot watch it. */
export const POLL_MS = 1000;

/** Names in the directory whose events are not about specs: a repository's or tend's own. */
const IGNORED_NAMES = new Set(['.git', '.tend']);

export interface SpecWatcherOptions {
  /** Quiet period before a change is acted on (at least 60 ms, see above). */
  settleMs?: number;
  /** Act after this long even if events keep coming. */
  maxWaitMs?: number;
  /** Give up waiting for a `.git/index.lock` that never goes away (a crashed git) after this. */
  gitLockMaxMs?: number;
  /** Called once the tree has been quiet for the settle window, with the generation of the last
   *  event (see onQuiet). */
  onSettled: (generation: number) => void;
  /** Called once the tree has been quiet for MIN_SETTLE_MS while the window is still open: a read
   *  started now sees every change reported so far (see MIN_SETTLE_MS). `generation`
   *  counts the events: the same number at onSettled means none came since (spec/preload.ts). */
  onQuiet?: (generation: number) => void;
  onError?: (err: unknown) => void;
}

/** A directory of extra files: the names in it to watch, and its watch while it has one. */
interface ExtraDir {
  names: Set<string>;
  watch?: NodeFSWatcher;
  /** Its inode when watched: another one means it was removed (and perhaps made again). */
  ino?: number;
}

export class SpecWatcher {
  /** The directory (its real path); undefined while there is none to watch. */
  private dirWatch?: NodeFSWatcher;
  /** The directories holding services.d and each symlink on the way to it (watchAround). */
  private aroundWatches?: NodeFSWatcher[];
  /** Directories holding extra files (setExtraFiles), each watched for their names. */
  private readonly extraDirs = new Map<string, ExtraDir>();
  private realDir?: string;
  /** Inode of the watched directory: a directory removed and created again is a new one to watch. */
  private realIno?: number;
  private extra = new Set<string>();
  private settleTimer?: NodeJS.Timeout;
  private quietTimer?: NodeJS.Timeout;
  /** Counts the events in the directory and its env files, and moves of the directory. */
  private generation = 0;
  /** An event in the directory itself (or an env file) since the last settle: reload then. */
  private relevant = false;
  private firstEventAt?: number;
  private lockSince?: number;
  private closed = false;
  private watching = false;
  /** The parent reported a rename of the directory's own name since the last switch. */
  private replaced = false;
  /** Looks at the tree while a watch could not be made (see the header); its last look. */
  private pollTimer?: NodeJS.Timeout;
  private lastLook = '';
  /** A watch could not be made (said once until the watches are back). */
  private unwatchable = false;
  private readonly settleMs: number;
  private readonly maxWaitMs: number;
  private readonly gitLockMaxMs: number;

  constructor(
    private readonly dir: string,
    private readonly opts: SpecWatcherOptions,
  ) {
    this.settleMs = Math.max(MIN_SETTLE_MS, opts.settleMs ?? 100);
    this.maxWaitMs = opts.maxWaitMs ?? Math.max(2000, this.settleMs * 10);
    this.gitLockMaxMs = opts.gitLockMaxMs ?? 30_000;
  }

  /** The number of the latest event (as onQuiet and onSettled give it): a read started at this
   *  number saw every change made before it. */
  get currentGeneration(): number {
    return this.generation;
  }

  /** Starts watching (once): the directory's watch is in place when this resolves. */
  async start(): Promise<void> {
    if (this.closed || this.watching) return;
    this.watching = true;
    this.watchDir();
    this.watchAround();
  }

  private watchAround(): void {
    // The parent is watched only to see the services directory (or its link) itself replaced,
    // removed or made: every such change is a rename in the parent, and inotify reports each one
    // (chokidar missed a link renamed over services.d when the parent also held another
    // directory). A rename asks for a look when the window ends, without pushing back a pending
    // window (a log file rotated beside services.d must not hold changes back), and reloads only
    // if the directory moved. Other events (a write to a file there) are ignored: chokidar on the
    // parent re-read the directory for each one, and `tend up > tend.log` beside services.d
    // doubled the daemon's CPU (bench/log-beside.ts). The same holds for the directory holding a
    // symlink further up the path; all are watched anew once the directory moved, as the parent
    // may now be another directory (`current/` of the new release).
    for (const w of this.aroundWatches ?? []) w.close();
    this.aroundWatches = undefined;
    const watches: NodeFSWatcher[] = [];
    try {
      for (const place of [resolve(this.dir), ...linksAbove(resolve(this.dir))]) {
        const name = basename(place);
        const w = fsWatch(dirname(place), { persistent: false }, (event, file) => {
          if (event !== 'rename') return;
          // services.d (or a link on the way) removed, made, or renamed over: watched anew even if
          // the directory there now has the inode of the old one (ext4 gives a directory removed
          // and made again the same inode at once, and the old watch is dead).
          if (file === name) this.replaced = true;
          this.glance();
        });
        w.on('error', (err) => this.opts.onError?.(err));
        watches.push(w);
      }
      this.aroundWatches = watches;
    } catch (err) {
      for (const w of watches) w.close();
      this.cannotWatch(err);
    }
  }

  /** Watches the directory the path resolves to now (none while there is none: the parent's watch
   *  reports it made). inotify's watch is in place when fs.watch returns: a file written after
   *  this is seen, one written before is read by the reload that follows a switch. */
  private watchDir(): void {
    this.dirWatch?.close();
    this.dirWatch = undefined;
    this.replaced = false;
    this.realDir = realOrSelf(this.dir);
    this.realIno = inodeOf(this.realDir);
    if (this.realIno === undefined) return;
    try {
      const w = fsWatch(this.realDir, { persistent: false }, (_event, file) => {
        if (file !== null && IGNORED_NAMES.has(file)) return;
        this.poke();
      });
      // Removed under us: the parent's watch sees it, and the next window watches what is there.
      w.on('error', () => {
        w.close();
        if (this.dirWatch === w) this.dirWatch = undefined;
        this.glance();
      });
      this.dirWatch = w;
    } catch (err) {
      // Gone again since the stat (the parent reports what comes next), or no inotify watch left.
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') this.cannotWatch(err);
    }
  }

  /** A watch could not be made: look at the tree every POLL_MS until one can (said once). */
  private cannotWatch(err: unknown): void {
    if (this.unwatchable || this.closed) return;
    this.unwatchable = true;
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOSPC' ? 'ENOSPC: no inotify watch left, see fs.inotify.max_user_watches' : (code ?? (err as Error).message);
    this.opts.onError?.(Object.assign(new Error(`cannot watch ${this.dir} for changes (${why}); looking at it every ${POLL_MS / 1000} s instead`), { cause: err }));
    this.startLooking();
  }

  /** Looks at the tree every POLL_MS (poll() stops once there is nothing left to look for). */
  private startLooking(): void {
    if (this.pollTimer !== undefined || this.closed) return;
    this.lastLook = this.look();
    this.pollTimer = setInterval(() => this.poll(), POLL_MS);
    this.pollTimer.unref();
  }

  private poll(): void {
    // Watches may be free again: tried before the look, so that a change made between the two is
    // seen by one of them. The looks stop once every watch is back: the directory's, its parent's
    // and those of the extra files' directories (a look is a readdir and a stat per file).
    if (this.dirWatch === undefined && this.realIno !== undefined) this.watchDir();
    if (this.aroundWatches === undefined) this.watchAround();
    for (const [dir, entry] of this.extraDirs) if (entry.watch === undefined && existsSync(dir)) this.watchExtraDir(dir, entry);
    const now = this.look();
    if (now !== this.lastLook) {
      this.lastLook = now;
      this.poke();
    }
    const extraWatched = [...this.extraDirs.values()].every((e) => e.watch !== undefined);
    if (this.dirWatch !== undefined && this.aroundWatches !== undefined && extraWatched) {
      clearInterval(this.pollTimer);
      this.pollTimer = undefined;
      this.unwatchable = false;
    }
  }

  /** What a look at the tree sees: where the directory leads, its entries with their inode, size
   *  and mtime, and the env files' (one readdir and a stat per file). */
  private look(): string {
    const real = realOrSelf(this.dir);
    const parts = [real];
    const stamp = (path: string) => {
      const st = statSync(path, { throwIfNoEntry: false });
      return st ? `${st.ino}:${st.size}:${st.mtimeMs}` : '-';
    };
    try {
      for (const name of readdirSync(real).sort()) if (!IGNORED_NAMES.has(name)) parts.push(`${name} ${stamp(join(real, name))}`);
    } catch {
      parts.push('(none)');
    }
    for (const f of this.extra) parts.push(`${f} ${stamp(f)}`);
    return parts.join('\n');
  }

  /** Watch these files too (env files and symlinked specs' targets, found or not: LoadResult.watch);
   *  the set replaces the previous one. Each directory that holds some is watched once, for their
   *  names: a file replaced (git writes a changed file anew), made (a service named it before it
   *  existed) or removed is an event there, where a watch on the file itself (chokidar's) followed
   *  the old inode and saw nothing after the first `git pull`. */
  setExtraFiles(paths: Iterable<string>): void {
    if (this.closed) return;
    this.extra = new Set(paths);
    const byDir = new Map<string, Set<string>>();
    for (const p of this.extra) {
      const names = byDir.get(dirname(p)) ?? new Set<string>();
      names.add(basename(p));
      byDir.set(dirname(p), names);
    }
    for (const [dir, entry] of this.extraDirs) {
      if (byDir.has(dir)) continue;
      entry.watch?.close();
      this.extraDirs.delete(dir);
    }
    for (const [dir, names] of byDir) {
      const entry = this.extraDirs.get(dir);
      if (entry) entry.names = names;
      else {
        const made: ExtraDir = { names };
        this.extraDirs.set(dir, made);
        this.watchExtraDir(dir, made);
      }
    }
  }

  /** Watches a directory of extra files; while it cannot (it does not exist yet, or inotify has no
   *  watch left) the looks (poll) cover it and try again. */
  private watchExtraDir(dir: string, entry: ExtraDir): void {
    entry.watch?.close();
    entry.watch = undefined;
    entry.ino = inodeOf(dir);
    try {
      const self = basename(dir);
      const w = fsWatch(dir, { persistent: false }, (_event, file) => {
        if (file === null || entry.names.has(file)) this.poke();
        // The directory itself removed or moved (libuv names it by its own name then; ext4 may
        // give a directory made again the inode of the one removed): its watch is dead, so watch
        // what is there now.
        if (entry.watch === w && (file === self || inodeOf(dir) !== entry.ino)) {
          this.watchExtraDir(dir, entry);
          this.poke();
        }
      });
      w.on('error', () => {
        w.close();
        if (entry.watch === w) entry.watch = undefined;
        this.startLooking();
      });
      entry.watch = w;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') this.startLooking();
      else this.cannotWatch(err);
    }
  }

  /** Something may have changed: (re)start the settle window. */
  poke(): void {
    this.relevant = true;
    this.generation++;
    const now = performance.now();
    this.firstEventAt ??= now;
    clearTimeout(this.settleTimer);
    clearTimeout(this.quietTimer);
    const ceiling = this.firstEventAt + this.maxWaitMs - now;
    const wait = Math.max(MIN_SETTLE_MS, Math.min(this.settleMs, ceiling));
    this.settleTimer = setTimeout(() => this.settled(), wait);
    const onQuiet = this.opts.onQuiet;
    if (onQuiet && wait > MIN_SETTLE_MS) {
      const generation = this.generation;
      this.quietTimer = setTimeout(() => onQuiet(generation), MIN_SETTLE_MS);
    }
  }

  /** Something beside the directory changed: check at the end of a window whether it moved. */
  private glance(): void {
    if (this.settleTimer !== undefined) return;
    this.firstEventAt ??= performance.now();
    this.settleTimer = setTimeout(() => this.settled(), Math.max(MIN_SETTLE_MS, this.settleMs));
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.pollTimer);
    clearTimeout(this.settleTimer);
    clearTimeout(this.quietTimer);
    for (const w of this.aroundWatches ?? []) w.close();
    this.dirWatch?.close();
    for (const e of this.extraDirs.values()) e.watch?.close();
  }

  private settled(): void {
    this.settleTimer = undefined;
    if (this.closed) return;
    const lock = gitIndexLock(this.realDir ?? this.dir);
    if (lock && existsSync(lock)) {
      this.lockSince ??= performance.now();
      if (performance.now() - this.lockSince < this.gitLockMaxMs) {
        this.settleTimer = setTimeout(() => this.settled(), this.settleMs);
        return;
      }
    }
    this.lockSince = undefined;
    this.firstEventAt = undefined;
    // The symlink points elsewhere now, or the directory was removed and made again (or made, or
    // removed): watch what is there now, before the reload reads it.
    const moved = this.moved();
    if (moved) {
      this.generation++; // what was read before is another directory's
      this.watchDir();
      this.watchAround();
    }
    const relevant = this.relevant || moved;
    this.relevant = false;
    if (relevant) this.opts.onSettled(this.generation);
  }

  /** Whether the services directory now resolves to another directory than the one watched. */
  private moved(): boolean {
    const real = realOrSelf(this.dir);
    return this.replaced || real !== this.realDir || inodeOf(real) !== this.realIno || (this.dirWatch === undefined && this.realIno !== undefined);
  }
}

function inodeOf(path: string): number | undefined {
  try {
    return statSync(path).ino;
  } catch {
    return undefined;
  }
}

function realOrSelf(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return resolve(path);
  }
}

/** `.git/index.lock` of the repository enclosing `dir`, if there is one. */
function gitIndexLock(dir: string): string | undefined {
  let d = resolve(dir);
  for (;;) {
    if (existsSync(join(d, '.git'))) return join(d, '.git', 'index.lock');
    const up = dirname(d);
    if (up === d) return undefined;
    d = up;
  }
}
