// What every command gets: where the daemon lives, a client for it, the output streams, and the
// small argument parsers the verbs share.

import { statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { displayPath, fromWorkingDir, workingDir } from '../util/working-dir.js';
import { ApiClient } from '../api/client.js';
import { TendError } from '../errors.js';
import type { Term } from './term.js';
import { SOCKET_NAME } from '../state/pid-file.js';

export interface Cli {
  out: Term;
  err: Term;
  /** The state directory, absolute: `--state-dir`, else TEND_STATE_DIR, else the nearest `.tend/`
   *  in the working directory or its parents, else `./.tend`. */
  stateDir(): string;
  /** When the state directory was searched for and not found: the directories looked in. */
  searchedIn(): string[] | undefined;
  client(): ApiClient;
}

export const STATE_DIR_NAME = '.tend';

/** A Cli whose state directory and client timeout are read when a command runs (global options are
 *  parsed by then). */
export function makeCli(
  out: Term,
  err: Term,
  stateDirOption: () => string | undefined,
  clientTimeoutOption: () => string | undefined = () => undefined,
): Cli {
  let found: { dir: string; searched?: string[] } | undefined;
  const locate = () => {
    if (found) return found;
    const given = stateDirOption() ?? process.env['TEND_STATE_DIR'];
    if (given !== undefined && given !== '') return (found = { dir: fromWorkingDir(given) });
    const search = findStateDir(workingDir());
    return (found = search.dir !== undefined ? { dir: search.dir } : { dir: fromWorkingDir(STATE_DIR_NAME), searched: search.searched });
  };
  const stateDir = () => locate().dir;
  const client = () => {
    const given = clientTimeoutOption();
    const raw = given ?? process.env['TEND_CLIENT_TIMEOUT'];
    // Named as the user gave it: an exported TEND_CLIENT_TIMEOUT=5 is not a --client-timeout typed.
    const timeoutMs = raw === undefined || raw === '' ? undefined : parseDuration(raw, given === undefined ? 'TEND_CLIENT_TIMEOUT' : '--client-timeout');
    return new ApiClient(join(stateDir(), SOCKET_NAME), timeoutMs === undefined ? {} : { timeoutMs });
  };
  return { out, err, stateDir, searchedIn: () => locate().searched, client };
}

/** The nearest `.tend/` directory in `start` or its parents, as git finds `.git`; else the
 *  directories it looked in, nearest first. */
export function findStateDir(start: string): { dir?: string; searched: string[] } {
  const searched: string[] = [];
  for (let dir = resolve(start); ; dir = dirname(dir)) {
    searched.push(dir);
    const candidate = join(dir, STATE_DIR_NAME);
    if (statSync(candidate, { throwIfNoEntry: false })?.isDirectory()) return { dir: candidate, searched };
    if (dirname(dir) === dir) return { searched };
  }
}

/** `/a/b/c, /a/b, /a and /`, shortened when the list is long. */
export function describeSearch(searched: string[]): string {
  const shown = searched.length > 4 ? [...searched.slice(0, 3), '…', searched[searched.length - 1] as string] : searched;
  return shown.length === 1 ? shown[0] as string : `${shown.slice(0, -1).join(', ')} and ${shown[shown.length - 1]}`;
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

/** What `logs -f` and `events -f` say while the daemon they follow is gone (killed, crashed) and
 *  once one answers again. */
export function whileGoneNotes(cli: Cli): { gone(): void; back(): void } {
  return {
    gone: () => cli.err.write(`tend: the daemon went away; following on once one answers on ${displayPath(cli.client().socketPath)} (Ctrl-C stops)\n`),
    back: () => cli.err.write('tend: the daemon is back; following on\n'),
  };
}
