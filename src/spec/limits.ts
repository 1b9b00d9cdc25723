// How many replicas one service may ask for: not a number picked by tend, but what this machine
// lets this process run. Each replica is at least one process, so the kernel's pid_max and (for a
// user other than root) RLIMIT_NPROC bound it. A running replica holds no file descriptor in the
// daemon (its log fd is passed to the child and closed at once). A probe in flight holds one to
// three, but running out of them is transient (the probe fails with EMFILE and is retried; a test
// converges 60 probed replicas under `ulimit -n 128`), so RLIMIT_NOFILE is not a bound on
// `replicas`. Read from /proc, which never blocks.

import { readFileSync } from 'node:fs';

/** Processes and descriptors left for everything that is not a replica (the daemon, its shell, probes of others). */
const PROCESS_RESERVE = 300;

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

/** A positive number from a one-line kernel file (/proc/sys/...), or undefined. */
export function readNumber(path: string): number | undefined {
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
  void probed;
  if (candidates.length === 0) return { max: Number.MAX_SAFE_INTEGER, reason: 'no limit is known on this system' };
  return candidates.reduce((a, b) => (b.max < a.max ? b : a));
}
