// The runtime's contract: the hands of tend. It spawns, signals and stops process groups and
// reports exits; it makes no decisions (restart policy and back-off live in reconcile/).

import type { ReplicaLaunch } from '../spec/types.js';

/** Identifies one live replica process. `startTime` (field 22 of /proc/<pid>/stat, clock ticks
 *  since boot) makes the identity safe against pid reuse: a pid alone is never trusted. */
export interface ProcessHandle {
  pid: number;
  /** Process group id; equals pid, since every replica leads its own group. */
  pgid: number;
  startTime: number;
  /** Wall clock (ms since epoch) when it was spawned or, for an adopted one, when it started. */
  startedAt: number;
}

export interface ExitStatus {
  code: number | null;
  signal: NodeJS.Signals | null;
  at: number;
  /** An adopted process (not our child) whose exit status could not be read: only its parent
   *  can wait() for it, and that was the previous tend. */
  unknown?: boolean;
}

export interface StartRequest {
  launch: ReplicaLaunch;
  /** Absolute path of the replica's log file; its directory is created when missing. */
  logFile: string;
  /** Run as this user (name or uid); only allowed when tend runs as root. */
  user?: string;
}

export type StartResult =
  /** `logOffset`: the log's size when it was opened for this run, before the fork (where the
   *  run's output starts); absent from a runtime that writes no log. */
  | { ok: true; handle: ProcessHandle; logOffset?: number }
  /** `permanent`: retrying cannot help (command not found, not executable, missing cwd, unknown
   *  user) so the replica is `failed`; otherwise (EMFILE, EAGAIN, log dir unwritable) it backs off. */
  | { ok: false; reason: string; permanent: boolean };

export interface StopResult {
  /** True when the group outlived the stop timeout and SIGKILL was sent. */
  killed: boolean;
}

export interface GroupUsage {
  /** CPU percent summed over the group's live members (100 = one core). */
  cpu: number;
  /** Resident memory in bytes summed over the group's live members. */
  memory: number;
  /** Live members of the group. */
  processes: number;
  /** CPU seconds (user + system) the group's live members have used since each started (for counters). */
  cpuSeconds?: number;
}

/** What the reconciler needs from a runtime: the seam where tests put a recording fake. It makes
 *  no decisions and never throws at its caller for something a process did. */
export interface Runtime {
  /** Spawns one replica; resolves with its handle or a readable reason. `onExit` fires once, when
   *  the leader exits. */
  start(req: StartRequest, onExit: (status: ExitStatus) => void): Promise<StartResult>;
  /** Takes over a process started by an earlier tend; false when it no longer runs. */
  adopt(handle: ProcessHandle, onExit: (status: ExitStatus) => void): boolean;
  /** Signals the whole group (pause, resume, kill). */
  signal(handle: ProcessHandle, sig: NodeJS.Signals): void;
  /** Stops the whole group (signal, then SIGKILL at the deadline); resolves once it is empty,
   *  rejects only when it cannot be signalled at all (EPERM). */
  stop(handle: ProcessHandle, sig: NodeJS.Signals, timeoutMs: number): Promise<StopResult>;
  /** Stops watching; never kills a replica. */
  close(): void;
}
