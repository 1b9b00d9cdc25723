// What a new daemon does with what the previous one left: pure, so every case is a table test.
//
// Order of trust (issue: the wrong process was adopted and the real replica killed):
//   1. replicas recorded in state.json whose pid still runs with the recorded start time: adopted
//      as recorded, whatever their environment says now;
//   2. recorded replicas that died while no daemon watched: their exit is judged (a job that
//      finished is not run again; see `exitedWhileAway`);
//   3. group leaders carrying this state directory's token (state/orphans.ts) that state.json
//      does not know (it was lost, or written a moment before the spawn): the oldest leader per
//      nonce is the replica, adopted when the spec it runs is the one in force for its slot;
//   4. everything else with our token is a replica's descendant that left its group (`setsid`,
//      a daemonising child) or a replica we cannot place: descendants are never replicas (they
//      are left alone, or stopped when the spec says `stop_escaped: kill`); an unplaceable replica
//      is stopped, so that no orphan and no duplicate is left.

import type { ServiceSpec } from '../spec/types.js';
import type { ExitStatus, ProcessHandle } from '../runtime/types.js';
import { oldestPerNonce, type MarkedGroup } from './orphans.js';
import { specOf, type NotifyRecord, type StateFile } from './state-file.js';

/** How a recorded replica's process looks now. */
export type Liveness =
  | { kind: 'alive' }
  /** Exited; `exit` when it could still be read (an unreaped zombie), else unknowable. */
  | { kind: 'exited'; exit?: Omit<ExitStatus, 'at'> };

export interface AdoptionInput {
  state?: StateFile;
  marked: MarkedGroup[];
  /** Liveness of each recorded replica, by pgid. */
  liveness: ReadonlyMap<number, Liveness>;
  /** The services in force now (the persisted last good specs, updated by a clean first load). */
  specs: ReadonlyMap<string, ServiceSpec>;
  /** False with --no-adopt: stop what runs instead. */
  adopt: boolean;
  /** Wall-clock ms of a process start, from its /proc start time. */
  startedAt: (startTime: number) => number;
  now: number;
}

interface Slot {
  service: string;
  index: number;
  spec: ServiceSpec;
  restarts: number;
  deaths: number[];
  streak: number;
}

export interface AdoptDecision extends Slot {
  handle: ProcessHandle;
  nonce?: string;
  /** notify (DESIGN §9): its session, from the state file. */
  notify?: NotifyRecord;
  /** Ready when the earlier tend last recorded it (state file); unknown, so not, without a record. */
  ready?: true;
}

export interface ExitedDecision extends Slot {
  /** The pid it had: named in the exit's events. */
  pid: number;
  /** Undefined when the exit status cannot be known (see README "What tend guarantees"). */
  exit?: ExitStatus;
  unknown: boolean;
  startedAt: number;
}

export interface StopDecision {
  handle: ProcessHandle;
  spec?: ServiceSpec;
  why: string;
}

export interface AdoptionPlan {
  adopt: AdoptDecision[];
  exited: ExitedDecision[];
  completed: { service: string; index: number; spec: ServiceSpec; exitedAt: number }[];
  stop: StopDecision[];
  /** Descendants that left a replica's group, with the replica's spec: kept, or stopped by
   *  the daemon when that spec says stop_escaped: kill. */
  escaped: { handle: ProcessHandle; nonce: string; spec?: ServiceSpec }[];
}

export function planAdoption(input: AdoptionInput): AdoptionPlan {
  const plan: AdoptionPlan = { adopt: [], exited: [], completed: [], stop: [], escaped: [] };
  // A slot may hold two processes of different specs: the old replica and its surge replacement,
  // when tend was killed in the middle of a rollout (both are adopted, the rollout goes on). Two of
  // the same spec are a duplicate. `taken` holds slot#hash of each process and record accounted for,
  // `filled` the slots that have one.
  const taken = new Set<string>();
  const filled = new Set<string>();
  const claimed = new Set<number>(); // pgids accounted for
  const nonces = new Map<string, ServiceSpec | undefined>(); // nonce → the replica's spec
  const handleOf = (pgid: number, startTime: number): ProcessHandle => ({ pid: pgid, pgid, startTime, startedAt: input.startedAt(startTime) });
  const state = input.state;

  // 1 and 2: the records; those that run first, so that a slot's live process wins over its
  // record of an exit, whichever came first in the file.
  const records = (state?.replicas ?? []).map((r) => ({ r, live: input.liveness.get(r.pgid) ?? ({ kind: 'exited' } as Liveness) }));
  records.sort((a, b) => Number(b.live.kind === 'alive') - Number(a.live.kind === 'alive'));
  for (const { r, live } of records) {
    const spec = state ? specOf(state, r) : undefined;
    const slot = `${r.service}/${r.index}`;
    const key = `${slot}#${r.hash}`;
    // Times the last daemon recorded on its own clock (util/clock.ts), which runs ahead of the
    // wall clock after the wall clock was stepped back: none is later than now here, or a replica
    // would look younger than it is, and a death would stay in the restart window for longer.
    const history = { restarts: r.restarts ?? 0, deaths: (r.deaths ?? []).map((t) => Math.min(t, input.now)), streak: r.streak ?? 0 };
    const startedAt = r.startedAt ? Math.min(r.startedAt, input.now) : r.startedAt;
    if (r.nonce) nonces.set(r.nonce, spec);
    if (live.kind === 'alive') {
      claimed.add(r.pgid);
      const handle = { pid: r.pid, pgid: r.pgid, startTime: r.procStart, startedAt: startedAt || input.startedAt(r.procStart) };
      if (!input.adopt || !spec || taken.has(key)) {
        plan.stop.push({ handle, ...(spec ? { spec } : {}), why: !input.adopt ? '--no-adopt' : taken.has(key) ? 'a second replica in its slot' : 'its spec is unknown' });
        continue;
      }
      taken.add(key);
      filled.add(slot);
      plan.adopt.push({ service: r.service, index: r.index, spec, handle, ...(r.nonce ? { nonce: r.nonce } : {}), ...(r.notify ? { notify: r.notify } : {}), ...(r.ready ? { ready: true } : {}), ...history });
    } else if (spec && input.adopt && !filled.has(slot)) {
      taken.add(key);
      filled.add(slot);
      plan.exited.push({
        service: r.service,
        index: r.index,
        pid: r.pid,
        spec,
        ...history,
        startedAt,
        unknown: live.exit === undefined,
        ...(live.exit ? { exit: { ...live.exit, at: input.now } } : {}),
      });
    }
  }

  // Completed jobs: a slot with a completion and no process is done.
  for (const c of state?.completions ?? []) {
    const spec = state ? specOf(state, c) : undefined;
    const slot = `${c.service}/${c.index}`;
    if (!spec || filled.has(slot)) continue;
    taken.add(`${slot}#${c.hash}`);
    filled.add(slot);
    plan.completed.push({ service: c.service, index: c.index, spec, exitedAt: c.exitedAt });
  }

  // Known escaped processes stay what they are.
  for (const e of state?.escaped ?? []) {
    if (!nonces.has(e.nonce)) nonces.set(e.nonce, undefined);
  }
  const knownEscaped = new Set((state?.escaped ?? []).map((e) => `${e.pgid}:${e.startTime}`));

  // 3 and 4: groups with our token that no record claims.
  const unclaimed = input.marked.filter((g) => !claimed.has(g.pgid) && !knownEscaped.has(`${g.pgid}:${g.startTime}`));
  for (const g of input.marked) {
    if (knownEscaped.has(`${g.pgid}:${g.startTime}`)) plan.escaped.push({ handle: handleOf(g.pgid, g.startTime), nonce: g.nonce ?? '' });
  }
  const descendants = unclaimed.filter((g) => g.nonce !== undefined && nonces.has(g.nonce));
  for (const g of descendants) {
    plan.escaped.push({ handle: handleOf(g.pgid, g.startTime), nonce: g.nonce!, ...(nonces.get(g.nonce!) ? { spec: nonces.get(g.nonce!)! } : {}) });
  }
  const { candidates, escaped } = oldestPerNonce(unclaimed.filter((g) => !descendants.includes(g)));
  for (const g of candidates) {
    const handle = handleOf(g.pgid, g.startTime);
    const spec = g.service !== undefined ? input.specs.get(g.service) : undefined;
    const slot = `${g.service}/${g.index}`;
    const key = `${slot}#${g.hash}`;
    const fits = spec !== undefined && g.index !== undefined && g.hash === spec.hash && g.index < spec.replicas;
    if (!input.adopt || !fits || taken.has(key)) {
      const why = !input.adopt ? '--no-adopt' : taken.has(key) ? 'a second replica in its slot' : 'nothing to adopt it as (its service or spec is no longer in force)';
      plan.stop.push({ handle, ...(spec ? { spec } : {}), why });
      continue;
    }
    taken.add(key);
    filled.add(slot);
    if (g.nonce) nonces.set(g.nonce, spec);
    // notify: whether it said READY is not in its environment; a stream client says it again.
    const notify = g.notifyToken ? { notify: { token: g.notifyToken, ready: false } } : {};
    plan.adopt.push({ service: g.service!, index: g.index!, spec: spec!, handle, ...(g.nonce ? { nonce: g.nonce } : {}), ...notify, restarts: 0, deaths: [], streak: 0 });
  }
  for (const g of escaped) {
    plan.escaped.push({ handle: handleOf(g.pgid, g.startTime), nonce: g.nonce!, ...(nonces.get(g.nonce!) ? { spec: nonces.get(g.nonce!)! } : {}) });
  }
  return plan;
}
