// Hooks and alert rules as written (`on:` and `alerts:` in a service spec or in tend.yaml),
// normalised: durations in ms, paths absolute, thresholds in percent and bytes. They live in spec/
// because the spec loader builds them; src/hooks and src/alerts act on them.

import type { AlertName, EventSelector } from './hook-events.js';

export interface CommandHookAction {
  kind: 'command';
  /** argv, run without a shell. */
  command: string[];
  /** Absolute; default the directory of the file that declared the hook. */
  cwd: string;
  timeoutMs: number;
}

export interface WebhookAction {
  kind: 'webhook';
  /** May hold ${VAR} (a Slack URL is a secret): expanded from tend's environment when sent. */
  url: string;
  /** Header name → value; values may hold ${VAR}, expanded from tend's environment when sent. */
  headers: Record<string, string>;
  timeoutMs: number;
  /** Further attempts after the first fails (a network error, a timeout or a 5xx/429 status). */
  retries: number;
  /** Delay before the first retry; doubled for each further one. */
  retryDelayMs: number;
}

export type HookAction = CommandHookAction | WebhookAction;

export interface HookSpec {
  /** The `on:` key as written (`failed`, `alert.firing`, `crash_loop`). */
  on: string;
  selector: EventSelector;
  /** Only events of these services; undefined = every service (a spec's own hooks: just itself). */
  services?: string[];
  action: HookAction;
  /** Where it was declared, `file:line`, so a failure report can point at it. */
  origin: string;
}

export const HOOK_DEFAULTS = {
  commandTimeoutMs: 10_000,
  webhookTimeoutMs: 5_000,
  retries: 3,
  retryDelayMs: 500,
  /** Hooks run at once, at most. */
  concurrency: 4,
  /** Runs waiting for a slot, at most; more are dropped, counted and reported. */
  queueSize: 1000,
  /** Bytes of a failed hook's output kept in `hook.failed`. */
  outputTail: 2048,
} as const;

// ---- alert rules ----

export interface AlertRules {
  /** The replica is `failed` (crash loop, or it cannot be spawned) for `forMs`. */
  crash_loop: { forMs: number } | false;
  /** More than `max` restarts of one replica within `windowMs`. */
  restart_rate: { max: number; windowMs: number } | false;
  /** A liveness probe failing (or readiness lost) continuously for `forMs`. */
  unhealthy_for: { forMs: number } | false;
  /** CPU of a replica's process group above `percent` (100 = one core) for `forMs`. */
  cpu_high: { percent: number; forMs: number } | false;
  /** Resident memory of a replica's process group above `bytes` for `forMs`. */
  memory_high: { bytes: number; forMs: number } | false;
  /** The watchdog reported the replica stale (`replica.stale`), until it heartbeats or restarts. */
  watchdog_stale: { forMs: number } | false;
}

/** What a spec or tend.yaml wrote: only the rules it names. */
export type AlertRulesSpec = Partial<AlertRules>;

/** Crash loops and stale watchdogs are worth telling someone about out of the box; the rest need a
 *  threshold that only the operator knows. */
export const DEFAULT_ALERT_RULES: AlertRules = {
  crash_loop: { forMs: 0 },
  restart_rate: false,
  unhealthy_for: false,
  cpu_high: false,
  memory_high: false,
  watchdog_stale: { forMs: 0 },
};

/** The rules of one service: its own over tend.yaml's over the defaults. */
export function effectiveRules(service: AlertRulesSpec | undefined, daemon: AlertRulesSpec | undefined): AlertRules {
  return { ...DEFAULT_ALERT_RULES, ...daemon, ...service };
}

/** An alert that fires: which rule, for whom. */
export interface AlertKey {
  alert: AlertName;
  service: string;
  replica: number;
}

export interface FiringAlert extends AlertKey {
  /** ms since the epoch when it fired. */
  since: number;
  summary: string;
}
