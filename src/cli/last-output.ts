// What a crashed replica printed last, where a user looks first: `tend status SVC` and `tend up -d
// --wait`. Both said "exit code 1" and no more, and the reason was a `tend logs` away (a port in
// use, a missing variable); systemctl status shows a unit's last journal lines for that reason.
// Read through the API's log endpoint: the daemon does nothing more at a crash.

import type { ApiClient } from '../api/client.js';
import type { LogLine } from '../api/log-stream.js';
import type { ReplicaStatus, ServiceStatus } from '../api/types.js';
import { paint, type Term } from './term.js';

/** Replicas that exited by themselves and are waiting to restart, or gave up. */
const CRASHED = new Set(['backoff', 'failed']);
/** Lines shown per replica, read to find them, replicas per service. */
const LINES = 5;
const READ = 20;
const REPLICAS = 3;
/** A line longer than this (a JSON log record) is cut. */
const MAX_LINE = 300;

function crashedReplicas(svc: ServiceStatus): ReplicaStatus[] {
  return svc.replicas.filter((r) => CRASHED.has(r.state));
}

/** For each of the first crashed replicas of `svc`: a heading and its last lines of its last run;
 *  '' when none crashed. A log that cannot be read leaves the replica out, never fails the caller. */
export async function lastOutput(client: ApiClient, term: Pick<Term, 'color'>, svc: ServiceStatus, replicas = REPLICAS): Promise<string> {
  const blocks = await Promise.all(
    crashedReplicas(svc)
      .slice(0, replicas)
      .map(async (r) => {
        const lines = await client.logTail(svc.name, r.index, READ).catch(() => undefined);
        if (lines === undefined) return '';
        const run = lastRun(lines).slice(-LINES).map((l) => `  ${clip(l.line)}`);
        const id = `${svc.name}/${r.index}`;
        const head = paint(term, 'dim', `${id} ${r.state}${r.reason ? ` (${r.reason})` : ''}; its last output (tend logs ${id}):`);
        return `${head}\n${run.length > 0 ? run.join('\n') : '  (nothing)'}\n`;
      }),
  );
  return blocks.join('');
}

/** The lines of the last run that printed any: the replica may have started again, and printed
 *  nothing yet, between the status that said it crashed and this read. */
export function lastRun(lines: LogLine[]): LogLine[] {
  let end = lines.length;
  for (let i = lines.length - 1; i >= -1; i--) {
    if (i >= 0 && lines[i]!.run !== true) continue;
    if (end > i + 1) return lines.slice(i + 1, end);
    end = i;
  }
  return [];
}

function clip(line: string): string {
  return line.length > MAX_LINE ? `${line.slice(0, MAX_LINE)}…` : line;
}
