// `tend logs` and `tend events` with no daemon running. After `tend down`, a crash or a reboot, the
// replicas' log files and the event history are still in the state directory; they are read from
// there as the daemon serves them, as journalctl reads a stopped unit's journal and `tend history`
// always did. Before, both said "no tend daemon" and the files had to be found by hand.
//
// Without the daemon, which replicas its specs want is not known: every log file counts, so a
// service removed since, or a replica scaled away, shows too. Following (-f) needs a daemon.

import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { LogSource } from '../api/log-stream.js';
import type { TendEvent } from '../api/types.js';
import { isGone } from '../api/client.js';
import { TendError } from '../errors.js';
import { DEFAULT_EVENT_HISTORY, readEventFiles } from '../events.js';
import { didYouMean } from '../spec/suggest.js';
import { displayPath } from '../util/working-dir.js';
import type { Cli, Target } from './context.js';

export const LOGS_DIR = 'logs';
export const EVENTS_FILE = 'events.jsonl';

/** Whether `err` says no daemon listens, and the state directory holds `file` to read instead. */
export function canReadOffline(cli: Cli, err: unknown, file: string): boolean {
  return isGone(err) && existsSync(join(cli.stateDir(), file));
}

/** Says, on stderr, where the output comes from instead. */
export function noteOffline(cli: Cli, file: string): void {
  cli.err.write(`tend: no tend daemon on ${displayPath(cli.client().socketPath)}; read from ${displayPath(join(cli.stateDir(), file))}\n`);
}

/** The event history from events.jsonl and its rotated file, as `GET /v1/events?follow=0` gives it. */
export async function offlineEvents(stateDir: string, tail: number | undefined, since: number | undefined): Promise<TendEvent[]> {
  const limit = tail ?? (since === undefined ? DEFAULT_EVENT_HISTORY : Number.POSITIVE_INFINITY);
  if (!(limit > 0)) return [];
  return (await readEventFiles(join(stateDir, EVENTS_FILE), limit, since)).items();
}

/** The log files of the targets (every one when none is given), each as the daemon names it. */
export function offlineLogSources(stateDir: string, targets: Target[]): LogSource[] {
  const dir = join(stateDir, LOGS_DIR);
  const present = readdirSync(dir).sort();
  const services = targets.length > 0 ? [...new Set(targets.map((t) => t.service))] : present;
  const sources: LogSource[] = [];
  for (const service of services) {
    const indexes = replicaLogs(join(dir, service));
    if (indexes === undefined) {
      if (targets.length > 0) throw new TendError('API_NOT_FOUND', `no logs of a service named "${service}" in ${displayPath(dir)}${didYouMean(service, present)}`);
      continue;
    }
    for (const index of indexes) {
      if (targets.length > 0 && !targets.some((t) => t.service === service && (t.replica === undefined || t.replica === index))) continue;
      sources.push({ service, index, path: join(dir, service, `${index}.log`) });
    }
    for (const t of targets) {
      if (t.service === service && t.replica !== undefined && !indexes.includes(t.replica)) {
        throw new TendError('API_NOT_FOUND', `no log of ${service}/${t.replica} in ${displayPath(join(dir, service))}`);
      }
    }
  }
  return sources;
}

/** The replica indexes with a log in `dir` (`0.log`, `1.log`; not rotated files or indexes). */
function replicaLogs(dir: string): number[] | undefined {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return undefined;
  }
  return names
    .map((n) => /^(0|[1-9][0-9]{0,8})\.log$/.exec(n)?.[1])
    .filter((i): i is string => i !== undefined)
    .map(Number)
    .sort((a, b) => a - b);
}
