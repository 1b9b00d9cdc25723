// `tend history SVC[/N] [--since 1h] [-o json]`: a service's health history — restarts, stops and
// exits with their codes, probe verdict changes, limits, stale watchdogs, alerts and failed hooks —
// read from the persisted event history (events.jsonl and its rotated predecessor, events.jsonl.1)
// in the state directory. It reads the files, not the daemon, so it also works after tend has stopped.

import { createReadStream, existsSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { TendEvent } from '../api/types.js';
import { TendError } from '../errors.js';
import { noSuchService } from '../spec/suggest.js';
import { parseOutput, parseTarget, type Cli } from './context.js';
import { EXIT } from './exit-codes.js';
import { table } from './format.js';
import { paint, type Colour, type Term } from './term.js';
import { parseTime } from './time-arg.js';

export interface HistoryOptions {
  since?: string;
  output?: string;
}

/** The event types that make up a health history, with the word the table shows. */
export const HISTORY_TYPES: Record<string, { what: string; colour?: Colour }> = {
  'replica.started': { what: 'started' },
  'replica.restarting': { what: 'restarted', colour: 'yellow' },
  'replica.stopping': { what: 'stopping' },
  'replica.exited': { what: 'exited', colour: 'yellow' },
  'replica.backoff': { what: 'back-off' },
  'replica.failed': { what: 'failed', colour: 'red' },
  'replica.completed': { what: 'completed', colour: 'green' },
  'replica.ready': { what: 'ready', colour: 'green' },
  'replica.unready': { what: 'not ready', colour: 'yellow' },
  'replica.unhealthy': { what: 'unhealthy', colour: 'red' },
  'replica.limit': { what: 'over limit', colour: 'red' },
  'replica.stale': { what: 'stale', colour: 'red' },
  'replica.adopted': { what: 'adopted' },
  'service.restarting': { what: 'restart asked' },
  'service.scaled': { what: 'scaled' },
  'alert.firing': { what: 'ALERT', colour: 'red' },
  'alert.resolved': { what: 'resolved', colour: 'green' },
  'hook.failed': { what: 'hook failed', colour: 'red' },
};

export const DEFAULT_SINCE = '24h';

/** A service name as events.jsonl writes it (a name has no quote or backslash in it). */
const SERVICE_FIELD = /"service":"([^"\\]*)"/;

/** Prints the history of a service (or one replica). */
export async function historyCommand(cli: Cli, target: string, opts: HistoryOptions): Promise<number> {
  const output = parseOutput(opts.output);
  const { service, replica } = parseTarget(target);
  const since = parseTime(opts.since ?? DEFAULT_SINCE, '--since', Date.now());
  const dir = cli.stateDir();
  const files = [join(dir, 'events.jsonl.1'), join(dir, 'events.jsonl')].filter((f) => existsSync(f));
  if (files.length === 0) throw new TendError('API_NOT_FOUND', `no event history in ${dir} (events.jsonl is written by a running tend; see --state-dir)`);
  const { events, services, replicas } = await readHistory(files, service, replica, since);
  // Never heard of, in all the history kept: a typo (or another state directory), said as every
  // command says it; there was "no history for wbe since 24h" and exit 0.
  if (!services.has(service)) throw noSuchService(service, services, 'the event history');
  if (replica !== undefined && !replicas.has(replica)) {
    const seen = [...replicas].sort((a, b) => a - b).map((i) => `${service}/${i}`);
    throw new TendError('API_NOT_FOUND', `the event history has no replica ${replica} of ${service} (it has ${seen.join(', ')})`);
  }
  if (output === 'json') {
    cli.out.write(JSON.stringify({ service, replica: replica ?? null, since: new Date(since).toISOString(), events }, null, 2) + '\n');
    return EXIT.OK;
  }
  cli.out.write(historyView(cli.out, target, events, opts.since ?? DEFAULT_SINCE));
  return EXIT.OK;
}

/** What the history files hold for `service` (and `replica`) since `since`, oldest first, from the
 *  files in order; and every service, and every replica of `service`, they name at all. */
export async function readHistory(
  files: string[],
  service: string,
  replica: number | undefined,
  since: number,
): Promise<{ events: TendEvent[]; services: Set<string>; replicas: Set<number> }> {
  const needle = `"service":${JSON.stringify(service)}`;
  const events: TendEvent[] = [];
  const services = new Set<string>();
  const replicas = new Set<number>();
  for (const file of files) {
    const lines = createInterface({ input: createReadStream(file, { encoding: 'utf8' }), crlfDelay: Infinity });
    for await (const line of lines) {
      // Most lines are other services': their name is all that is read of them.
      if (!line.includes(needle)) {
        const other = SERVICE_FIELD.exec(line)?.[1];
        if (other !== undefined) services.add(other);
        continue;
      }
      let e: TendEvent;
      try {
        e = JSON.parse(line) as TendEvent;
      } catch {
        continue; // a line cut short by a crash or a full disk
      }
      if (e.service === undefined) continue;
      services.add(e.service);
      if (e.service !== service) continue;
      if (e.replica !== undefined) replicas.add(e.replica);
      if (!(e.type in HISTORY_TYPES)) continue;
      if (replica !== undefined && e.replica !== undefined && e.replica !== replica) continue;
      const t = Date.parse(e.ts);
      if (Number.isNaN(t) || t < since) continue;
      events.push(e);
    }
  }
  return { events, services, replicas };
}

/** The table, and a one-line summary under it. */
export function historyView(term: Pick<Term, 'color'>, target: string, events: TendEvent[], since: string): string {
  if (events.length === 0) return `no history for ${target} since ${since}\n`;
  const rows = events.map((e) => {
    const kind = HISTORY_TYPES[e.type]!;
    return [
      localTime(e.ts),
      e.replica === undefined ? e.service ?? '' : `${e.service}/${e.replica}`,
      { text: e.alert ? `${kind.what} ${e.alert}` : kind.what, ...(kind.colour ? { colour: kind.colour } : {}) },
      detailOf(e),
    ];
  });
  const count = (type: string) => events.filter((e) => e.type === type).length;
  // An exit after tend sent the stop signal (shut down, scaled away, replaced, `tend stop`) is a
  // stop, not a failure, whatever the code or the signal.
  const stopped = new Set(events.flatMap((e) => (e.type === 'replica.stopping' && e.pid !== undefined ? [e.pid] : [])));
  const failed = events.filter((e) => e.type === 'replica.exited' && !(e.pid !== undefined && stopped.has(e.pid)) && ((e.exit_code ?? 0) !== 0 || e.signal)).length;
  const summary = `${count('replica.restarting')} restarts, ${count('replica.exited')} exits (${failed} failed), ${count('replica.unhealthy')} unhealthy, ${count('alert.firing')} alerts fired since ${since}`;
  return table(term, ['TIME', 'REPLICA', 'EVENT', 'DETAIL'], rows) + paint(term, 'dim', summary) + '\n';
}

function detailOf(e: TendEvent): string {
  const parts: string[] = [];
  if (e.exit_code !== undefined && e.exit_code !== null) parts.push(`code ${e.exit_code}`);
  if (e.signal) parts.push(e.signal);
  if (e.message) parts.push(e.message);
  else if (e.reason) parts.push(e.reason);
  return parts.join(', ');
}

function localTime(ts: string): string {
  const d = new Date(ts);
  if (Number.isNaN(d.getTime())) return ts;
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}
