// Readers for /proc: the only way to tell a live process from a zombie, a reused pid from the one we
// started, and which processes belong to a group. No subprocesses (no `ps`): tend samples and polls
// these for up to thousands of replicas, so every reader is one small synchronous read.

import { closeSync, openSync, readdirSync, readFileSync, readSync } from 'node:fs';
import { constants as osConstants, endianness } from 'node:os';

export interface ProcStat {
  pid: number;
  ppid: number;
  pgid: number;
  /** One letter: R S D T t Z X I ... */
  state: string;
  /** Field 22: clock ticks since boot when the process started. With the pid, its identity. */
  startTime: number;
  /** CPU time used in user and kernel mode, in clock ticks (fields 14 + 15). */
  cpuTicks: number;
  /** Resident set size in pages (field 24). */
  rssPages: number;
  /** Field 52 (Linux 3.5+): the exit status as waitpid(2) reports it, meaningful for a zombie. */
  exitStatus?: number;
}

// /proc/<pid>/stat is well under 1 KiB; one buffer serves every read (all reads are synchronous).
const buf = Buffer.allocUnsafe(4096);

// Reads into the shared buffer with open/read/close: readFileSync adds an fstat per file, which
// shows when a scan reads thousands of them.
function readSmall(path: string): string | null {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return null;
  }
  try {
    const n = readSync(fd, buf, 0, buf.length, 0);
    return buf.toString('latin1', 0, n);
  } catch {
    return null; // ESRCH: the process went away between open and read
  } finally {
    closeSync(fd);
  }
}

// Parses one /proc/<pid>/stat line. The comm field (2) is in parentheses and may itself contain
// spaces and parentheses, so the fixed fields are counted from the last ')'.
export function parseProcStat(text: string): ProcStat | null {
  const close = text.lastIndexOf(')');
  if (close < 0) return null;
  const f = text.slice(close + 2).split(' ');
  // f[0] is field 3 (state); field n is f[n - 3].
  if (f.length < 22) return null;
  return {
    pid: Number(text.slice(0, text.indexOf(' '))),
    state: f[0]!,
    ppid: Number(f[1]),
    pgid: Number(f[2]),
    cpuTicks: Number(f[11]) + Number(f[12]),
    startTime: Number(f[19]),
    rssPages: Number(f[21]),
    ...(f.length >= 50 ? { exitStatus: Number(f[49]) } : {}),
  };
}

/** How a process that we did not spawn exited, read from its zombie (which lingers until its
 *  parent, or an init that reaps, collects it). Undefined when it is gone or not a zombie of the
 *  same start time: then the exit status is unknowable to anyone but its parent. */
export function zombieExit(pid: number, startTime: number): { code: number | null; signal: NodeJS.Signals | null } | undefined {
  const s = readProcStat(pid);
  if (s === null || s.state !== 'Z' || s.startTime !== startTime || s.exitStatus === undefined) return undefined;
  const status = s.exitStatus;
  const sig = status & 0x7f;
  if (sig === 0) return { code: (status >> 8) & 0xff, signal: null };
  const name = Object.entries(osConstants.signals).find(([, n]) => n === sig)?.[0] as NodeJS.Signals | undefined;
  return { code: null, signal: name ?? null };
}

// One process's stat, or null when there is no such process.
export function readProcStat(pid: number): ProcStat | null {
  const text = readSmall(`/proc/${pid}/stat`);
  return text === null ? null : parseProcStat(text);
}

// Z (zombie) and X (dead) are not running: PID 1 here does not reap orphans, so an orphan that
// exits stays Z for good and `kill -0` keeps succeeding on it.
export function isLive(state: string): boolean {
  return state !== 'Z' && state !== 'X';
}

// True when the handle's process still runs: the pid exists, is live, and started at the same tick
// (pids are reused, so a pid alone proves nothing).
export function sameProcess(handle: { pid: number; startTime: number }): boolean {
  const s = readProcStat(handle.pid);
  return s !== null && isLive(s.state) && s.startTime === handle.startTime;
}

/** Every pid that has an entry in /proc now (zombies included): one directory listing. */
export function listPids(): Set<number> {
  const pids = new Set<number>();
  for (const name of readdirSync('/proc')) {
    const pid = Number(name);
    if (pid > 0) pids.add(pid);
  }
  return pids;
}

// Every live process of the given groups, from ONE pass over /proc however many groups are asked
// for. Each requested pgid gets an entry (empty when the group has no live member).
export function scanGroups(pgids: Iterable<number>): Map<number, ProcStat[]> {
  const out = groupsOf(pgids);
  if (out.size === 0) return out;
  for (const name of readdirSync('/proc')) addMember(out, name);
  return out;
}

/** scanGroups, reading `slice` /proc entries per turn of the event loop: a scan of every process
 *  at 5000 replicas took ~140 ms, all of it time in which nothing else (a crash) was handled. */
export async function scanGroupsInSlices(pgids: Iterable<number>, slice = 256): Promise<Map<number, ProcStat[]>> {
  const out = groupsOf(pgids);
  if (out.size === 0) return out;
  const names = readdirSync('/proc');
  for (let k = 0; k < names.length; k++) {
    if (k > 0 && k % slice === 0) await new Promise<void>((r) => setImmediate(r));
    addMember(out, names[k]!);
  }
  return out;
}

function groupsOf(pgids: Iterable<number>): Map<number, ProcStat[]> {
  const out = new Map<number, ProcStat[]>();
  for (const g of pgids) out.set(g, []);
  return out;
}

function addMember(groups: Map<number, ProcStat[]>, name: string): void {
  const c = name.charCodeAt(0);
  if (c < 48 || c > 57) return; // not a pid directory
  const s = readProcStat(Number(name));
  if (s === null || !isLive(s.state)) return;
  groups.get(s.pgid)?.push(s);
}

// The pids of every live member of each group; see scanGroups.
export function liveGroupMembers(pgids: Iterable<number>): Map<number, number[]> {
  const out = new Map<number, number[]>();
  for (const [g, members] of scanGroups(pgids)) out.set(g, members.map((m) => m.pid));
  return out;
}

let bootMs: number | undefined;

// Wall-clock time of boot (`btime` in /proc/stat, whole seconds), to date processes we did not spawn.
export function bootTimeMs(): number {
  if (bootMs === undefined) {
    const m = /^btime (\d+)$/m.exec(readFileSync('/proc/stat', 'latin1'));
    // btime is always present on Linux; the fallback (uptime-based) only guards a parse surprise.
    bootMs = m ? Number(m[1]) * 1000 : Date.now() - uptimeSeconds() * 1000;
  }
  return bootMs;
}

// Clock ticks and page size from the ELF auxiliary vector (AT_CLKTCK = 17, AT_PAGESZ = 6): what
// sysconf() reads, without running `getconf`. 64-bit layout: pairs of (type, value) words.
function auxv(): { clockTicks: number; pageSize: number } {
  const r = { clockTicks: 100, pageSize: 4096 };
  try {
    const a = readFileSync('/proc/self/auxv');
    const le = endianness() === 'LE';
    for (let i = 0; i + 16 <= a.length; i += 16) {
      const type = Number(le ? a.readBigUInt64LE(i) : a.readBigUInt64BE(i));
      const value = Number(le ? a.readBigUInt64LE(i + 8) : a.readBigUInt64BE(i + 8));
      if (type === 17) r.clockTicks = value;
      else if (type === 6) r.pageSize = value;
      else if (type === 0) break;
    }
  } catch {
    /* keep the Linux defaults (USER_HZ is 100 on every mainstream architecture) */
  }
  return r;
}

/** Clock ticks per second (USER_HZ) and the memory page size in bytes. */
export const { clockTicks: CLOCK_TICKS, pageSize: PAGE_SIZE } = auxv();

// Wall-clock ms at which a process started, from its startTime in ticks (for adopted processes).
export function startTimeToMs(startTime: number): number {
  return bootTimeMs() + Math.round((startTime * 1000) / CLOCK_TICKS);
}

// Seconds since boot (first field of /proc/uptime): a monotonic base shared with startTime.
export function uptimeSeconds(): number {
  return Number(readFileSync('/proc/uptime', 'latin1').split(' ')[0]);
}
