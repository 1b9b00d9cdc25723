// `tend events [-f] [-n N] [-o json]`: the event history, or with -f the history and then live
// events as they happen. With no daemon running, the history is read from events.jsonl (offline.ts).

import type { TendEvent } from '../api/types.js';
import { parseCount, parseOutput, whileGoneNotes, type Cli } from './context.js';
import { EXIT } from './exit-codes.js';
import { canReadOffline, EVENTS_FILE, noteOffline, offlineEvents } from './offline.js';
import { whenReaderGone } from './reader-gone.js';
import { paint, type Colour, type Term } from './term.js';

export interface EventsOptions {
  follow?: boolean;
  output?: string;
  lines?: string;
  since?: string;
}

/** Prints events until the history ends (or, with -f, until interrupted or the daemon stops; a
 *  daemon that went away without stopping is waited for, and followed on from the last event). */
export async function eventsCommand(cli: Cli, opts: EventsOptions): Promise<number> {
  const output = parseOutput(opts.output);
  const tail = opts.lines === undefined ? undefined : parseCount(opts.lines, '-n');
  const since = opts.since === undefined ? undefined : parseCount(opts.since, '--since');
  const print = (e: TendEvent) => cli.out.write((output === 'json' ? JSON.stringify(e) : eventLine(cli.out, e)) + '\n');
  const client = cli.client();
  if (!opts.follow) {
    let history: TendEvent[];
    try {
      history = await client.eventHistory(tail, since);
    } catch (err) {
      if (!canReadOffline(cli, err, EVENTS_FILE)) throw err;
      noteOffline(cli, EVENTS_FILE);
      history = await offlineEvents(cli.stateDir(), tail, since);
    }
    for (const e of history) print(e);
    return EXIT.OK;
  }
  const whileGone = whileGoneNotes(cli);
  whenReaderGone(() => process.exit(EXIT.OK)); // `events -f | head -1` with no event to come
  for await (const e of client.events({ ...(tail === undefined ? {} : { tail }), ...(since === undefined ? {} : { since }), whileGone })) print(e);
  return EXIT.OK;
}

/** `12:00:01.123 replica.exited web/1 pid=123 exit=1 crashed` */
export function eventLine(term: Pick<Term, 'color'>, e: TendEvent): string {
  const who = e.service === undefined ? '' : e.replica === undefined ? e.service : `${e.service}/${e.replica}`;
  const parts = [paint(term, 'dim', timeOf(e.ts)), paint(term, colourOf(e.type), e.type)];
  if (e.id !== undefined) parts.unshift(paint(term, 'dim', `#${e.id}`));
  if (who) parts.push(who);
  if (e.pid !== undefined) parts.push(`pid=${e.pid}`);
  if (e.exit_code !== undefined && e.exit_code !== null) parts.push(`exit=${e.exit_code}`);
  if (e.signal) parts.push(`signal=${e.signal}`);
  if (typeof e.name === 'string') parts.push(e.name); // notify: replica.event
  if (e.data !== undefined) parts.push(clip(JSON.stringify(e.data)));
  if (e.message) parts.push(e.message);
  if (e.reason) parts.push(paint(term, 'dim', `[${e.reason}]`));
  if (e.detail) parts.push(paint(term, 'dim', e.detail));
  return parts.join(' ');
}

// Local wall-clock time: what a person compares with their other terminal. JSON keeps the ISO form.
function timeOf(ts: string): string {
  const d = new Date(ts);
  if (Number.isNaN(d.getTime())) return ts;
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds(), 3)}`;
}

function colourOf(type: string): Colour | undefined {
  if (/failed|invalid|unhealthy/.test(type)) return 'red';
  if (/exited|restarting|stopped/.test(type)) return 'yellow';
  if (/ready|loaded|started|completed/.test(type)) return 'green';
  return undefined;
}

function clip(s: string): string {
  return s.length > 200 ? `${s.slice(0, 200)}…` : s;
}
