// The fallback when state.json is lost or corrupt: find the process groups this state directory
// started anyway. Every replica is spawned with TEND_STATE_DIR=<absolute state dir> in its
// environment, and leads its own process group, so a scan of /proc finds exactly our groups —
// never anyone else's — and they can be stopped instead of left behind as orphans.

import { readdirSync, readFileSync } from 'node:fs';
import { readProcStat } from '../runtime/proc.js';

export const STATE_DIR_MARKER = 'TEND_STATE_DIR';

/** Group leaders (pid === pgid, alive) whose environment carries our state-dir marker. */
export function findMarkedGroups(stateDir: string): number[] {
  const needle = Buffer.from(`${STATE_DIR_MARKER}=${stateDir}\0`);
  const found: number[] = [];
  for (const name of readdirSync('/proc')) {
    const pid = Number(name);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    const stat = readProcStat(pid);
    if (!stat || stat.pgid !== pid || stat.state === 'Z' || stat.state === 'X') continue;
    try {
      const env = readFileSync(`/proc/${pid}/environ`);
      if (env.indexOf(needle) !== -1 || endsWithEntry(env, needle)) found.push(pid);
    } catch {
      // Gone, or not ours to read.
    }
  }
  return found;
}

function endsWithEntry(env: Buffer, needle: Buffer): boolean {
  const last = needle.subarray(0, needle.length - 1);
  return env.length >= last.length && env.subarray(env.length - last.length).equals(last);
}
