// state.json: the replicas tend runs, so that a new daemon can adopt them after a crash of the old
// one (DESIGN §4). Each replica is recorded with pid *and* /proc start time (pids are reused) and
// its process group; the specs they run are stored once per hash.

import { readFileSync, renameSync } from 'node:fs';
import type { Instance } from '../reconcile/types.js';
import type { ServiceSpec } from '../spec/types.js';
import { writeFileAtomic } from '../util/atomic-write.js';

export interface ReplicaRecord {
  service: string;
  index: number;
  pid: number;
  pgid: number;
  procStart: number;
  startedAt: number;
  hash: string;
  restarts: number;
}

export interface StateFile {
  version: 1;
  daemonPid: number;
  specs: Record<string, ServiceSpec>;
  replicas: ReplicaRecord[];
}

export type StateRead =
  | { kind: 'missing' }
  | { kind: 'ok'; state: StateFile }
  /** Unreadable or malformed: it was moved aside to `movedTo`. */
  | { kind: 'corrupt'; error: string; movedTo: string };

/** The records worth keeping: instances with a process. */
export function snapshotState(instances: Iterable<Readonly<Instance>>, daemonPid: number): StateFile {
  const specs: Record<string, ServiceSpec> = {};
  const replicas: ReplicaRecord[] = [];
  for (const i of instances) {
    if (i.pid === undefined || i.pgid === undefined || i.procStart === undefined) continue;
    specs[i.spec.hash + ':' + i.service] = i.spec;
    replicas.push({
      service: i.service,
      index: i.index,
      pid: i.pid,
      pgid: i.pgid,
      procStart: i.procStart,
      startedAt: i.startedAt ?? 0,
      hash: i.spec.hash,
      restarts: i.restarts,
    });
  }
  return { version: 1, daemonPid, specs, replicas };
}

export function specOf(state: StateFile, r: ReplicaRecord): ServiceSpec | undefined {
  return state.specs[r.hash + ':' + r.service];
}

export function writeState(path: string, state: StateFile): void {
  writeFileAtomic(path, JSON.stringify(state));
}

/** Reads state.json; a corrupt file is moved aside (never deleted: it is evidence) and reported. */
export function readState(path: string, now = Date.now()): StateRead {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { kind: 'missing' };
    return aside(path, now, (err as Error).message);
  }
  try {
    const state = JSON.parse(text) as StateFile;
    if (state?.version !== 1 || !Array.isArray(state.replicas) || typeof state.specs !== 'object' || state.specs === null) {
      return aside(path, now, 'not a tend state file (version 1)');
    }
    for (const r of state.replicas) {
      if (![r.pid, r.pgid, r.procStart, r.index].every(Number.isInteger) || typeof r.service !== 'string') {
        return aside(path, now, `malformed replica record ${JSON.stringify(r).slice(0, 100)}`);
      }
    }
    return { kind: 'ok', state };
  } catch (err) {
    return aside(path, now, (err as Error).message);
  }
}

function aside(path: string, now: number, error: string): StateRead {
  const movedTo = `${path}.corrupt-${now}`;
  try {
    renameSync(path, movedTo);
  } catch {
    // Leave it where it is; it will be overwritten by the next good state.
  }
  return { kind: 'corrupt', error, movedTo };
}
