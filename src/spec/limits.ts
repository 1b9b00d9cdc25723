// How many replicas one service may ask for: not a number picked by tend, but what this machine
// lets this process run. Each replica is at least one process, so the kernel's pid_max and (for a
// user other than root) RLIMIT_NPROC bound it. A running replica holds no file descriptor in the
// daemon (its log fd is passed to the child and closed at once), but each probe in flight holds
// one to three (a socket, or an exec's two pipes and libuv's spawn pipe), so a service with probes
// is also bounded by RLIMIT_NOFILE. Read from /proc, which never blocks.

import { readFileSync } from 'node:fs';

/** Processes and descriptors left for everything that is not a replica (the daemon, its shell, probes of others). */
const PROCESS_RESERVE = 300;
const FD_RESERVE = 256;
/** File descriptors one replica's probes may hold at once (an exec probe: stdout, stderr, spawn pipe). */
export const FDS_PER_PROBED_REPLICA = 3;

export interface ReplicaLimit {
  /** The largest `replicas` allowed. */
  max: number;
  /** What sets it, for the error message: `the kernel's pid_max is 32768 (/proc/sys/kernel/pid_max)`. */
  reason: string;
}

export interface MachineLimits {
  pidMax: number | undefined;
  nproc: number | undefined;
  nofile: number | undefined;
  root: boolean;
}

function readNumber(path: string): number | undefined {
  try {
    const n = Number(readFileSync(path, 'utf8').trim());
    return Number.isFinite(n) && n > 0 ? n : undefined;
  } catch {
    return undefined;
  }
}

// The soft limit on a line of /proc/self/limits ("Max processes  96364  96364  processes").
function softLimit(text: string, name: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(name));
  const soft = line?.slice(name.length).trim().split(/\s+/)[0];
  if (soft === undefined || soft === 'unlimited') return undefined;
  const n = Number(soft);
  return Number.isFinite(n) && n > 0 ? n : undefined;
}

/** The limits of this process, as the kernel reports them now. */
export function machineLimits(): MachineLimits {
  let limits = '';
  try {
    limits = readFileSync('/proc/self/limits', 'utf8');
  } catch {
    // Not Linux, or no /proc: nothing is known, nothing is bounded here.
  }
  return {
    pidMax: readNumber('/proc/sys/kernel/pid_max'),
    nproc: softLimit(limits, 'Max processes'),
    nofile: softLimit(limits, 'Max open files'),
    root: process.getuid?.() === 0,
  };
}

/**
 * The default bound of `replicas` for one service on this machine (the daemon and `tend validate`
 * use it unless given --max-replicas). `probed`: the service has a readiness or liveness probe.
 */
export function replicaLimit(probed: boolean, m: MachineLimits = machineLimits()): ReplicaLimit {
  const candidates: ReplicaLimit[] = [];
  if (m.pidMax !== undefined) {
    candidates.push({ max: Math.max(0, m.pidMax - PROCESS_RESERVE), reason: `each replica is a process and the kernel's pid_max is ${m.pidMax} (/proc/sys/kernel/pid_max), less ${PROCESS_RESERVE} kept for other processes` });
  }
  // The kernel does not apply RLIMIT_NPROC to root.
  if (m.nproc !== undefined && !m.root) {
    candidates.push({ max: Math.max(0, m.nproc - PROCESS_RESERVE), reason: `each replica is a process and tend's RLIMIT_NPROC (ulimit -u) is ${m.nproc}, less ${PROCESS_RESERVE} kept for other processes` });
  }
  if (probed && m.nofile !== undefined) {
    candidates.push({
      max: Math.max(0, Math.floor((m.nofile - FD_RESERVE) / FDS_PER_PROBED_REPLICA)),
      reason: `each probed replica may hold ${FDS_PER_PROBED_REPLICA} file descriptors while its probe runs and tend's RLIMIT_NOFILE (ulimit -n) is ${m.nofile}, less ${FD_RESERVE} kept for the daemon`,
    });
  }
  if (candidates.length === 0) return { max: Number.MAX_SAFE_INTEGER, reason: 'no limit is known on this system' };
  return candidates.reduce((a, b) => (b.max < a.max ? b : a));
}
