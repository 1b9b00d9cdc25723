// `tend logs SVC[/N] [-f] [-n N]`: replicas' output with `svc/n | ` prefixes, like docker compose;
// the prefix is coloured per replica on a terminal.

import { parseCount, parseTarget, type Cli } from './context.js';
import { EXIT } from './exit-codes.js';
import { paint, replicaColour, type Term } from './term.js';

export interface LogsOptions {
  follow?: boolean;
  lines?: string;
}

/** Streams the logs until they end (or, with -f, until interrupted or the daemon goes away). */
export async function logsCommand(cli: Cli, targetArg: string, opts: LogsOptions): Promise<number> {
  const target = parseTarget(targetArg);
  const tail = opts.lines === undefined ? undefined : parseCount(opts.lines, '-n');
  const res = await cli.client().logs(target.service, { replica: target.replica, tail, follow: opts.follow });
  let partial = '';
  for await (const chunk of res) {
    const lines = (partial + String(chunk)).split('\n');
    partial = lines.pop() ?? '';
    if (lines.length > 0) cli.out.write(lines.map((l) => colourPrefix(cli.out, l) + '\n').join(''));
    // A slow reader (`| less`) paces the download instead of the whole log piling up in memory.
    await cli.out.flush();
  }
  if (partial !== '') cli.out.write(colourPrefix(cli.out, partial) + '\n');
  return EXIT.OK;
}

/** Colours the `svc/n |` prefix of a line the daemon sent. */
export function colourPrefix(term: Pick<Term, 'color'>, line: string): string {
  const bar = line.indexOf(' | ');
  if (!term.color || bar < 0) return line;
  const key = line.slice(0, bar);
  return paint(term, replicaColour(key), `${key} |`) + line.slice(bar + 2);
}
