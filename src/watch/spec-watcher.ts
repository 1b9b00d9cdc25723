// Turns file-system noise into "the spec tree may have changed, and is quiet now".
//
// `git checkout` unlinks and rewrites files one at a time, so acting on the first event would act
// on a half-switched tree. We wait for a quiet period (the settle window), with a ceiling so that
// constant churn cannot starve the loop, and while `.git/index.lock` exists in the enclosing
// repository (git is still writing) we keep waiting. The controller then re-reads the whole tree and
// compares fingerprints, so a spurious wake-up costs one read and nothing else.
//
// A release switched by renaming a symlink (`services.d -> releases/42/services.d`) is invisible
// to a watch on the link (chokidar 5 keeps watching the old target), so the link's parent is
// watched too and the real path is resolved again on every wake-up.

import { existsSync, realpathSync, statSync, watch as fsWatch, type FSWatcher as NodeFSWatcher } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { watch, type FSWatcher } from 'chokidar';

// chokidar emits at most one `change` per path every 50 ms and *drops* the others (index.js,
// `_throttle(EV.CHANGE, path, 50)`): a write inside that window is never reported. Reading no
// sooner than this after the last reported event means such a write is already on disk when we read.
const CHOKIDAR_CHANGE_THROTTLE_MS = 50;
const MIN_SETTLE_MS = CHOKIDAR_CHANGE_THROTTLE_MS + 10;

export interface SpecWatcherOptions {
  /** Quiet period before a change is acted on (at least 60 ms, see above). */
  settleMs?: number;
  /** Act after this long even if events keep coming. */
  maxWaitMs?: number;
  /** Give up waiting for a `.git/index.lock` that never goes away (a crashed git) after this. */
  gitLockMaxMs?: number;
  /** Called once the tree has been quiet for the settle window. */
  onSettled: () => void;
  onError?: (err: unknown) => void;
}

export class SpecWatcher {
  private watcher?: FSWatcher;
  private parentWatch?: NodeFSWatcher;
  private realDir?: string;
  /** Inode of the watched directory: a directory removed and created again is a new one to watch. */
  private realIno?: number;
  private extra = new Set<string>();
  private settleTimer?: NodeJS.Timeout;
  /** An event in the directory itself (or an env file) since the last settle: reload then. */
  private relevant = false;
  private firstEventAt?: number;
  private lockSince?: number;
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

  /** Starts watching; resolves once chokidar is ready. */
  async start(): Promise<void> {
    this.realDir = realOrSelf(this.dir);
    this.realIno = inodeOf(this.realDir);
    const dirAbs = resolve(this.dir);
    this.watcher = watch([this.realDir, dirname(dirAbs)], {
      ignoreInitial: true,
      depth: 0,
      // Events for our own state dir or git's internals are noise; the fingerprint catches the rest.
      ignored: (path: string) => path.includes(`${'/'}.git${'/'}`) || path.includes('/.tend/'),
    });
    const parent = dirname(dirAbs);
    this.watcher.on('all', (_event, path) => {
      // The parent is watched only to see the services directory (or its link) itself change. A
      // link renamed over it is reported under the temp link's name, or not at all (chokidar stats
      // the temp link after it is gone), so any other name in the parent only asks for a look when
      // the window ends: without pushing back a pending window (a log file written beside
      // services.d must not hold changes back), and without a reload unless the directory moved.
      if (dirname(path) === parent && path !== dirAbs && !this.extra.has(path)) this.glance();
      else this.poke();
    });
    this.watcher.on('error', (err) => this.opts.onError?.(err));
    await new Promise<void>((r) => this.watcher!.once('ready', () => r()));
    // chokidar misses a link renamed over services.d when the parent also holds another directory
    // (found with the state directory beside services.d, as `.tend` usually is): inotify on the
    // parent itself reports every rename in it, so any rename there asks for a look.
    try {
      this.parentWatch = fsWatch(parent, { persistent: false }, (event) => {
        if (event === 'rename') this.glance();
      });
      this.parentWatch.on('error', (err) => this.opts.onError?.(err));
    } catch (err) {
      this.opts.onError?.(err);
    }
  }

  /** Watch these files too (env files referenced by specs); the set replaces the previous one. */
  setExtraFiles(paths: Iterable<string>): void {
    if (!this.watcher) return;
    const next = new Set(paths);
    const add = [...next].filter((p) => !this.extra.has(p));
    const remove = [...this.extra].filter((p) => !next.has(p));
    if (add.length) this.watcher.add(add);
    if (remove.length) this.watcher.unwatch(remove);
    this.extra = next;
  }

  /** Something may have changed: (re)start the settle window. */
  poke(): void {
    this.relevant = true;
    const now = Date.now();
    this.firstEventAt ??= now;
    clearTimeout(this.settleTimer);
    const ceiling = this.firstEventAt + this.maxWaitMs - now;
    this.settleTimer = setTimeout(() => this.settled(), Math.max(MIN_SETTLE_MS, Math.min(this.settleMs, ceiling)));
  }

  /** Something beside the directory changed: check at the end of a window whether it moved. */
  private glance(): void {
    if (this.settleTimer !== undefined) return;
    this.firstEventAt ??= Date.now();
    this.settleTimer = setTimeout(() => this.settled(), Math.max(MIN_SETTLE_MS, this.settleMs));
  }

  async close(): Promise<void> {
    clearTimeout(this.settleTimer);
    this.parentWatch?.close();
    await this.watcher?.close();
  }

  private settled(): void {
    this.settleTimer = undefined;
    const lock = gitIndexLock(this.realDir ?? this.dir);
    if (lock && existsSync(lock)) {
      this.lockSince ??= Date.now();
      if (Date.now() - this.lockSince < this.gitLockMaxMs) {
        this.settleTimer = setTimeout(() => this.settled(), this.settleMs);
        return;
      }
    }
    this.lockSince = undefined;
    this.firstEventAt = undefined;
    const relevant = this.relevant || this.moved();
    this.relevant = false;
    if (!relevant) return;
    this.retarget();
    this.opts.onSettled();
  }

  /** Whether the services directory now resolves to another directory than the one watched. */
  private moved(): boolean {
    const real = realOrSelf(this.dir);
    return real !== this.realDir || inodeOf(real) !== this.realIno;
  }

  /** The symlink now points elsewhere, or the directory was removed and made again: watch the
   *  directory that is there now instead of the old one. */
  private retarget(): void {
    const real = realOrSelf(this.dir);
    const ino = inodeOf(real);
    if (!this.watcher || (real === this.realDir && ino === this.realIno)) return;
    if (this.realDir) this.watcher.unwatch(this.realDir);
    if (ino !== undefined) this.watcher.add(real);
    this.realDir = real;
    this.realIno = ino;
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
