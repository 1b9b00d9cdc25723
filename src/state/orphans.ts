// Finding our replicas without the state file (it was lost, corrupt, or written a moment before a
// spawn). Every replica is spawned with TEND_STATE_DIR=<absolute state dir> and TEND_SPEC_HASH in
// its environment, besides TEND_SERVICE and TEND_REPLICA, and leads its own process group; so one
// scan of /proc finds exactly the groups this state directory started — never anyone else's — and
// says which slot and which spec each one runs.

import { readdirSync, readFileSync } from 'node:fs';
import { readProcStat } from '../runtime/proc.js';

export const STATE_DIR_MARKER = 'TEND_STATE_DIR';
export const SPEC_HASH_VAR = 'TEND_SPEC_HASH';

export interface MarkedGroup {
  pgid: number;
  startTime: number;
  service?: string;
  index?: number;
  hash?: string;
}

/** Live group leaders (pid === pgid) whose environment carries our state-dir marker. */
export function findMarkedGroups(stateDir: string): MarkedGroup[] {
  const marker = `${STATE_DIR_MARKER}=${stateDir}`;
  const found: MarkedGroup[] = [];
  for (const name of readdirSync('/proc')) {
    const pid = Number(name);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    const stat = readProcStat(pid);
    if (!stat || stat.pgid !== pid || stat.state === 'Z' || stat.state === 'X') continue;
    let env: string[];
    try {
      env = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
    } catch {
      continue; // gone, or not ours to read
    }
    if (!env.includes(marker)) continue;
    const get = (key: string) => env.find((e) => e.startsWith(`${key}=`))?.slice(key.length + 1);
    const index = Number(get('TEND_REPLICA'));
    found.push({
      pgid: pid,
      startTime: stat.startTime,
      ...(get('TEND_SERVICE') ? { service: get('TEND_SERVICE') } : {}),
      ...(Number.isInteger(index) ? { index } : {}),
      ...(get(SPEC_HASH_VAR) ? { hash: get(SPEC_HASH_VAR) } : {}),
    });
  }
  return found;
}
