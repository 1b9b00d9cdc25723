// state.json: what a new daemon needs to carry on after a crash (or an upgrade) of the old one,
// written atomically (DESIGN §4):
//   - the replicas that run: pid *and* /proc start time (pids are reused), process group, the
//     spawn's nonce (state/orphans.ts), the spec hash, and the crash-loop history;
//   - the jobs that completed, so that a restart of tend never runs a finished job again;
//   - the last good spec of every service, so that a first load that is not clean (services.d
//     missing mid-deploy, a file that a typo broke while the old daemon tolerated it) keeps what
//     runs exactly as a running daemon would.
// Specs are stored once per (hash, service).

import { readFileSync, renameSync } from 'node:fs';
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
  /** The spawn's nonce (absent in files written by tend before it had one). */
  nonce?: string;
  /** Crash-loop history: exit times in the restart window, and the back-off exponent. */
  deaths?: number[];
  streak?: number;
  /** Whether it was ready (in service) when this was written: a later tend takes it over as
   *  ready, so that a rollout it carries on keeps its pace (its probes go on from there). Absent
   *  when not ready, and in files of a tend before it was kept. */
  ready?: true;
  /** notify (DESIGN §9): its token and whether it said READY, so that a later tend accepts the
   *  replica again, recreates its datagram socket at the same path and keeps it ready. */
  notify?: NotifyRecord;
}

/** A replica's notify session as kept in the state file. A datagram sender says READY, its own
 *  watchdog period and often its STATUS once: a later tend cannot ask again. */
export interface NotifyRecord {
  token: string;
  ready: boolean;
  /** The watchdog period it set itself (WATCHDOG_USEC=), when it did. */
  watchdogMs?: number;
  /** Its last STATUS text (at most MAX_STATUS_CHARS, as tend keeps it). Written with the
   *  coalesced writes, not at once: a status said in the last ~250 ms before a crash may be lost. */
  status?: string;
}

/** A oneshot replica that exited 0 with this spec. */
export interface CompletionRecord {
  service: string;
  index: number;
  hash: string;
  exitedAt: number;
}

export interface StateFile {
  version: 2;
  daemonPid: number;
  specs: Record<string, ServiceSpec>;
  replicas: ReplicaRecord[];
  completions: CompletionRecord[];
  /** The services in force (the last good version of each), by name → key into `specs`. */
  desired: Record<string, string>;
  /** Processes that left a replica's group and were kept (stop_escaped: keep): never taken for
   *  a replica left over by this daemon, so a later start leaves them alone too. */
  escaped: EscapedRecord[];
  /** Services held by `tend stop` (a run-time hold survives a restart of tend). */
  held: string[];
}

export interface EscapedRecord {
  pgid: number;
  startTime: number;
  nonce: string;
}

export type StateRead =
  | { kind: 'missing' }
  | { kind: 'ok'; state: StateFile }
  /** Unreadable or malformed: it was moved aside to `movedTo`. */
  | { kind: 'corrupt'; error: string; movedTo: string };

/** What the daemon hands to `snapshotState`: plain data, no reconciler types. */
export interface StateSnapshotInput {
  replicas: Iterable<Omit<ReplicaRecord, 'hash'> & { spec: ServiceSpec }>;
  completions: Iterable<{ service: string; index: number; spec: ServiceSpec; exitedAt: number }>;
  desired: Iterable<ServiceSpec>;
  escaped?: Iterable<EscapedRecord>;
  held?: Iterable<string>;
}

const keyOf = (spec: ServiceSpec) => `${spec.hash}:${spec.name}`;

export function snapshotState(input: StateSnapshotInput, daemonPid: number): StateFile {
  const specs: Record<string, ServiceSpec> = {};
  const replicas: ReplicaRecord[] = [];
  const completions: CompletionRecord[] = [];
  const desired: Record<string, string> = {};
  for (const { spec, ...r } of input.replicas) {
    specs[keyOf(spec)] = spec;
    replicas.push({ ...r, hash: spec.hash });
  }
  for (const c of input.completions) {
    specs[keyOf(c.spec)] = c.spec;
    completions.push({ service: c.service, index: c.index, hash: c.spec.hash, exitedAt: c.exitedAt });
  }
  for (const spec of input.desired) {
    specs[keyOf(spec)] = spec;
    desired[spec.name] = keyOf(spec);
  }
  return { version: 2, daemonPid, specs, replicas, completions, desired, escaped: [...(input.escaped ?? [])], held: [...(input.held ?? [])] };
}

/** A replica for StateText: `id` names it (the daemon passes the instance id), `parts` are the
 *  values its record is made of, `record` builds the record when those changed since the last
 *  render. */
export interface KeyedReplica {
  id: string;
  parts: readonly unknown[];
  record(): Omit<ReplicaRecord, 'hash'> & { spec: ServiceSpec };
}

interface CachedRecord {
  parts: readonly unknown[];
  json: string;
  spec: ServiceSpec;
}

/** state.json's text, built from cached pieces: each replica record and each spec is serialised
 *  once, so that a write at 5000 replicas re-serialises only the replicas whose record changed
 *  since the last one. A record is cached by what it is made of, not by the instance object: an
 *  instance replaced for a change its record does not hold (running → stopping, ready) reuses it;
 *  keyed by instance object, every write while 5000 replicas stopped re-serialised all of them
 *  (100 ms of the stop). The text is JSON.stringify(snapshotState(...)) of the same input. */
export class StateText {
  private records = new Map<string, CachedRecord>();
  private readonly specs = new WeakMap<ServiceSpec, string>();

  render(input: Omit<StateSnapshotInput, 'replicas'> & { replicas: Iterable<KeyedReplica> }, daemonPid: number): string {
    const specs = new Map<string, ServiceSpec>();
    const replicas: string[] = [];
    // Only the replicas of this render are kept for the next.
    const next = new Map<string, CachedRecord>();
    for (const r of input.replicas) {
      let cached = this.records.get(r.id);
      if (!cached || !sameParts(cached.parts, r.parts)) {
        const { spec, ...rest } = r.record();
        cached = { parts: r.parts, json: JSON.stringify({ ...rest, hash: spec.hash }), spec };
      }
      next.set(r.id, cached);
      specs.set(keyOf(cached.spec), cached.spec);
      replicas.push(cached.json);
    }
    this.records = next;
    const completions: CompletionRecord[] = [];
    for (const c of input.completions) {
      specs.set(keyOf(c.spec), c.spec);
      completions.push({ service: c.service, index: c.index, hash: c.spec.hash, exitedAt: c.exitedAt });
    }
    const desired: Record<string, string> = {};
    for (const spec of input.desired) {
      specs.set(keyOf(spec), spec);
      desired[spec.name] = keyOf(spec);
    }
    const specText: string[] = [];
    for (const [key, spec] of specs) {
      let json = this.specs.get(spec);
      if (json === undefined) this.specs.set(spec, (json = JSON.stringify(spec)));
      specText.push(`${JSON.stringify(key)}:${json}`);
    }
    return (
      `{"version":2,"daemonPid":${JSON.stringify(daemonPid)},"specs":{${specText.join(',')}},"replicas":[${replicas.join(',')}],` +
      `"completions":${JSON.stringify(completions)},"desired":${JSON.stringify(desired)},` +
      `"escaped":${JSON.stringify([...(input.escaped ?? [])])},"held":${JSON.stringify([...(input.held ?? [])])}}`
    );
  }
}

function sameParts(a: readonly unknown[], b: readonly unknown[]): boolean {
  if (a.length !== b.length) return false;
  for (let k = 0; k < a.length; k++) if (a[k] !== b[k]) return false;
  return true;
}

export function specOf(state: StateFile, r: { service: string; hash: string }): ServiceSpec | undefined {
  return state.specs[`${r.hash}:${r.service}`];
}

/** The last good specs the previous daemon had in force. */
export function desiredOf(state: StateFile): ServiceSpec[] {
  return Object.values(state.desired)
    .map((k) => state.specs[k])
    .filter((s): s is ServiceSpec => s !== undefined);
}

export function writeState(path: string, state: StateFile | string): void {
  writeFileAtomic(path, typeof state === 'string' ? state : JSON.stringify(state));
}

/** Reads state.json (version 2, or version 1 from an older tend); a corrupt file is moved aside
 *  (never deleted: it is evidence) and reported. */
export function readState(path: string, now = Date.now()): StateRead {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { kind: 'missing' };
    return aside(path, now, (err as Error).message);
  }
  try {
    const raw = JSON.parse(text) as Omit<Partial<StateFile>, 'version'> & { version?: number };
    if ((raw?.version !== 1 && raw?.version !== 2) || !Array.isArray(raw.replicas) || typeof raw.specs !== 'object' || raw.specs === null) {
      return aside(path, now, 'not a tend state file (version 1 or 2)');
    }
    for (const r of raw.replicas) {
      if (![r.pid, r.pgid, r.procStart, r.index].every(Number.isInteger) || typeof r.service !== 'string') {
        return aside(path, now, `malformed replica record ${JSON.stringify(r).slice(0, 100)}`);
      }
      // notify: a malformed session is dropped, not the record (the replica is still adopted).
      if (r.notify !== undefined && (typeof r.notify?.token !== 'string' || r.notify.token === '' || typeof r.notify.ready !== 'boolean')) delete r.notify;
      if (r.notify?.watchdogMs !== undefined && !(Number.isInteger(r.notify.watchdogMs) && r.notify.watchdogMs > 0)) delete r.notify.watchdogMs;
      if (r.notify?.status !== undefined && typeof r.notify.status !== 'string') delete r.notify.status;
      if (r.ready !== undefined && r.ready !== true) delete r.ready;
    }
    const completions = Array.isArray(raw.completions)
      ? raw.completions.filter((c) => typeof c?.service === 'string' && Number.isInteger(c.index) && typeof c.hash === 'string')
      : [];
    const desired = raw.desired && typeof raw.desired === 'object' ? raw.desired : {};
    const escaped = Array.isArray(raw.escaped) ? raw.escaped.filter((e) => Number.isInteger(e?.pgid) && Number.isInteger(e.startTime) && typeof e.nonce === 'string') : [];
    return {
      kind: 'ok',
      state: { version: 2, daemonPid: raw.daemonPid ?? 0, specs: raw.specs, replicas: raw.replicas, completions, desired, escaped, held: Array.isArray(raw.held) ? raw.held.filter((h): h is string => typeof h === 'string') : [] },
    };
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
