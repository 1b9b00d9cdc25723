// Hooks as tend runs them: normalised from `on:` in a service spec or in tend.yaml (durations in
// ms, paths absolute). spec means what the user wrote; the runner's results are HookOutcome.

import type { EventSelector } from './event-names.js';

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

/** How one run of a hook ended. */
export type HookOutcome =
  | { ok: true; attempts: number }
  | { ok: false; attempts: number; reason: string; exitCode: number | null; output: string; timedOut: boolean };

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
