// `tend status [SVC] [-o json] [-w]`: the services as a table with the spec errors above them, or
// one service's replicas; -w redraws every second until interrupted.

import type { ServiceStatus, StatusReport } from '../api/types.js';
import { delay, parseOutput, type Cli } from './context.js';
import { EXIT } from './exit-codes.js';
import { age, bytes, cpu, specError, stateColour, table } from './format.js';
import { paint, type Term } from './term.js';

export interface StatusOptions {
  output?: string;
  watch?: boolean;
}

const REFRESH_MS = 1000;

/** Prints the status once, or keeps redrawing it with -w. */
export async function statusCommand(cli: Cli, service: string | undefined, opts: StatusOptions): Promise<number> {
  const output = parseOutput(opts.output);
  const client = cli.client();
  const render = async () => {
    if (service !== undefined) {
      const svc = await client.service(service);
      return output === 'json' ? JSON.stringify(svc, null, 2) + '\n' : serviceView(cli.out, svc);
    }
    const report = await client.status();
    return output === 'json' ? JSON.stringify(report, null, 2) + '\n' : statusView(cli.out, report);
  };
  if (!opts.watch) {
    cli.out.write(await render());
    return EXIT.OK;
  }
  for (;;) {
    const text = await render();
    // On a terminal redraw in place; into a pipe, one snapshot after another.
    cli.out.write(cli.out.isTTY ? `\x1b[H\x1b[2J${text}` : `${text}\n`);
    await delay(REFRESH_MS);
  }
}

/** The services table, with the spec errors above it. */
export function statusView(term: Pick<Term, 'color'>, report: StatusReport, now = Date.now()): string {
  let text = '';
  for (const e of report.errors) text += paint(term, 'red', `error: ${specError(e)}`) + '\n';
  if (report.errors.length > 0) text += '\n';
  // ---- firing alerts (src/alerts) ----
  const alerts = report.alerts ?? [];
  for (const a of alerts) text += paint(term, 'red', `alert: ${a.alert} ${a.service}/${a.replica} (for ${age(a.since, now)}): ${a.summary}`) + '\n';
  if (alerts.length > 0) text += '\n';
  if (report.services.length === 0) return text + `no services in ${report.source}\n`;
  text += table(
    term,
    ['NAME', 'READY', 'STATE', 'RESTARTS', 'CPU', 'MEM', 'AGE'],
    report.services.map((s) => [
      s.name,
      s.oneshot ? `${s.replicas.filter((r) => r.state === 'completed').length}/${s.replicas_desired}` : `${s.ready}/${s.replicas_desired}`,
      { text: stateText(s), colour: stateColour(s.state) },
      String(s.restarts),
      cpu(s.cpu),
      bytes(s.memory),
      age(s.started_at, now),
    ]),
  );
  return text;
}

/** One service's replicas. */
export function serviceView(term: Pick<Term, 'color'>, svc: ServiceStatus, now = Date.now()): string {
  const head = `${svc.name}: ${svc.ready}/${svc.replicas_desired} ready, ${stateText(svc)} (${svc.file})\n`;
  if (svc.replicas.length === 0) return head + 'no replicas\n';
  // notify (DESIGN §9): the last STATUS a replica sent, when any did.
  const withStatus = svc.replicas.some((r) => r.status_text);
  return (
    head +
    table(
      term,
      ['INDEX', 'STATE', 'PID', 'READY', 'RESTARTS', 'AGE', 'REASON', ...(withStatus ? ['STATUS'] : [])],
      svc.replicas.map((r) => [
        String(r.index),
        { text: r.state, colour: stateColour(r.state) },
        r.pid === null ? '-' : String(r.pid),
        r.ready ? 'yes' : 'no',
        String(r.restarts),
        age(r.started_at, now),
        r.reason ?? '',
        ...(withStatus ? [r.status_text ?? ''] : []),
      ]),
    )
  );
}

function stateText(s: ServiceStatus): string {
  if (s.blocked) return `${s.state} (${s.blocked})`;
  if (s.waiting_for) return `${s.state} (waiting for ${s.waiting_for})`;
  return s.state;
}
