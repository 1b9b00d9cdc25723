// Resource usage per replica, a replica being its whole process group. One pass over /proc finds
// every group's live members AND reads their CPU time and RSS from the same stat line, so a sample
// costs one small read per process on the machine and no subprocess.
//
// Why not pidusage (checked against its 4.1 source, lib/procfile.js and lib/history.js): it keeps
// an open fd to /proc/<pid>/stat for every pid it has sampled, for 60 s after the last sample
// (1000 replicas = 1000+ fds held; with the common soft limit of 1024 that starves spawns with
// EMFILE). A reused pid keeps hitting the old fd and errors for as long as it is sampled, since
// each sample renews the stale entry, so that replica's figures vanish for good; clear() drops the
// history without closing those fds. And it would re-read files the group scan has just read.

import { existsSync } from 'node:fs';

import { CLOCK_TICKS, PAGE_SIZE, scanGroupsInSlices, uptimeSeconds } from './proc.js';
import type { GroupUsage } from './types.js';

/** CPU ticks seen at the previous sample, by pid; startTime guards against pid reuse. */
interface Seen {
  pgid: number;
  startTime: number;
  cpuTicks: number;
  /** Seconds since boot when sampled. */
  at: number;
}

let previous = new Map<number, Seen>();

// Samples CPU and memory of every given group (summed over its live members), for status,
// metrics and limits. CPU% is over the time since the previous sample of the same process (for a
// process seen for the first time: since it started, as `ps` does). Every pgid gets an entry.
// The scan yields to the event loop as it goes (scanGroupsInSlices); one sample at a time (the
// history is shared): the sampler (reconcile/sampler.ts) never starts one before the last ended.
export async function sampleUsage(pgids: number[], slice?: number): Promise<Map<number, GroupUsage>> {
  const now = uptimeSeconds();
  const groups = await scanGroupsInSlices(pgids, slice);
  const seen = new Map<number, Seen>();
  const out = new Map<number, GroupUsage>();
  for (const [pgid, members] of groups) {
    const usage: GroupUsage = { cpu: 0, memory: 0, processes: members.length };
    let cpuSeconds = 0;
    for (const m of members) {
      const before = previous.get(m.pid);
      const base =
        before !== undefined && before.startTime === m.startTime
          ? before
          : { cpuTicks: 0, at: m.startTime / CLOCK_TICKS };
      const seconds = now - base.at;
      if (seconds > 0) usage.cpu += ((m.cpuTicks - base.cpuTicks) / CLOCK_TICKS / seconds) * 100;
      usage.memory += m.rssPages * PAGE_SIZE;
      cpuSeconds += m.cpuTicks / CLOCK_TICKS;
      seen.set(m.pid, { pgid, startTime: m.startTime, cpuTicks: m.cpuTicks, at: now });
    }
    if (members.length > 0) usage.cpuSeconds = cpuSeconds;
    out.set(pgid, usage);
  }
  // Keep what this sample saw, plus earlier entries of groups not asked for this time whose
  // process still exists; an exited process is dropped, so the history never outgrows the
  // processes alive on the machine.
  const asked = new Set(pgids);
  for (const [pid, s] of previous) {
    if (!seen.has(pid) && !asked.has(s.pgid) && existsSync(`/proc/${pid}`)) seen.set(pid, s);
  }
  previous = seen;
  return out;
}

// How many processes the CPU history holds: bounded by the live processes (tests, metrics).
export function usageHistorySize(): number {
  return previous.size;
}
