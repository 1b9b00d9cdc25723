// Observed state (status): what tend has seen of the processes it runs. Kept apart from the spec
// (what the user wrote). The controller is the only writer; `plan` gets a read-only snapshot.

import type { ProbeState } from '../health/types.js';
import type { ExitStatus } from '../runtime/types.js';
import type { ServiceSpec } from '../spec/types.js';
import type { Reason } from './events.js';

export type ReplicaState =
  | 'pending'
  | 'starting'
  | 'running'
  | 'stopping'
  | 'stopped'
  | 'backoff'
  | 'failed'
  | 'completed'
  | 'paused';

/** Why tend stopped (or is stopping) an instance; decides what its exit means. */
export type StopIntent =
  | 'scale' // index no longer wanted
  | 'replace' // its spec changed, or a manual restart rolls it
  | 'remove' // its service was removed
  | 'shutdown' // tend down / SIGTERM to tend
  | 'hold' // `tend stop SVC`: a run-time hold
  | 'restart'; // liveness or a limit failed: its exit counts as a restart

/** One process occupying the slot `service/index`. During a surge update a slot briefly has two:
 *  the old instance and its replacement. */
export interface Instance {
  /** Unique for the daemon's life: `svc/index#seq`. */
  id: string;
  service: string;
  index: number;
  state: ReplicaState;
  /** The spec this instance was started from: its hash, stop settings and dependencies. */
  spec: ServiceSpec;
  pid?: number;
  pgid?: number;
  /** /proc start time (clock ticks since boot), with pid the identity used for adoption. */
  procStart?: number;
  startedAt?: number;
  ready: boolean;
  readiness?: ProbeState;
  liveness?: ProbeState;
  /** Restarts of this slot since its spec last changed or a manual restart. */
  restarts: number;
  /** Exit times inside the restart window: the crash-loop tally. */
  deaths: number[];
  /** Consecutive restarts without a stable run: the back-off exponent. */
  streak: number;
  nextStartAt?: number;
  exitCode?: number | null;
  signal?: string | null;
  reason?: string;
  stopIntent?: StopIntent;
  /** Liveness or a limit failed: stop it and start it again (counted as a restart). */
  restartRequested?: string;
  /** The machine reason of that request (LivenessFailed, MemoryLimit, ...). */
  restartReason?: Reason;
  /** The leader's exit while its group is being stopped: kept until the group is empty. */
  pendingExit?: ExitStatus;
  /** Last STATUS text the replica reported (notify). */
  statusText?: string;
  /** notify (DESIGN §9): its secret token, whether it said READY and the watchdog period it set
   *  itself; persisted in the state file so that a later tend accepts the same token, its
   *  datagram socket returns at the same path, and it is timed as before. */
  notify?: { token: string; ready: boolean; watchdogMs?: number };
  /** The last CPU and memory sample, and how many samples in a row were over a limit. */
  usage?: { cpu: number; memory: number; processes: number; memoryOver: number; cpuOver: number };
  /** A manual restart: replace it by the update strategy, like a spec change. */
  replaceRequested?: boolean;
  /** The spawn's nonce (state/orphans.ts): how a later tend tells the replica from its descendants. */
  nonce?: string;
  /** When a oneshot completed (persisted, so that a restart of tend never runs it again). */
  completedAt?: number;
}

/** The instance with every property of Instance, in one order, absent ones undefined: the one
 *  hidden class of every instance the controller holds. The planner reads thousands of them on
 *  every event of a large service, and V8 reads a property of objects of one shape about ten times
 *  faster than of the many shapes that spreads and optional fields make (bench/plan-cost.ts). The
 *  mapped type makes a field added to Instance and forgotten here a compile error. */
export function withOneShape(i: Instance): Instance {
  const shaped: { [K in keyof Required<Instance>]: Instance[K] } = {
    id: i.id,
    service: i.service,
    index: i.index,
    state: i.state,
    spec: i.spec,
    pid: i.pid,
    pgid: i.pgid,
    procStart: i.procStart,
    startedAt: i.startedAt,
    ready: i.ready,
    readiness: i.readiness,
    liveness: i.liveness,
    restarts: i.restarts,
    deaths: i.deaths,
    streak: i.streak,
    nextStartAt: i.nextStartAt,
    exitCode: i.exitCode,
    signal: i.signal,
    reason: i.reason,
    stopIntent: i.stopIntent,
    restartRequested: i.restartRequested,
    restartReason: i.restartReason,
    pendingExit: i.pendingExit,
    statusText: i.statusText,
    notify: i.notify,
    usage: i.usage,
    replaceRequested: i.replaceRequested,
    nonce: i.nonce,
    completedAt: i.completedAt,
  };
  return shaped;
}

export interface DesiredState {
  services: ReadonlyMap<string, ServiceSpec>;
  /** Services that must not start (cycle, unknown dependency): name → reason. */
  blocked: ReadonlyMap<string, string>;
  /** tend is shutting down: everything is to be stopped, dependents first. */
  shuttingDown: boolean;
  /** Services held by `tend stop` (run-time state, kept across restarts of tend). */
  held?: ReadonlySet<string>;
}

export interface ObservedState {
  instances: ReadonlyMap<string, Readonly<Instance>>;
}

export type Action =
  | {
      kind: 'start';
      service: string;
      index: number;
      spec: ServiceSpec;
      reason: Reason;
      /** For people: `not running yet`, `restart after exit code 1`. */
      message: string;
      /** The slot's previous instance whose crash counters carry over (a restart after a crash). */
      continues?: string;
      /** An instance this start supersedes in the slot, forgotten once it has no process. */
      supersedes?: string;
    }
  | { kind: 'stop'; id: string; intent: StopIntent; reason: Reason; message: string }
  | { kind: 'forget'; id: string }
  /** A replica without a readiness probe has run for STABLE_START_MS: it counts as ready. */
  | { kind: 'ready'; id: string };

export interface Plan {
  actions: Action[];
  /** When a pass must run again even if nothing else happens (a back-off expiring). */
  wakeAt?: number;
  /** Services that wait, and for what: `db: healthy`. */
  waiting: Map<string, string>;
}
