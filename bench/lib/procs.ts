// /proc readers and process cleanup for the bench. Every process a bench starts is registered here
// (by pid and start time, so that a reused pid is never hit) and killed — by process group where it
// leads one, else by pid — at the end of its workload and again when the bench exits, even on error
// or Ctrl-C. Never by name or pattern.

import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { isLive, readProcStat } from '../../src/runtime/proc.js';
import { sleep } from './timers.js';

export { isLive, readProcStat };

/** Clock ticks per second for /proc/<pid>/stat CPU fields (getconf CLK_TCK; 100 on Linux). */
export const CLK_TCK = 100;

/** Processes whose working directory is under `dir` (a directory of the bench's own). */
export function pidsWithCwdUnder(dir: string): number[] {
  const found: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (`${readlinkSync(`/proc/${name}/cwd`)}/`.startsWith(dir)) found.push(Number(name));
    } catch {
      /* gone, or not ours to read */
    }
  }
  return found;
}

/** Direct children of `pid` (all its threads), zombies included; [] when it is gone. */
export function childrenOf(pid: number): number[] {
  let tasks: string[];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return [];
  }
  const out: number[] = [];
  for (const t of tasks) {
    let text: string;
    try {
      text = readFileSync(`/proc/${pid}/task/${t}/children`, 'latin1');
    } catch {
      continue;
    }
    for (const p of text.split(' ')) if (p !== '' && p !== '\n') out.push(Number(p));
  }
  return out;
}

/** True while the process exists and is not a zombie (PID 1 here does not reap orphans). */
export function alive(pid: number, startTime?: number): boolean {
  const s = readProcStat(pid);
  return s !== null && isLive(s.state) && (startTime === undefined || s.startTime === startTime);
}

/** The command line, arguments joined by spaces ('' when gone). */
export function cmdlineOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'latin1').split('\0').join(' ');
  } catch {
    return '';
  }
}

export function comm(pid: number): string | null {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'latin1').trim();
  } catch {
    return null;
  }
}

/**
 * The replicas of one supervisor as the kernel sees them: its live children that have exec'd into
 * `command` (before exec, a forked child still has the supervisor's name). The same measure for
 * every system benched, so no supervisor's own bookkeeping is taken on trust. Every replica seen is
 * registered for cleanup.
 *
 * `via`: the replicas are grandchildren, one per intermediate child with this name (s6: one
 * `s6-supervise` per service under `s6-svscan`).
 *
 * A scan reads the children lists and stats only pids it has not seen before: a child already
 * known as a replica counts while the kernel lists it (a replica that died is listed, as a zombie,
 * only until its supervisor reaps it). That keeps a scan of 10,000 replicas to a few reads.
 */
export class ReplicaWatch {
  private readonly known = new Map<number, number>(); // pid -> start time, exec'd into command
  private readonly intermediates = new Map<number, boolean>(); // pid -> is a `via` process

  constructor(
    private readonly supervisorPid: () => number | undefined,
    private readonly command = 'sleep',
    private readonly via?: string,
    /** Other processes whose children are replicas (tend's spawn helper). */
    private readonly moreParents: () => number[] = () => [],
  ) {}

  /** The processes whose children are replicas. */
  parents(): number[] {
    const sup = this.supervisorPid();
    if (sup === undefined) return [];
    if (this.via === undefined) return [sup, ...this.moreParents()];
    const out: number[] = [];
    for (const pid of childrenOf(sup)) {
      let is = this.intermediates.get(pid);
      if (is === undefined) {
        const c = comm(pid);
        if (c === null) continue;
        // A child not yet exec'd has its parent's name: decide on a later scan.
        if (c !== this.via && c === comm(sup)) continue;
        is = c === this.via;
        this.intermediates.set(pid, is);
      }
      if (is) out.push(pid);
    }
    return out;
  }

  /** Live replicas now (pid -> start time). */
  scan(): Map<number, number> {
    const live = new Map<number, number>();
    for (const parent of this.parents()) {
      for (const pid of childrenOf(parent)) {
        const seen = this.known.get(pid);
        if (seen !== undefined) {
          live.set(pid, seen);
          continue;
        }
        const st = readProcStat(pid);
        if (!st || !isLive(st.state)) continue;
        if (comm(pid) !== this.command) continue;
        this.known.set(pid, st.startTime);
        registry.addPid(pid, st.startTime, st.pgid === pid);
        live.set(pid, st.startTime);
      }
    }
    return live;
  }

  /** Whether `pid` is one of the processes whose children are replicas (see parents()), decided
   *  from that process alone rather than from the supervisor's list of children. */
  isParent(pid: number): boolean {
    const sup = this.supervisorPid();
    if (sup === undefined) return false;
    if (this.via === undefined) return pid === sup || this.moreParents().includes(pid);
    let is = this.intermediates.get(pid);
    if (is === undefined) {
      const c = comm(pid);
      if (c === null || readProcStat(pid)?.ppid !== sup) return false;
      if (c !== this.via && c === comm(sup)) return false; // not exec'd yet: decide on a later look
      is = c === this.via;
      this.intermediates.set(pid, is);
    }
    return is;
  }

  /** Replicas started from now on. With `via`, only under intermediates not among `oldParents` (a
   *  new service is a new intermediate). */
  newReplicas(oldParents?: ReadonlySet<number>): NewProcesses {
    return new NewProcesses(this.command, (ppid) => this.isParent(ppid) && !oldParents?.has(ppid), (pid, startTime) => this.known.set(pid, startTime));
  }

  count(): number {
    return this.scan().size;
  }

  /** Every replica ever seen (pid -> start time). */
  everSeen(): Map<number, number> {
    return new Map(this.known);
  }
}

interface Entry {
  pid: number;
  startTime: number;
  group: boolean;
}

/** What the bench has started, to be killed at the end. */
class Registry {
  private entries = new Map<number, Entry>();
  private readonly beforeKill = new Set<() => void>();

  /** Runs `find` before each killAll (also on SIGINT): it registers what only its driver can find,
   *  such as processes that left the groups registered. Returns what removes it. */
  onKill(find: () => void): () => void {
    this.beforeKill.add(find);
    return () => this.beforeKill.delete(find);
  }

  /** Registers a process (and its group, when `group`: it leads one). */
  addPid(pid: number, startTime?: number, group = false): void {
    const st = startTime ?? readProcStat(pid)?.startTime;
    if (st === undefined) return;
    this.entries.set(pid, { pid, startTime: st, group });
  }

  /** SIGKILLs every registered process still alive (the group when it leads one). Synchronous. */
  killAll(): number {
    for (const find of this.beforeKill) find();
    let killed = 0;
    for (const e of this.entries.values()) {
      const s = readProcStat(e.pid);
      if (s === null || s.startTime !== e.startTime) {
        this.entries.delete(e.pid);
        continue;
      }
      // A group's members may outlive a dead leader: kill the group even when the leader is a zombie.
      if (e.group || s.pgid === e.pid) {
        try {
          process.kill(-e.pid, 'SIGKILL');
          killed++;
        } catch {
          /* already empty */
        }
      }
      if (isLive(s.state)) {
        try {
          process.kill(e.pid, 'SIGKILL');
          killed++;
        } catch {
          /* gone */
        }
      } else {
        this.entries.delete(e.pid);
      }
    }
    return killed;
  }

  /** Kills everything registered and waits (up to `timeoutMs`) until none of it is alive. */
  async killAndWait(timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      this.killAll();
      const left = [...this.entries.values()].filter((e) => alive(e.pid, e.startTime));
      if (left.length === 0) return;
      if (Date.now() > deadline) throw new Error(`${left.length} bench processes still alive after SIGKILL: ${left.slice(0, 5).map((e) => e.pid).join(' ')}`);
      await sleep(20);
    }
  }
}

export const registry = new Registry();

let hooked = false;
/** Kill everything registered when the bench exits, however it exits. */
export function installExitCleanup(): void {
  if (hooked) return;
  hooked = true;
  process.on('exit', () => registry.killAll());
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(sig, () => {
      process.stderr.write(`\nbench: ${sig}, killing every process it started\n`);
      registry.killAll();
      // Once more, a moment later: what a supervisor forked just before it was killed (the
      // drivers' onKill finds it).
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 100);
      registry.killAll();
      process.exit(130);
    });
  }
}

/** Waits until none of `pids` (pid -> start time) is alive; resolves with performance.now(). */
export async function waitGone(pids: Map<number, number>, opts: { timeoutMs?: number; intervalMs?: number } = {}): Promise<number> {
  const deadline = performance.now() + (opts.timeoutMs ?? 60_000);
  const list = [...pids];
  let gone = 0;
  for (;;) {
    // Up to the first one still alive: a look reads the pids gone since the last one, plus one.
    // Reading all 5000 left at each look took ~10 ms of the bench's CPU every 10 ms, taken from
    // the system it measured (bench/FINDINGS.md §15).
    while (gone < list.length && !alive(...list[gone]!)) gone++;
    const at = performance.now();
    if (gone === list.length) return at;
    if (at > deadline) throw new Error(`${list.slice(gone).filter(([pid, st]) => alive(pid, st)).length} processes still alive after ${opts.timeoutMs ?? 60_000} ms`);
    await sleep(opts.intervalMs ?? 10);
  }
}

/** CPU ticks (user + system) and RSS bytes of one process, or null when it is gone. */
export function usageOf(pid: number): { cpuTicks: number; rssBytes: number } | null {
  const s = readProcStat(pid);
  if (!s) return null;
  let rssBytes = s.rssPages * 4096;
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'latin1'));
    if (m) rssBytes = Number(m[1]) * 1024;
  } catch {
    /* gone */
  }
  return { cpuTicks: s.cpuTicks, rssBytes };
}

/** Minor page faults of one process so far (its pages touched the first time, mostly), or null when
 *  it is gone: field 10 of /proc/PID/stat. Counted from its fork, across its exec. */
export function minorFaultsOf(pid: number): number | null {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'latin1');
    const v = Number(text.slice(text.lastIndexOf(')') + 2).split(' ')[7]);
    return Number.isFinite(v) ? v : null;
  } catch {
    return null;
  }
}

/** Proportional set size (shared pages divided among their sharers), or undefined. */
function pssOf(pid: number): number | undefined {
  try {
    const m = /^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'latin1'));
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** CPU ticks and memory of a supervisor: its RSS when it is one process; summed over several
 *  processes (s6: s6-svscan and every s6-supervise) their PSS, so that the libraries they share
 *  count once rather than once per process. Null when the first (the root) is gone. */
export function usageOfAll(pids: number[]): { cpuTicks: number; rssBytes: number; processes: number } | null {
  let cpuTicks = 0;
  let rssBytes = 0;
  let processes = 0;
  for (const [i, pid] of pids.entries()) {
    const u = usageOf(pid);
    if (u === null) {
      if (i === 0) return null;
      continue;
    }
    cpuTicks += u.cpuTicks;
    rssBytes += pids.length > 1 ? (pssOf(pid) ?? u.rssBytes) : u.rssBytes;
    processes++;
  }
  return { cpuTicks, rssBytes, processes };
}

/** Orphaned zombies on the machine now (parent PID 1, which here never reaps them): machine-wide,
 *  so other users' processes count too. */
export function zombieCount(): number {
  let n = 0;
  for (const name of readdirSync('/proc')) {
    const pid = Number(name);
    if (!Number.isInteger(pid)) continue;
    const s = readProcStat(pid);
    if (s?.state === 'Z' && s.ppid === 1) n++;
  }
  return n;
}

/** The last `lines` lines of a text file, or '' when it cannot be read. */
export function tailOf(path: string, lines = 8): string {
  try {
    return readFileSync(path, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

/** The pid the kernel gave out last, from /proc/loadavg (threads take pids too). */
export function lastPid(): number {
  return Number(readFileSync('/proc/loadavg', 'latin1').split(' ')[4]);
}

/**
 * Processes made after it was created, found by the last pid the kernel gave out: a look reads
 * /proc/loadavg and then only the pids made since the look before. The bench used to read the
 * children lists of the replicas' parents instead, which at 5000 replicas took ~5 ms a look: that
 * was the time resolution of what it measured, and its poll took most of a core from the system
 * under test (bench/FINDINGS.md §15).
 */
export class NewProcesses {
  private last = lastPid();
  /** Made since, by an accepted parent, and not exec'd into the command yet. */
  private readonly forked = new Set<number>();

  constructor(
    private readonly command: string,
    private readonly parentOk: (ppid: number) => boolean,
    private readonly onFound: (pid: number, startTime: number) => void = () => {},
  ) {}

  /** A process made since, whose parent was accepted, that runs `command` now (registered for
   *  cleanup); undefined when there is none yet. */
  look(): number | undefined {
    const now = lastPid();
    for (const pid of pidsAfter(this.last, now)) {
      const st = readProcStat(pid);
      if (st && isLive(st.state) && this.parentOk(st.ppid)) this.forked.add(pid);
    }
    this.last = now;
    for (const pid of this.forked) {
      const st = readProcStat(pid);
      if (!st || !isLive(st.state)) {
        this.forked.delete(pid);
        continue;
      }
      if (comm(pid) !== this.command) continue; // not exec'd yet
      this.forked.delete(pid);
      registry.addPid(pid, st.startTime, st.pgid === pid);
      this.onFound(pid, st.startTime);
      return pid;
    }
    return undefined;
  }
}

/** The pids after `from` up to `to`, across a wrap past pid_max (the part above `from` capped:
 *  before a wrap the counter is near pid_max). */
function pidsAfter(from: number, to: number): number[] {
  const out: number[] = [];
  if (to >= from) {
    for (let p = from + 1; p <= to; p++) out.push(p);
    return out;
  }
  for (let p = from + 1; p < from + 65_536 && p <= PID_MAX; p++) out.push(p);
  for (let p = 1; p <= to; p++) out.push(p);
  return out;
}

const PID_MAX = (() => {
  try {
    return Number(readFileSync('/proc/sys/kernel/pid_max', 'latin1'));
  } catch {
    return 4_194_304;
  }
})();
