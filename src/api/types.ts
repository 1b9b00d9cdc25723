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
  /** CPU seconds its group's live members have used (for tend_service_cpu_seconds_total); null before a sample. */
  cpu_seconds?: number | null;
  /** notify (DESIGN §9): the last STATUS the replica sent, or null. */
  status_text: string | null;
}

export interface ServiceStatus {
  name: string;
  file: string;
  replicas_desired: number;
  ready: number;
  /** Summary: running | starting | pending | backoff | failed | completed | stopped | held | blocked | updating | paused */
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
  /** Stopped by `tend stop` until `tend start` (a run-time hold; the files are unchanged). */
  held: boolean;
  /** What it waits for before starting, by condition (the dashboard draws the graph from it). */
  depends_on?: { service: string; condition: string }[];
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
  /** Alerts firing now (src/alerts), oldest first per service. */
  alerts?: AlertStatus[];
}

/** A firing alert in `status -o json` (the labels: alert, service, replica). */
export interface AlertStatus {
  alert: string;
  service: string;
  replica: number;
  /** ISO time its condition started to hold. */
  since: string;
  summary: string;
}

/** One line of `tend plan` (computed by the planner: src/reconcile/preview.ts). */
export type { PlanChange } from '../reconcile/plan-change.js';
import type { PlanChange } from '../reconcile/plan-change.js';

export interface PlanReport {
  changes: PlanChange[];
  errors: SpecErrorStatus[];
}

/** Events are the reconciler's typed union (src/reconcile/events.ts). */
export type { TendEvent } from '../reconcile/events.js';
import type { TendEvent } from '../reconcile/events.js';

/** What the daemon exposes to the API server. Methods throw TendError (API_NOT_FOUND, API_BAD_REQUEST,
 *  ...) for bad input; the server maps codes to HTTP statuses. */
export interface ControlPlane {
  /** With CPU and memory as last sampled: refreshUsage() first for current figures. */
  status(): StatusReport;
  /** Samples CPU and memory now unless a sample is recent; resolves once the figures are in (the
   *  scan yields to the daemon's other work as it goes). */
  refreshUsage?(): Promise<void>;
  /** `index` undefined means every replica of the service. A service `tend stop` holds is started
   *  again (the hold lifted, as compose and PM2 restart a stopped one): `released` says so. */
  restart(service: string, index?: number): { released: boolean } | void;
  pause(service: string, index?: number): void;
  resume(service: string, index?: number): void;
  kill(service: string, index: number | undefined, signal: NodeJS.Signals): void;
  /** `tend stop` (true) / `tend start` (false): a run-time hold on a whole service. */
  hold(service: string, on: boolean): void;
  /** What applying `dir` would change, compared with what runs now: its files' contents as if
   *  they stood where the running directory stands, or with `switchTo`, as if the daemon were
   *  pointed at `dir` (a release symlink switch, where a changed cwd is real). */
  plan(dir: string, opts?: { switchTo?: boolean }): Promise<PlanReport>;
  /** Re-read the spec source now (the watcher normally does this). */
  reload(): void;
  /** Stop every service, dependents first, then the daemon exits. Resolves when all are stopped. */
  shutdown(): Promise<void>;
  /** Log files of a service's replicas (all indexes, or one). */
  logFiles(service: string, index?: number): { service: string; index: number; path: string }[];
  /** Before their history is read from disk: these logs' time index made current (a run that
   *  began a moment ago has its separator). */
  syncLogIndex(paths: string[]): void;
  /** Past events (oldest first): at most the last `limit` of those with an id above `since` (all
   *  when undefined), served from events.jsonl when memory does not reach back far enough; and a
   *  live subscription, whose returned function unsubscribes. */
  recentEvents(limit: number, since?: number): TendEvent[] | Promise<TendEvent[]>;
  subscribe(listener: (event: TendEvent) => void): () => void;
  /** Prometheus text exposition. */
  metrics(): Promise<string>;
  /** The effective spec and each replica's argv, cwd, ports and environment (`tend inspect`);
   *  secret-looking values masked unless `reveal`. */
  inspect?(service: string, index: number | undefined, reveal: boolean, allEnv?: boolean): InspectReport;
}
