// What every command gets: where the daemon lives, a client for it, the output streams, and the
// small argument parsers the verbs share.

import { join, resolve } from 'node:path';
import { ApiClient } from '../api/client.js';
import { TendError } from '../errors.js';
import type { Term } from './term.js';
import { SOCKET_NAME } from '../state/pid-file.js';

export interface Cli {
  out: Term;
  err: Term;
  /** The state directory, absolute (`--state-dir`, else TEND_STATE_DIR, else `.tend`). */
  stateDir(): string;
  client(): ApiClient;
}

/** A Cli whose state directory and client timeout are read when a command runs (global options are
 *  parsed by then). */
export function makeCli(
  out: Term,
  err: Term,
  stateDirOption: () => string | undefined,
  clientTimeoutOption: () => string | undefined = () => undefined,
): Cli {
  const stateDir = () => resolve(stateDirOption() ?? process.env['TEND_STATE_DIR'] ?? '.tend');
  const client = () => {
    const raw = clientTimeoutOption() ?? process.env['TEND_CLIENT_TIMEOUT'];
    const timeoutMs = raw === undefined || raw === '' ? undefined : parseDuration(raw, '--client-timeout');
    return new ApiClient(join(stateDir(), SOCKET_NAME), timeoutMs === undefined ? {} : { timeoutMs });
  };
  return { out, err, stateDir, client };
}

export interface Target {
  service: string;
  replica?: number;
}

const TARGET = /^([a-z0-9][a-z0-9_-]{0,62})(?:\/(\d+))?$/;

/** `web` or `web/2`. */
export function parseTarget(arg: string): Target {
  const m = TARGET.exec(arg);
  if (!m) throw new TendError('API_BAD_REQUEST', `expected SERVICE or SERVICE/INDEX (like web or web/2), got "${arg}"`);
  return m[2] === undefined ? { service: m[1] as string } : { service: m[1] as string, replica: Number(m[2]) };
}

/** `150ms`, `2s`, `5m`, `1h` in milliseconds; the CLI asks for a unit so `--timeout 60` is not 60 ms. */
export function parseDuration(arg: string, option: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(arg.trim());
  if (!m) throw new TendError('API_BAD_REQUEST', `expected ${option} to be a duration such as 500ms, 60s or 5m, got "${arg}"`);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] as 'ms' | 's' | 'm' | 'h'];
  return Math.round(Number(m[1]) * unit);
}

/** A count such as `-n 100`. */
export function parseCount(arg: string, option: string): number {
  const n = Number(arg);
  if (!/^\d+$/.test(arg) || !Number.isSafeInteger(n)) {
    throw new TendError('API_BAD_REQUEST', `expected ${option} to be a whole number, got "${arg}"`);
  }
  return n;
}

/** `-o json` or the default table. */
export function parseOutput(arg: string | undefined): 'json' | 'table' {
  if (arg === undefined || arg === 'table') return 'table';
  if (arg === 'json') return 'json';
  throw new TendError('API_BAD_REQUEST', `expected -o to be json or table, got "${arg}"`);
}

/** Resolves after `ms`; used only to pace polling loops, never to wait for a state. */
export function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
