// The hands of tend: spawns a replica as the leader of its own process group, signals and stops
// whole groups, and reports exits. It decides nothing (restart, back-off and limits are the
// planner's); it only does what it is told and reports what happened, and it never throws at its
// caller for something a process did.
//
// Replicas outlive tend (DESIGN §8, "children die with the supervisor"): children are detached,
// and close() stops watching and unrefs them without killing anything, so tend can exit while they
// run on. A later tend adopts them by pid + start time.

import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, fstatSync, mkdirSync, openSync, statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, resolve } from 'node:path';

import { errorMessage } from '../errors.js';
import { isLive, listPids, readProcStat, sameProcess, scanGroups, zombieExit } from './proc.js';
import type { ExitStatus, ProcessHandle, Runtime, StartRequest, StartResult, StopResult } from './types.js';
import { SpawnHelper, type HelperKind } from './spawn-helper.js';
import { lookupUser, type UserIds } from './user.js';
import { steadyNow } from '../util/clock.js';

export interface ProcessRuntimeOptions {
  /** How often adopted replicas are checked for exit, in ms (default 250). */
  adoptPollMs?: number;
  /** How often groups being stopped that still have members are scanned, in ms (default 100). */
  stopPollMs?: number;
  /** Fork through spawn helpers (runtime/spawn-helper.ts) once they are up; in process until then,
   *  and for good if none can start or all died. */
  helper?: boolean;
  /** How many helpers fork side by side (default: 2, or 1 on a single CPU). A fork blocks its
   *  process until the child has exec'd; two of them fork 1000 replicas 25% sooner than one here. */
  helpers?: number;
  /** Which helper program (runtime/spawn-helper.ts): the compiled one when built, or node's. */
  helperKind?: HelperKind;
  /** The compiled helper's path (tests point it at a binary that cannot run). */
  nativeHelper?: string;
  /** The soft open-files limit replicas get (src/util/nofile.ts); only the compiled helper can set
   *  it, so spawns wait for the helpers, as for a replica run as another user. */
  nofile?: number;
  /** Spawns wait until the helpers are up (or failed to come up) instead of forking in process
   *  meanwhile: the daemon does not wait (its first replica would start later); tests do. */
  waitForHelper?: boolean;
}

type OnExit = (status: ExitStatus) => void;

interface PendingStop {
  handle: ProcessHandle;
  deadline: number;
  killed: boolean;
  /** The leader has exited, or is no process of ours to hear from: only a scan of /proc can tell
   *  whether its group still has members. Until then its exit says when to look. */
  scan: boolean;
  /** Sent to the group (by its helper, when a helper forked it). */
  sigs: NodeJS.Signals[];
  /** The helper asked to send them: if it dies first, they are sent again from here. */
  via?: SpawnHelper;
  promise: Promise<StopResult>;
  resolve: (r: StopResult) => void;
  reject: (err: unknown) => void;
}

/** A replica this runtime did not fork (an earlier tend's, or a dead helper's): watched from /proc. */
interface Adopted {
  handle: ProcessHandle;
  onExit: OnExit;
}

/** Adopted replicas whose /proc stat each poll reads (see pollAdopted). */
const ADOPTED_CHECKS_PER_POLL = 200;
/** Polls of adopted replicas are at least this many times their own cost apart. */
const ADOPTED_POLL_COST_FACTOR = 50;

// OS errors after which a retry can succeed: the planner backs off instead of failing the replica.
const TRANSIENT: Record<string, string> = {
  EMFILE: 'too many open files in tend',
  ENFILE: 'too many open files in the system',
  EAGAIN: 'process limit reached',
  ENOMEM: 'out of memory',
  ENOSPC: 'no space left on device',
  EINTR: 'interrupted',
};

function failure(reason: string, permanent: boolean): StartResult {
  return { ok: false, reason, permanent };
}

/** kill(-pgid, 0) failed with ESRCH. It fails for almost every replica stopped, and most of its
 *  cost was the error's stack trace: 16 → 7 ms per 5000 calls without it (at 5000 replicas these
 *  calls took 75 ms of `tend down`'s ~1 s). */
function groupGone(pgid: number): boolean {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    process.kill(-pgid, 0);
    return false;
  } catch (err) {
    return errCode(err) === 'ESRCH';
  } finally {
    Error.stackTraceLimit = limit;
  }
}

function errCode(err: unknown): string {
  return (err as NodeJS.ErrnoException | null)?.code ?? 'UNKNOWN';
}

export class ProcessRuntime implements Runtime {
  private readonly adoptPollMs: number;
  private readonly stopPollMs: number;
  /** Log directories known to exist, so a spawn does not mkdir each time. */
  private readonly logDirs = new Set<string>();
  /** Our running children: referenced (awaiting an exit keeps Node alive) until close(). */
  private readonly children = new Map<number, ChildProcess>();
  /** Replicas the spawn helper forked: their exits come from it. */
  private readonly helped = new Map<number, { handle: ProcessHandle; onExit: OnExit; by: SpawnHelper; answered: boolean }>();
  private readonly helpers: SpawnHelper[] = [];
  private readonly helperKind: HelperKind | undefined;
  private readonly nativeHelper: string | undefined;
  /** Helpers not started yet (see the constructor), and whether they are about to be. */
  private helpersToStart: number;
  private helpersQueued = false;
  private closed = false;
  private readonly waitForHelper: boolean;
  /** tend is PID 1 of its pid namespace (a container's init). */
  private readonly isInit = process.pid === 1;
  private readonly nofile: number | undefined;
  private readonly adopted = new Map<number, Adopted>();
  private adoptTimer: NodeJS.Timeout | undefined;
  /** performance.now() before which a poll of adopted replicas is skipped (see pollAdopted). */
  private adoptedNextPoll = 0;
  /** Stops in progress, by process group. */
  private readonly stops = new Map<number, PendingStop>();
  private stopTimer: NodeJS.Timeout | undefined;
  private stopTimerAt = Infinity;
  /** Starts asked for and not answered yet, and who waits for them (afterSpawns). */
  private starting = 0;
  private spawnWaiters: (() => void)[] = [];

  constructor(options: ProcessRuntimeOptions = {}) {
    this.adoptPollMs = options.adoptPollMs ?? 250;
    this.stopPollMs = options.stopPollMs ?? 100;
    this.waitForHelper = options.waitForHelper ?? false;
    this.nofile = options.nofile;
    // The first is started at once: it comes up while tend reads its files. Started with the first
    // replica instead, the first replica ran 50 ms sooner but 1000 of them 30% later (the first
    // hundreds forked from tend while the helpers booted beside them). The others are started
    // once the first request has gone out: each fork of a helper took ~2 ms of tend's own start,
    // before its first replica (bench/FINDINGS.md §16), and the first helper forks while they do.
    this.helpersToStart = options.helper ? (options.helpers ?? Math.min(2, availableParallelism())) : 0;
    this.helperKind = options.helperKind;
    this.nativeHelper = options.nativeHelper;
    if (this.helpersToStart > 0) this.startHelper();
  }

  /** Starts the helpers not started yet, after the current turn: the request being made goes out
   *  first. */
  private startOtherHelpers(): void {
    if (this.helpersToStart === 0 || this.helpersQueued) return;
    this.helpersQueued = true;
    setImmediate(() => {
      while (this.helpersToStart > 0 && !this.closed) this.startHelper();
    });
  }

  private startHelper(): void {
    this.helpersToStart--;
    const helper: SpawnHelper = new SpawnHelper(
      {
        onExit: (pid, code, signal, groupEmpty) => {
          const h = this.helped.get(pid);
          if (!h) return;
          this.helped.delete(pid);
          const at = steadyNow();
          const exited = () => {
            h.onExit({ code, signal, at });
            this.leaderExited(pid, groupEmpty);
          };
          // Its fork's reply may have come in the same read: then the start it answers resolves
          // first (as a child's 'exit' comes after its spawn returned). Otherwise at once: a crash's
          // replacement waits for this.
          if (h.answered) exited();
          else setImmediate(exited);
        },
        onSignalError: (pgid, err) => {
          const stop = this.stops.get(pgid);
          if (stop) this.settle(stop, err);
        },
        // Its replicas run on, reparented: watched from /proc as an earlier tend's are.
        onDeath: () => {
          for (const [pid, h] of this.helped) {
            if (h.by !== helper) continue;
            this.helped.delete(pid);
            this.watchAdopted(pid, h.handle, h.onExit);
          }
          // Stops it was asked to signal may have died with it: signalled again from here (a
          // second SIGTERM rather than none, and a SIGKILL only at the deadline).
          for (const stop of this.stops.values()) {
            if (stop.via !== helper || stop.killed) continue;
            stop.via = undefined;
            try {
              signalGroup(stop.handle, ...stop.sigs);
            } catch (err) {
              this.settle(stop, err);
            }
          }
        },
      },
      this.helperKind,
      this.nativeHelper,
    );
    this.helpers.push(helper);
  }

  /** The helper with the fewest forks waiting, among those up. */
  private helper(): SpawnHelper | undefined {
    let best: SpawnHelper | undefined;
    for (const h of this.helpers) if (h.usable && (best === undefined || h.inFlight < best.inFlight)) best = h;
    return best;
  }

  /** Whether replicas get the `nofile` limit asked for: a compiled helper is up. */
  async setsNofile(): Promise<boolean> {
    await this.helperReady();
    return this.helpers.some((h) => h.usable && h.native);
  }

  /** Whether spawns go through the helper from now on (false without one, or when it failed). */
  helperReady(): Promise<boolean> {
    return Promise.all(this.helpers.map((h) => h.whenReady)).then((up) => up.some(Boolean));
  }

  // Spawns one replica with its output appended straight to its log file. Resolves with the
  // handle, or with a readable reason when it cannot be spawned; never rejects.
  async start(req: StartRequest, onExit: OnExit): Promise<StartResult> {
    this.starting++;
    try {
      return await this.spawnReplica(req, onExit);
    } catch (err) {
      // Only a bug or an OS surprise gets here; it still must not reach the daemon as an exception.
      return failure(`cannot start ${JSON.stringify(req.launch.argv[0] ?? '')}: ${errorMessage(err)}`, false);
    } finally {
      // After the caller has taken the answer (its continuation runs before the next turn).
      if (--this.starting === 0 && this.spawnWaiters.length > 0) setImmediate(() => this.startsAnswered());
    }
  }

  private spawnReplica(req: StartRequest, onExit: OnExit): StartResult | Promise<StartResult> {
    const { argv, cwd } = req.launch;
    const command = argv[0];
    if (command === undefined || command === '') return failure('empty command', true);

    let ids: UserIds | undefined;
    if (req.user !== undefined) {
      if (process.getuid?.() !== 0) return failure(`user "${req.user}" requires tend to run as root`, true);
      const found = lookupUser(req.user);
      if (found === null) return failure(`unknown user "${req.user}" (not in /etc/passwd)`, true);
      ids = found;
    }

    // Node reports a missing cwd as ENOENT of the command, which would blame the wrong thing.
    const cwdProblem = checkCwd(cwd);
    if (cwdProblem !== null) return failure(cwdProblem, true);

    // A replica run as another user waits for the helpers too: only the compiled one can give it
    // the user's groups (libuv clears them), and one forked in process meanwhile would lack them;
    // so does every replica when the caller's open-files limit is to be set (nofile.ts), but only
    // while none is up: once one is, this is every spawn of a cold start, and needs no promise.
    // So does every replica of a tend that is PID 1 (a container's init): a replica forked in
    // process has tend for its nearest reaper, and the orphans it leaves (a daemonising child,
    // `(worker &)`) went to tend, which reaps only its own children: zombies without end. The
    // compiled helper is a subreaper and reaps them (test/runtime/orphans.test.ts).
    const needsHelper = (ids !== undefined || this.nofile !== undefined || this.isInit) && this.helper() === undefined;
    if (this.helpers.length > 0 && (this.waitForHelper || needsHelper)) return this.helperReady().then(() => this.spawnWith(req, ids, onExit));
    return this.spawnWith(req, ids, onExit);
  }

  // Through the helper when it is up, else in process: the same checks came first either way.
  private spawnWith(req: StartRequest, ids: UserIds | undefined, onExit: OnExit): StartResult | Promise<StartResult> {
    // Also when the first helper died before this: the others then take the spawns.
    this.startOtherHelpers();
    const helper = this.helper();
    if (helper) return this.spawnByHelper(helper, req, ids, onExit);
    const { argv, cwd, env } = req.launch;
    const command = argv[0]!;

    let fd: number;
    let offset: number;
    try {
      fd = this.openLog(req.logFile);
    } catch (err) {
      return failure(`cannot open log file ${req.logFile}: ${errorMessage(err)}`, false);
    }
    try {
      offset = fstatSync(fd).size; // where this run's output starts
    } catch (err) {
      closeSync(fd);
      return failure(`cannot read the size of log file ${req.logFile}: ${errorMessage(err)}`, false);
    }

    let child;
    try {
      child = spawn(command, argv.slice(1), {
        cwd,
        env,
        detached: true, // setsid(): own session and process group, pgid = pid
        stdio: ['ignore', fd, fd], // one O_APPEND fd for both: no byte passes through Node
        uid: ids?.uid,
        gid: ids?.gid,
      });
    } catch (err) {
      // Errors other than EACCES/EAGAIN/EMFILE/ENFILE/ENOENT are thrown synchronously by Node.
      return spawnFailure(err, req);
    } finally {
      closeSync(fd); // the child holds its own copy now
    }

    const pid = child.pid;
    if (pid === undefined) {
      // The common spawn errors arrive asynchronously as an 'error' event, with no 'exit'.
      return new Promise((resolve) => child.once('error', (err) => resolve(spawnFailure(err, req))));
    }
    // A started child can still emit 'error' (e.g. a failed kill); an unhandled one would crash tend.
    child.on('error', () => {});
    this.children.set(pid, child);
    child.once('exit', (code, signal) => {
      this.children.delete(pid);
      onExit({ code, signal, at: steadyNow() });
      this.leaderExited(pid);
    });

    // Never null here: Node reaps children only from the event loop, which has not run since the
    // fork, so the process is at least a zombie with its start time still readable.
    const startTime = readProcStat(pid)?.startTime ?? 0;
    return { ok: true, handle: { pid, pgid: pid, startTime, startedAt: steadyNow() }, logOffset: offset };
  }

  private async spawnByHelper(helper: SpawnHelper, req: StartRequest, ids: UserIds | undefined, onExit: OnExit): Promise<StartResult> {
    const { argv, cwd, env } = req.launch;
    let handle: ProcessHandle | undefined;
    const r = await helper.spawn({ argv, cwd, env, log: req.logFile, ...(ids ? { uid: ids.uid, gid: ids.gid, groups: ids.groups } : {}), ...(this.nofile !== undefined && helper.native ? { nofile: this.nofile } : {}) }, (pid, startTime) => {
      handle = { pid, pgid: pid, startTime, startedAt: steadyNow() };
      this.helped.set(pid, { handle, onExit, by: helper, answered: false });
    });
    if (r.ok) {
      const h = this.helped.get(r.pid);
      if (h) h.answered = true;
      return { ok: true, handle: handle!, logOffset: r.offset };
    }
    if (r.stage === 'unsent') return this.spawnWith(req, ids, onExit); // it died before: another, or in process
    if (r.stage === 'log') return failure(`cannot open log file ${req.logFile}: ${r.message}`, false);
    if (r.stage === 'helper') return failure(`cannot start ${JSON.stringify(argv[0])}: ${r.message}`, false);
    return spawnFailure(Object.assign(new Error(r.message), { code: r.code }), req);
  }

  /** Runs fn once every start asked for so far is answered, or after maxMs at the latest. For work
   *  that can wait a moment (a state file write): done synchronously between a helper's fork and
   *  its reply, it delays the reply, and the replica's start is known that much later. */
  afterSpawns(fn: () => void, maxMs: number): void {
    if (this.starting === 0) return fn();
    let done = false;
    const once = () => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      fn();
    };
    const timer = setTimeout(once, maxMs);
    this.spawnWaiters.push(once);
  }

  private startsAnswered(): void {
    if (this.starting === 0) for (const w of this.spawnWaiters.splice(0)) w();
  }

  private openLog(file: string): number {
    const dir = dirname(file);
    if (!this.logDirs.has(dir)) {
      mkdirSync(dir, { recursive: true });
      this.logDirs.add(dir);
    }
    try {
      return openSync(file, 'a');
    } catch (err) {
      if (errCode(err) !== 'ENOENT') throw err;
      // The directory was removed since we cached it: create it again once.
      mkdirSync(dir, { recursive: true });
      return openSync(file, 'a');
    }
  }

  // Takes over a replica started by an earlier tend (not our child, so no 'exit' event will come).
  // False unless the handle's pid still runs with the same start time.
  adopt(handle: ProcessHandle, onExit: OnExit): boolean {
    if (!sameProcess(handle)) return false;
    this.watchAdopted(handle.pid, handle, onExit);
    return true;
  }

  private watchAdopted(pid: number, handle: ProcessHandle, onExit: OnExit): void {
    this.adopted.set(pid, { handle, onExit });
    // One timer for all adopted replicas. Their exit is noticed up to adoptPollMs late, and its
    // code is unknown: only the parent can wait() for it, and that was the earlier tend.
    this.adoptTimer ??= setInterval(() => this.pollAdopted(), this.adoptPollMs);
  }

  // Reading each adopted replica's /proc stat on every poll cost 50 ms at 5000 replicas: a tend
  // restarted under 5000 replicas idled at 23% of a core, for as long as they ran. Now each poll
  // reads the stat of at most ADOPTED_CHECKS_PER_POLL of them, the longest unchecked first, and
  // looks for the others in one listing of /proc (3 ms for 5000 entries). A replica that is reaped
  // is missed by neither; a zombie (where init does not reap) or a reused pid is found when its
  // turn comes: within 25 polls at 5000 replicas. And polls are kept ADOPTED_POLL_COST_FACTOR
  // times their cost apart, as the usage sampler's reads are.
  private pollAdopted(): void {
    const started = performance.now();
    if (started < this.adoptedNextPoll) return;
    const present = this.adopted.size > ADOPTED_CHECKS_PER_POLL ? listPids() : undefined;
    const turn: [number, Adopted][] = [];
    for (const entry of this.adopted) {
      if (turn.length === ADOPTED_CHECKS_PER_POLL) break;
      turn.push(entry);
    }
    for (const [pid, a] of turn) {
      this.adopted.delete(pid);
      if (sameProcess(a.handle)) this.adopted.set(pid, a); // still it: to the back of the line
      else this.adoptedExited(pid, a);
    }
    if (present) for (const [pid, a] of this.adopted) if (!present.has(pid)) this.adoptedExited(pid, a);
    // At most ~2% of a core: a poll that cost 8 ms (thousands adopted) waits 400 ms for the next.
    this.adoptedNextPoll = performance.now() + (performance.now() - started) * (ADOPTED_POLL_COST_FACTOR - 1);
    if (this.adopted.size === 0) {
      clearInterval(this.adoptTimer);
      this.adoptTimer = undefined;
    }
  }

  private adoptedExited(pid: number, a: Adopted): void {
    this.adopted.delete(pid);
    // Where init does not reap orphans the zombie still holds its exit status.
    const exit = zombieExit(pid, a.handle.startTime);
    a.onExit(exit ? { ...exit, at: steadyNow() } : { code: null, signal: null, at: steadyNow(), unknown: true });
    this.leaderExited(a.handle.pgid);
  }

  // Sends a signal to the replica's whole process group (pause, resume, kill). A group that is
  // already gone is not an error.
  signal(handle: ProcessHandle, sig: NodeJS.Signals): void {
    signalGroup(handle, sig);
  }

  // Stops a replica's whole group: `sig`, SIGCONT (a paused group must see it), then SIGKILL at
  // the deadline. Resolves once no live process is left in the group, whatever its leader did.
  // Rejects only when the group cannot be signalled at all (EPERM).
  stop(handle: ProcessHandle, sig: NodeJS.Signals, timeoutMs: number): Promise<StopResult> {
    const pending = this.stops.get(handle.pgid);
    if (pending !== undefined) return pending.promise;
    let resolve!: (r: StopResult) => void;
    let reject!: (err: unknown) => void;
    const promise = new Promise<StopResult>((res, rej) => ((resolve = res), (reject = rej)));
    const ours = this.children.has(handle.pid) || this.helped.has(handle.pid) || this.adopted.has(handle.pid);
    const sigs: NodeJS.Signals[] = sig !== 'SIGCONT' && sig !== 'SIGKILL' ? [sig, 'SIGCONT'] : [sig];
    const stop: PendingStop = { handle, deadline: steadyNow() + timeoutMs, killed: false, scan: !ours, sigs, promise, resolve, reject };
    this.stops.set(handle.pgid, stop);
    // A group whose leader is gone and that has no process left (a crash's usual case) needs no
    // signal: one syscall, instead of two looks at /proc and three kills that fail.
    if (stop.scan && this.finishIfEmpty(stop)) return promise;
    // A replica a helper forked is signalled by it (an EPERM comes back as onSignalError).
    const helper = this.helped.get(handle.pid)?.by;
    if (helper?.signal(handle, sigs)) stop.via = helper;
    else {
      try {
        signalGroup(handle, ...sigs);
      } catch (err) {
        this.settle(stop, err);
        return promise;
      }
    }
    if (!stop.scan) this.armStopTimer(stop.deadline); // its leader's exit says when to look
    else this.armStopTimer(Math.min(steadyNow() + this.stopPollMs, stop.deadline));
    return promise;
  }

  // Stops watching (timers, adopted replicas) and lets tend exit while its children run on; never
  // kills a replica. Stops still pending are abandoned and never settle: await them first.
  close(): void {
    this.closed = true;
    for (const child of this.children.values()) child.unref();
    for (const h of this.helpers) h.close();
    this.helped.clear();
    clearInterval(this.adoptTimer);
    this.adoptTimer = undefined;
    this.adopted.clear();
    clearTimeout(this.stopTimer);
    this.stopTimer = undefined;
    this.stopTimerAt = Infinity;
  }

  /** `groupEmpty`: the helper that reaped the leader found nobody left in its group (a group that
   *  is empty stays so). Otherwise the kernel is asked here. */
  private leaderExited(pgid: number, groupEmpty = false): void {
    const stop = this.stops.get(pgid);
    if (stop === undefined) return;
    stop.scan = true;
    if (groupEmpty) this.settle(stop);
    else if (!this.finishIfEmpty(stop)) this.armStopTimer(steadyNow() + this.stopPollMs);
  }

  // Fast path: once no process at all (not even a zombie) has the pgid, kill(-pgid, 0) fails with
  // ESRCH and the group is certainly empty, at the cost of one syscall.
  private finishIfEmpty(stop: PendingStop): boolean {
    if (!groupGone(stop.handle.pgid)) return false;
    this.settle(stop);
    return true;
  }

  // Ends a stop: resolved when the group is empty, rejected with the error that prevents it.
  private settle(stop: PendingStop, err?: unknown): void {
    this.stops.delete(stop.handle.pgid);
    if (err === undefined) stop.resolve({ killed: stop.killed });
    else stop.reject(err);
    if (this.stops.size === 0) {
      clearTimeout(this.stopTimer);
      this.stopTimer = undefined;
      this.stopTimerAt = Infinity;
    }
  }

  private armStopTimer(at: number): void {
    if (this.stopTimer !== undefined && this.stopTimerAt <= at) return;
    clearTimeout(this.stopTimer);
    this.stopTimerAt = at;
    this.stopTimer = setTimeout(() => this.tickStops(), Math.max(0, at - steadyNow()));
  }

  // One tick for every pending stop: for groups whose leader is gone, the fast path first, then
  // ONE /proc scan for those that still have some process (live or zombie: an orphan that died
  // stays a zombie here); then SIGKILL to the groups past their deadline. Groups whose leader
  // still runs are not scanned: its exit comes as an event. Stopping 5000 replicas used to scan
  // every process of the machine ten times a second until the last one was gone.
  private tickStops(): void {
    this.stopTimer = undefined;
    this.stopTimerAt = Infinity;
    const remaining = [...this.stops.values()].filter((s) => !s.scan || !this.finishIfEmpty(s));
    if (remaining.length === 0) return;
    const scanned = remaining.filter((s) => s.scan);
    const groups = scanned.length > 0 ? scanGroups(scanned.map((s) => s.handle.pgid)) : undefined;
    const now = steadyNow();
    let next = Infinity;
    for (const stop of remaining) {
      if (groups !== undefined && stop.scan) {
        const members = groups.get(stop.handle.pgid) ?? [];
        // A live leader with another start time means our group is gone and the number was reused.
        const reused = members.some((m) => m.pid === stop.handle.pgid && m.startTime !== stop.handle.startTime);
        if (members.length === 0 || reused) {
          this.settle(stop);
          continue;
        }
        next = Math.min(next, now + this.stopPollMs);
      }
      if (!stop.killed) {
        if (now >= stop.deadline) {
          stop.killed = true;
          try {
            signalGroup(stop.handle, 'SIGKILL');
          } catch (err) {
            this.settle(stop, err);
          }
        } else {
          next = Math.min(next, stop.deadline);
        }
      }
    }
    if (next < Infinity) this.armStopTimer(next);
  }
}

// Signals a group unless its number now belongs to someone else: a group id is free for reuse
// once the group is empty, and a new group's id is its leader's pid, so a live process with that
// pid and another start time means the group we started is gone.
function signalGroup(handle: ProcessHandle, ...sigs: NodeJS.Signals[]): void {
  const leader = readProcStat(handle.pgid);
  if (leader !== null && isLive(leader.state) && leader.startTime !== handle.startTime) return;
  for (const sig of sigs) {
    try {
      process.kill(-handle.pgid, sig);
    } catch (err) {
      if (errCode(err) !== 'ESRCH') throw err;
    }
  }
}

function checkCwd(cwd: string): string | null {
  try {
    return statSync(cwd).isDirectory() ? null : `working directory is not a directory: ${cwd}`;
  } catch (err) {
    const code = errCode(err);
    if (code === 'ENOENT') return `working directory does not exist: ${cwd}`;
    return `working directory is not accessible: ${cwd} (${code})`;
  }
}

// Turns a spawn error into a reason that names the command and the OS error, and says whether a
// retry could help.
function spawnFailure(err: unknown, req: StartRequest): StartResult {
  const code = errCode(err);
  const cmd = JSON.stringify(req.launch.argv[0]);
  const transient = TRANSIENT[code];
  if (transient !== undefined) return failure(`cannot start ${cmd}: ${transient} (${code})`, false);
  switch (code) {
    case 'ENOENT':
      // exec also says ENOENT when a script's #! interpreter is missing.
      if (req.launch.argv[0]!.includes('/') && existsSync(resolve(req.launch.cwd, req.launch.argv[0]!))) {
        return failure(`interpreter not found for ${cmd} (check its #! line) (ENOENT)`, true);
      }
      return failure(`command not found: ${cmd} (ENOENT)`, true);
    case 'EACCES':
      return failure(
        req.user === undefined
          ? `permission denied: ${cmd} is not executable (EACCES)`
          : `permission denied: ${cmd} is not executable by user "${req.user}", or its working directory is not accessible (EACCES)`,
        true,
      );
    default:
      // ENOTDIR, ELOOP, ENAMETOOLONG, EPERM (setuid refused), E2BIG...: the same spawn fails again.
      return failure(`cannot start ${cmd}: ${errorMessage(err)}`, true);
  }
}
