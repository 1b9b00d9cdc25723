// The contract between the daemon (which owns the controller) and its clients: the control API on
// the Unix socket, the CLI and /metrics. JSON field names are snake_case and stable (DESIGN §5).

import type { ReplicaState } from '../reconcile/types.js';
import type { InspectReport } from './inspect.js';

export interface ReplicaStatus {
  index: number;
  state: ReplicaState;
  pid: number | null;
  ready: boolean;
  restarts: number;
  /** ISO 8601, or null when it has never run. */
  started_at: string | null;
  exit_code: number | null;
  signal: string | null;
  reason: string | null;
  /** ISO 8601 time of the next start when in back-off. */
  next_start_at: string | null;
  /** CPU percent (100 = one core) and resident bytes of the whole process group; null before the first sample. */
  cpu: number | null;
  memory: number | null;
  /** The spec hash it runs; differs from the service's while a rollout is under way. */
  hash: string;
}

export interface ServiceStatus {
  name: string;
  file: string;
  replicas_desired: number;
  ready: number;
  /** Summary: running | starting | pending | backoff | failed | completed | stopped | blocked | updating | paused */
  state: string;
  /** What it waits for (`db: healthy`), or why it is blocked (a cycle, an unknown dependency). */
  waiting_for: string | null;
  blocked: string | null;
  restarts: number;
  cpu: number | null;
  memory: number | null;
  /** ISO time the oldest live replica started. */
  started_at: string | null;
  hash: string;
  oneshot: boolean;
  /** The spec's labels (never restart anything; `tend status -l key=value` filters on them). */
  labels?: Record<string, string>;
  /** Base ports by name: replica i gets base + i. */
  ports?: Record<string, number>;
  replicas: ReplicaStatus[];
}

export interface SpecErrorStatus {
  file: string;
  line: number;
  column: number;
  message: string;
}

export interface StatusReport {
  services: ServiceStatus[];
  errors: SpecErrorStatus[];
  /** Converged: every wanted replica is where the spec wants it (running and ready, or completed),
   *  nothing is starting, stopping or waiting for a back-off, and no service is failed or blocked. */
  converged: boolean;
  /** The directory being supervised (its real path when it is a symlink). */
  source: string;
  pid: number;
}

/** One line of `tend plan`. op: + start, - stop, ~ replace, = scale, ! problem. */
export interface PlanChange {
  op: '+' | '-' | '~' | '=' | '!';
  service: string;
  index?: number;
  /** The rendered line: `+ web/2 start`, `~ api replace (env.LOG_LEVEL changed)`, `= worker scale 3 → 5`. */
  text: string;
}

export interface PlanReport {
  changes: PlanChange[];
  errors: SpecErrorStatus[];
}

/** An event (DESIGN §7). Fields that do not apply are omitted. */
export interface TendEvent {
  ts: string;
  type: string;
  service?: string;
  replica?: number;
  pid?: number;
  exit_code?: number | null;
  signal?: string | null;
  reason?: string;
  /** Extra detail, e.g. a probe's last output or a spec problem's location. */
  detail?: string;
}

/** What the daemon exposes to the API server. Methods throw TendError (API_NOT_FOUND, API_BAD_REQUEST,
 *  ...) for bad input; the server maps codes to HTTP statuses. */
export interface ControlPlane {
  status(): StatusReport;
  /** `index` undefined means every replica of the service. */
  restart(service: string, index?: number): void;
  pause(service: string, index?: number): void;
  resume(service: string, index?: number): void;
  kill(service: string, index: number | undefined, signal: NodeJS.Signals): void;
  /** What applying `dir` would change, compared with what runs now. */
  plan(dir: string): Promise<PlanReport>;
  /** Re-read the spec source now (the watcher normally does this). */
  reload(): void;
  /** Stop every service, dependents first, then the daemon exits. Resolves when all are stopped. */
  shutdown(): Promise<void>;
  /** Log files of a service's replicas (all indexes, or one). */
  logFiles(service: string, index?: number): { service: string; index: number; path: string }[];
  /** Past events (newest last) and a live subscription; the returned function unsubscribes. */
  recentEvents(limit: number): TendEvent[];
  subscribe(listener: (event: TendEvent) => void): () => void;
  /** Prometheus text exposition. */
  metrics(): Promise<string>;
  /** The effective spec and each replica's argv, cwd, ports and environment (`tend inspect`);
   *  secret-looking values masked unless `reveal`. */
  inspect?(service: string, index: number | undefined, reveal: boolean, allEnv?: boolean): InspectReport;
}
