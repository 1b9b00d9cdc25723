// The normalised service spec: what the user wrote, with defaults filled in, durations in ms,
// sizes in bytes and paths absolute. Everything downstream (graph, planner, runtime, probes) reads
// only this shape, never raw YAML. Values that depend on the replica (`${VAR}`, ports, TEND_*) are
// left unexpanded here and resolved per replica by `expandReplica` (spec/expand.ts).

import type { SpecProblem } from '../errors.js';
import type { AlertRulesSpec, HookSpec } from './hook-types.js';

export type Condition = 'started' | 'healthy' | 'completed';
export type RestartPolicy = 'always' | 'on-failure' | 'never';

export type ProbeCheck =
  | { kind: 'exec'; command: string[] } // argv, run without a shell; fields may hold ${VAR}
  | { kind: 'http'; url: string } // may hold ${VAR}
  | { kind: 'tcp'; host: string; port: string }; // port may be "${PORT}"; host defaults to 127.0.0.1

export interface ProbeSpec {
  check: ProbeCheck;
  intervalMs: number; // default 2000 (readiness) / 10000 (liveness)
  timeoutMs: number; // default 1000
  failureThreshold: number; // default 3
  successThreshold: number; // default 1
  startPeriodMs: number; // default 0
}

export interface BackoffSpec {
  initialMs: number; // default 100
  maxMs: number; // default 30000
  factor: number; // default 2
  resetAfterMs: number; // default 60000
}

export interface UpdateSpec {
  strategy: 'rolling' | 'recreate'; // default rolling
  maxUnavailable: number; // default 1
  maxSurge: number; // default 0
}

export interface LimitsSpec {
  memoryBytes: number; // 0 = no limit
  cpuPercent: number; // 0 = no limit (100 = one core)
  maxRuntimeMs: number; // 0 = no limit
}

export interface LogsSpec {
  maxSizeBytes: number; // default 10Mi
  maxFiles: number; // default 5 (rotated files kept besides the live one)
}

export interface ServiceSpec {
  name: string;
  /** Absolute path of the file that defines it, and where in it (1-based). */
  file: string;
  line: number;
  /** argv; a string command in YAML becomes ['/bin/sh', '-c', cmd]. May hold ${VAR}. */
  command: string[];
  /** Absolute, resolved against the file's directory (default: that directory). May hold ${VAR}. */
  cwd: string;
  /** env_file contents merged under `env` (env wins); values may hold ${VAR}. Key order kept. */
  env: Record<string, string>;
  /** Absolute paths of env files, for the watcher. */
  envFiles: string[];
  replicas: number; // default 1
  /** Base ports: replica i gets NAME = base + i. */
  ports: Record<string, number>;
  dependsOn: Record<string, Condition>;
  readiness?: ProbeSpec;
  liveness?: ProbeSpec;
  restart: RestartPolicy; // default always (on-failure for oneshot)
  backoff: BackoffSpec;
  maxRestarts: number; // default 10; 0 = unlimited
  restartWindowMs: number; // default 5m
  stopSignal: NodeJS.Signals; // default SIGTERM
  stopTimeoutMs: number; // default 10s
  /** Processes that left the replica's group: kept (default) or killed with it. */
  stopEscaped: 'keep' | 'kill';
  oneshot: boolean; // default false
  update: UpdateSpec;
  limits: LimitsSpec;
  logs: LogsSpec;
  user?: string;
  labels: Record<string, string>;
  // ---- notify (DESIGN §9, docs/notify.md) ----
  /** Present when the spec uses notify, readiness.notify, watchdog, events or metadata. */
  notify?: NotifySpec;
  /** Hash of the process-shaping fields (command, cwd, env, env_file contents, ports, user). */
  hash: string;
  // ---- hooks and alerts (spec/hooks.ts); present only when written; never restart anything ----
  /** `on:` — each hook only sees this service's events. */
  hooks?: HookSpec[];
  /** `alerts:` — over tend.yaml's alerts and the defaults. */
  alerts?: AlertRulesSpec;
}

// ---- notify (DESIGN §9, docs/notify.md) ----
export interface NotifySpec {
  /** `notify: systemd`: a datagram socket (NOTIFY_SOCKET) besides tend's stream protocol. */
  systemd: boolean;
  /** `readiness: { notify: true }`: READY is the readiness signal, awaited this long. */
  readyTimeoutMs?: number;
  /** `watchdog`: no heartbeat for this long → stale → restart. */
  watchdogMs?: number;
  /** `events`: event name → JSON Schema of its data (checked with ajv). */
  events: Record<string, unknown>;
  /** `metadata`: passed as TEND_METADATA. */
  metadata?: unknown;
}

/** What one replica is launched with, all `${VAR}` resolved. */
export interface ReplicaLaunch {
  service: string;
  index: number;
  argv: string[];
  cwd: string;
  env: Record<string, string>;
  readiness?: ProbeSpec; // with check fields expanded
  liveness?: ProbeSpec;
}

/** The result of reading a spec source: every service that validated, and every problem found. */
export interface LoadResult {
  services: ServiceSpec[];
  problems: SpecProblem[];
  /** Every file read (absolute), good or bad, mapped to the service names it defined when it parsed
   *  far enough to tell (a broken file's services keep their last good spec). */
  files: Map<string, string[]>;
  /** Fingerprint of the whole tree (sorted names + contents, env files included). */
  fingerprint: string;
  /** Files the load read, or looked for, whose changes a watch on the directory does not see: the
   *  env files every spec names (those of a broken file or a service held back included, found or
   *  not) and the targets of spec files that are symlinks. The daemon watches them too. */
  watch?: string[];
}
