// `tend logs [SVC[/N]...] [-f] [-n N] [-t] [--since T] [--until T]`: replicas' output with
// `svc/n | ` prefixes, like docker compose; every service, interleaved in time order, when none is
// named. The daemon sends JSON lines; the prefix is coloured per replica on a terminal, and a new
// run of a replica (a restart, a re-run job) gets a separator line. With no daemon running, the
// history is read from the log files (offline.ts).

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { streamLogRecords, type LogLine } from '../api/log-stream.js';
import { TendError } from '../errors.js';
import { displayPath } from '../util/working-dir.js';
import { parseCount, parseTarget, whileGoneNotes, type Cli, type Target } from './context.js';
import { PrintedLines } from './log-resume.js';
import { EXIT } from './exit-codes.js';
import { canReadOffline, LOGS_DIR, noteOffline, offlineLogSources } from './offline.js';
import { localTime } from './format.js';
import { parseTime } from './time-arg.js';
import { whenReaderGone } from './reader-gone.js';
import { paint, replicaColour, type Term } from './term.js';
import { noSuchService } from '../spec/suggest.js';

export interface LogsOptions {
  follow?: boolean;
  /** false with --no-prefix (or compose's --no-log-prefix): lines as written, no separators. */
  prefix?: boolean;
  logPrefix?: boolean;
  lines?: string;
  /** --tail, docker compose's name for -n. */
  tail?: string;
  timestamps?: boolean;
  since?: string;
  until?: string;
}

/** Streams the logs until they end (or, with -f, until interrupted or the daemon stops; a daemon
 *  that went away without stopping, killed or crashed, is waited for and followed on). */
export async function logsCommand(cli: Cli, targetArgs: string[], opts: LogsOptions, now = Date.now()): Promise<number> {
  const targets = targetArgs.map(parseTarget);
  const lines = opts.lines ?? opts.tail;
  const tail = lines === undefined ? undefined : parseCount(lines, opts.lines === undefined ? '--tail' : '-n');
  const since = opts.since === undefined ? undefined : parseTime(opts.since, '--since', now);
  const until = opts.until === undefined ? undefined : parseTime(opts.until, '--until', now);
  const client = cli.client();
  const one = targets.length === 1 ? targets[0] : undefined;
  const offline = (err: unknown) => !opts.follow && canReadOffline(cli, err, LOGS_DIR);
  if (targets.length > 1) {
    // Several targets: all services' stream, filtered here, so they stay in time order.
    const status = await client.status().catch((err: unknown) => {
      if (offline(err)) return undefined;
      throw err;
    });
    const known = new Set(status?.services.map((s) => s.name));
    if (status) for (const t of targets) if (!known.has(t.service)) throw noSuchService(t.service, known);
  }
  const query = {
    ...(one?.replica === undefined ? {} : { replica: one.replica }),
    ...(until === undefined ? {} : { until }),
    follow: opts.follow ?? false,
    json: true,
  };
  const wanted = (l: LogLine) => targets.length <= 1 || targets.some((t) => matches(t, l));
  const prefixed = opts.prefix !== false && opts.logPrefix !== false;
  // Waits for a slow reader (a pipe), so nothing piles up in memory and nothing is cut at exit.
  const print = async (lines: LogLine[]) => {
    let text = '';
    for (const line of lines) if (wanted(line) && (prefixed || !line.run)) text += (prefixed ? renderLogLine(cli.out, line, opts.timestamps ?? false) : bareLine(line, opts.timestamps ?? false)) + '\n';
    if (text !== '') {
      cli.out.write(text);
      await cli.out.flush();
    }
  };
  // `logs -f api | grep -m1 listening` with nothing more to come from api.
  if (opts.follow) whenReaderGone(() => process.exit(EXIT.OK));
  // Only a follow can be resumed; a history is printed as it comes.
  const printed = new PrintedLines();
  const notes = whileGoneNotes(cli);
  const take = opts.follow ? (l: LogLine) => printed.take(l) : (l: LogLine) => [l];
  let from: { tail?: number; since?: number } = { ...(tail === undefined ? {} : { tail }), ...(since === undefined ? {} : { since }) };
  for (;;) {
    let res;
    try {
      res = await client.logs(one?.service, { ...query, ...from });
    } catch (err) {
      const range = { ...from, ...(until === undefined ? {} : { until }) };
      // A service no spec file names any more (removed, renamed) left its logs: the post-mortem
      // its removal often follows reads them (docs/logs.md, "What stays on disk").
      if (one !== undefined && !opts.follow && err instanceof TendError && err.code === 'API_NOT_FOUND' && hasLogs(cli.stateDir(), one.service)) {
        cli.err.write(`tend: ${one.service} is in no spec file now; read what it left in ${displayPath(join(cli.stateDir(), LOGS_DIR))}\n`);
        await printOffline(cli, targets, range, print, false);
        return EXIT.OK;
      }
      if (!offline(err)) throw err;
      await printOffline(cli, targets, range, print);
      return EXIT.OK;
    }
    let partial = '';
    let cut = false;
    try {
      for await (const chunk of res) {
        const lines = (partial + String(chunk)).split('\n');
        partial = lines.pop() ?? '';
        await print(lines.filter((l) => l !== '').flatMap((l) => take(JSON.parse(l) as LogLine)));
      }
    } catch (err) {
      // The daemon went away mid-stream (killed, crashed): Node reports the cut as `aborted`.
      if ((err as NodeJS.ErrnoException).code !== 'ECONNRESET') throw err;
      if (!opts.follow) throw new TendError('DAEMON_UNREACHABLE', `the tend daemon on ${displayPath(client.socketPath)} went away before the logs ended`, {}, { cause: err });
      cut = true;
    }
    await print(printed.flush());
    // A clean end: the history asked for, or the daemon stopping (`tend down`) ended the stream.
    if (!opts.follow || (!cut && res.complete)) return EXIT.OK;
    notes.gone();
    await client.waitUntilAnswering();
    notes.back();
    printed.resume();
    const resumeFrom = printed.resumeFrom() ?? since;
    from = resumeFrom === undefined ? {} : { since: resumeFrom };
  }
}

/** The history from the log files, merged in time order as the daemon merges them. */
async function printOffline(cli: Cli, targets: Target[], range: { tail?: number; since?: number; until?: number }, print: (lines: LogLine[]) => Promise<void>, note = true): Promise<void> {
  const sources = offlineLogSources(cli.stateDir(), targets);
  if (note) noteOffline(cli, LOGS_DIR);
  await streamLogRecords(
    {
      ...range,
      follow: false,
      json: true,
      timestamps: false,
      pollMs: 0,
      sources: () => sources,
      write: (text) => print(text.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as LogLine)),
      stopped: () => false,
    },
    async () => {},
  );
}

function hasLogs(stateDir: string, service: string): boolean {
  return existsSync(join(stateDir, LOGS_DIR, service));
}

function matches(t: Target, l: LogLine): boolean {
  return t.service === l.service && (t.replica === undefined || t.replica === l.replica);
}

/** `web/0 | text`, `web/0 | 2026-11-30T19:00:01.123Z text` with -t, and a separator for a new run. */
export function renderLogLine(term: Pick<Term, 'color'>, l: LogLine, timestamps: boolean): string {
  const key = `${l.service}/${l.replica}`;
  const prefix = term.color ? paint(term, replicaColour(key), `${key} |`) : `${key} |`;
  if (l.run) return `${prefix} ${paint(term, 'dim', `──── new run, started ${localTime(Date.parse(l.ts))} ────`)}`;
  return `${prefix} ${timestamps ? `${l.ts} ` : ''}${l.line}`;
}

/** A line as the replica wrote it (--no-prefix), after its stamp with -t. */
export function bareLine(l: LogLine, timestamps: boolean): string {
  return timestamps ? `${l.ts} ${l.line}` : l.line;
}

