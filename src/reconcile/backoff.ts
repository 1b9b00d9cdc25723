// What an unplanned exit means for a replica: restart after a back-off, or give up (crash loop).
// Pure: the clock and the jitter come in as arguments, so every case is a table test.

import type { ServiceSpec } from '../spec/types.js';
import { formatDuration } from '../spec/units.js';

export interface CrashHistory {
  /** Exit times inside the restart window. */
  deaths: readonly number[];
  /** Consecutive restarts without a stable run. */
  streak: number;
  /** When the process that just exited started (undefined: it never ran). */
  startedAt?: number;
}

export type CrashVerdict =
  | { kind: 'restart'; deaths: number[]; streak: number; delayMs: number }
  | { kind: 'give-up'; deaths: number[]; reason: string };

/** Back-off delay for the n-th consecutive restart (n from 0): initial × factor^n, capped at max,
 *  spread by ±10% (`jitter` in [0, 1)) so that replicas that crashed together do not restart in step. */
export function backoffDelay(spec: Pick<ServiceSpec, 'backoff'>, streak: number, jitter: number): number {
  const { initialMs, maxMs, factor } = spec.backoff;
  const base = Math.min(maxMs, initialMs * Math.pow(factor, streak));
  return Math.round(Math.min(maxMs, base * (0.9 + 0.2 * jitter)));
}

/** Decides what a crash (an exit the restart policy says to restart) leads to. */
export function judgeCrash(
  spec: Pick<ServiceSpec, 'backoff' | 'maxRestarts' | 'restartWindowMs'>,
  history: CrashHistory,
  exitDescription: string,
  now: number,
  jitter: number,
): CrashVerdict {
  const deaths = [...history.deaths.filter((t) => t > now - spec.restartWindowMs), now];
  if (spec.maxRestarts > 0 && deaths.length > spec.maxRestarts) {
    return {
      kind: 'give-up',
      deaths,
      reason: `crash loop: ${spec.maxRestarts} restarts in ${formatDuration(spec.restartWindowMs)}, last ${exitDescription}`,
    };
  }
  // A run longer than reset_after was stable: the next crash starts the back-off from the beginning.
  const stable = history.startedAt !== undefined && now - history.startedAt >= spec.backoff.resetAfterMs;
  const streak = stable ? 0 : history.streak;
  return { kind: 'restart', deaths, streak: streak + 1, delayMs: backoffDelay(spec, streak, jitter) };
}

/** `exit code 1`, `signal SIGKILL`: how an exit reads in reasons and events. */
export function describeExit(code: number | null | undefined, signal: string | null | undefined): string {
  if (signal) return `signal ${signal}`;
  if (code === null || code === undefined) return 'exit (code unknown)';
  return `exit code ${code}`;
}
