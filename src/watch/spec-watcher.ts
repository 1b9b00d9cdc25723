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
// watched too (for renames only, see start()) and the real path is resolved again on every wake-up.

import { existsSync, realpathSync, statSync, watch as fsWatch, type FSWatcher as NodeFSWatcher } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
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
  /** A switch to a new directory being watched (settled() waits for it before a reload). */
  private retargeting: Promise<void> = Promise.resolve();
  private closed = false;
  /** The parent reported a rename of the directory's own name since the last switch. */
  private replaced = false;
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
    const w = await this.watchTree(this.realDir);
    if (this.closed) {
      await w.close();
      return;
    }
    this.watcher = w;
    // The parent is watched only to see the services directory (or its link) itself replaced,
    // removed or made: every such change is a rename in the parent, and inotify reports each one
    // (chokidar missed a link renamed over services.d when the parent also held another
    // directory). A rename asks for a look when the window ends, without pushing back a pending
    // window (a log file rotated beside services.d must not hold changes back), and reloads only
    // if the directory moved. Other events (a write to a file there) are ignored: chokidar on the
    // parent re-read the directory for each one, and `tend up > tend.log` beside services.d
    // doubled the daemon's CPU (bench/log-beside.ts).
    try {
      const name = basename(resolve(this.dir));
      this.parentWatch = fsWatch(dirname(resolve(this.dir)), { persistent: false }, (event, file) => {
        if (event !== 'rename') return;
        // services.d itself removed, made, or renamed over: watched anew even if the directory
        // there now has the inode of the old one (ext4 gives a directory removed and made again
        // the same inode at once, and the old watch is dead).
        if (file === name) this.replaced = true;
        this.glance();
      });
      this.parentWatch.on('error', (err) => this.opts.onError?.(err));
    } catch (err) {
      this.opts.onError?.(err);
    }
  }

  /** A chokidar watcher of the directory and the env files, once ready: its watches are in place.
   *  Env files set meanwhile (setExtraFiles while there is no watcher) are added then. */
  private async watchTree(dir: string): Promise<FSWatcher> {
    const extra = this.extra;
    const w = watch([dir, ...extra], {
      ignoreInitial: true,
      depth: 0,
      // Events for our own state dir or git's internals are noise; the fingerprint catches the rest.
      ignored: (path: string) => path.includes(`${'/'}.git${'/'}`) || path.includes('/.tend/'),
    });
    // Inside the directory, and env files (setExtraFiles): a change there (re)starts the window.
    w.on('all', () => this.poke());
    w.on('error', (err) => this.opts.onError?.(err));
    await new Promise<void>((r) => w.once('ready', () => r()));
    if (this.extra !== extra) applyExtra(w, extra, this.extra);
    return w;
  }

  /** Watch these files too (env files referenced by specs); the set replaces the previous one. */
  setExtraFiles(paths: Iterable<string>): void {
    const next = new Set(paths);
    // Without a watcher (starting, or switching to a new directory) the next one takes them.
    if (this.watcher) applyExtra(this.watcher, this.extra, next);
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
    this.closed = true;
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
    // The reload comes once the directory there now is watched: a file written in it meanwhile is
    // then either read by the reload or seen by the new watch.
    this.retargeting = this.retargeting
      .then(() => this.retarget())
      .catch((err: unknown) => this.opts.onError?.(err))
      .then(() => {
        if (!this.closed) this.opts.onSettled();
      });
  }

  /** Whether the services directory now resolves to another directory than the one watched. */
  private moved(): boolean {
    const real = realOrSelf(this.dir);
    return this.replaced || real !== this.realDir || inodeOf(real) !== this.realIno;
  }

  /** The symlink now points elsewhere, or the directory was removed and made again: watch the
   *  directory that is there now instead of the old one, with a new watcher (chokidar's `add`
   *  returns before its watch is in place: a file written in the new directory right after the
   *  switch was never seen). */
  private async retarget(): Promise<void> {
    const real = realOrSelf(this.dir);
    const ino = inodeOf(real);
    if (this.closed || !this.watcher || (real === this.realDir && ino === this.realIno && !this.replaced)) return;
    this.replaced = false;
    this.realDir = real;
    this.realIno = ino;
    // Closed first: chokidar shares one fs.watch per path between its watchers, and a directory
    // made again under the same path would get the dead watch of the old one. What is written
    // before the new watch is ready is read by the reload that follows.
    const old = this.watcher;
    this.watcher = undefined; // a closed chokidar watcher comes back to life on add()
    await old.close();
    const next = await this.watchTree(real);
    if (this.closed) await next.close();
    else this.watcher = next;
  }
}

/** Brings a watcher's env files from the set `before` to the set `next`. */
function applyExtra(w: FSWatcher, before: ReadonlySet<string>, next: ReadonlySet<string>): void {
  const add = [...next].filter((p) => !before.has(p));
  const remove = [...before].filter((p) => !next.has(p));
  if (add.length) w.add(add);
  if (remove.length) w.unwatch(remove);
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
