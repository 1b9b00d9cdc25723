// `tend status [SVC] [-o json] [-w]`: the services as a table with the spec errors above them, or
// one service's replicas, and what a crashed one printed last; -w redraws every second until
// interrupted.

import type { ReplicaStatus, ServiceStatus, StatusReport } from '../api/types.js';
import { TendError } from '../errors.js';
import { delay, parseOutput, type Cli } from './context.js';
import { EXIT } from './exit-codes.js';
import { lastOutput } from './last-output.js';
import { age, bytes, cpu, specError, stateColour, table } from './format.js';
import { paint, type Term } from './term.js';

export interface StatusOptions {
  output?: string;
  watch?: boolean;
  /** `-l key=value` (repeatable): only services whose labels match all of them. */
  label?: string[];
}

/** The status text a replica may report (docs: notify); shown in a STATUS column when present. */
type WithText = ReplicaStatus & { status_text?: string | null };

const REFRESH_MS = 1000;

/** Prints the status once, or keeps redrawing it with -w. */
export async function statusCommand(cli: Cli, service: string | undefined, opts: StatusOptions): Promise<number> {
  const output = parseOutput(opts.output);
  const selector = parseLabels(opts.label ?? []);
  const client = cli.client();
  const render = async () => {
    if (service !== undefined) {
      const svc = await client.service(service);
      if (output === 'json') return JSON.stringify(svc, null, 2) + '\n';
      const crashed = await lastOutput(client, cli.out, svc);
      return serviceView(cli.out, svc) + (crashed === '' ? '' : `\n${crashed}`);
    }
    const full = await client.status();
    const report = { ...full, services: full.services.filter((s) => matchesLabels(s, selector)) };
    if (output === 'json') return JSON.stringify(report, null, 2) + '\n';
    // Services there are, none with these labels: not "no services in services.d".
    const none = full.services.length > 0 ? `no service with the label${selector.length === 1 ? '' : 's'} ${(opts.label ?? []).join(', ')} (of ${full.services.length} in ${full.source})` : undefined;
    return statusView(cli.out, report, Date.now(), none);
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
export function statusView(term: Pick<Term, 'color'>, report: StatusReport, now = Date.now(), empty = `no services in ${report.source}`): string {
  let text = '';
  for (const e of report.errors) text += paint(term, 'red', `error: ${specError(e)}`) + '\n';
  if (report.errors.length > 0) text += '\n';
  // ---- firing alerts (src/alerts) ----
  const alerts = report.alerts ?? [];
  for (const a of alerts) text += paint(term, 'red', `alert: ${a.alert} ${a.service}/${a.replica} (for ${age(a.since, now)}): ${a.summary}`) + '\n';
  if (alerts.length > 0) text += '\n';
  if (report.services.length === 0) return text + `${empty}\n`;
  const withText = report.services.some((s) => s.replicas.some((r) => statusText(r) !== ''));
  const withLabels = report.services.some((s) => Object.keys(s.labels ?? {}).length > 0);
  const withPorts = report.services.some((s) => Object.keys(s.ports ?? {}).length > 0);
  text += table(
    term,
    ['NAME', 'READY', 'STATE', 'RESTARTS', 'CPU', 'MEM', 'AGE', ...(withPorts ? ['PORTS'] : []), ...(withText ? ['STATUS'] : []), ...(withLabels ? ['LABELS'] : [])],
    report.services.map((s) => [
      s.name,
      s.oneshot ? `${s.replicas.filter((r) => r.state === 'completed').length}/${s.replicas_desired}` : `${s.ready}/${s.replicas_desired}`,
      { text: stateText(s), colour: stateColour(s.state) },
      String(s.restarts),
      cpu(s.cpu),
      bytes(s.memory),
      age(s.started_at, now),
      ...(withPorts ? [portRanges(s)] : []),
      ...(withText ? [serviceText(s)] : []),
      ...(withLabels ? [labelText(s.labels ?? {})] : []),
    ]),
  );
  return text;
}

/** One service's replicas. */
export function serviceView(term: Pick<Term, 'color'>, svc: ServiceStatus, now = Date.now()): string {
  // A job is never "ready": it completes (the services table counts it so too).
  const count = svc.oneshot ? `${svc.replicas.filter((r) => r.state === 'completed').length}/${svc.replicas_desired} completed` : `${svc.ready}/${svc.replicas_desired} ready`;
  const head = `${svc.name}: ${count}, ${stateText(svc)} (${svc.file})\n`;
  if (svc.replicas.length === 0) return head + 'no replicas\n';
  const withText = svc.replicas.some((r) => statusText(r) !== '');
  const ports = Object.entries(svc.ports ?? {});
  return (
    head +
    table(
      term,
      ['INDEX', 'STATE', 'PID', 'READY', 'RESTARTS', 'AGE', ...(ports.length > 0 ? ['PORTS'] : []), ...(withText ? ['STATUS'] : []), 'REASON'],
      svc.replicas.map((r) => [
        String(r.index),
        { text: r.state, colour: stateColour(r.state) },
        r.pid === null ? '-' : String(r.pid),
        svc.oneshot ? '-' : r.ready ? 'yes' : 'no',
        String(r.restarts),
        age(r.started_at, now),
        ...(ports.length > 0 ? [ports.map(([name, base]) => `${name}=${base + r.index}`).join(',')] : []),
        ...(withText ? [statusText(r) || '-'] : []),
        r.reason ?? '',
      ]),
    )
  );
}

function statusText(r: ReplicaStatus): string {
  return ((r as WithText).status_text ?? '').replace(/\s+/g, ' ').trim();
}

// A service's STATUS: the text its replicas report, when they agree; else the first one's and a count.
function serviceText(s: ServiceStatus): string {
  const texts = [...new Set(s.replicas.map(statusText).filter((t) => t !== ''))];
  if (texts.length === 0) return '-';
  return texts.length === 1 ? clip(texts[0] as string) : `${clip(texts[0] as string)} (+${texts.length - 1} more)`;
}

function clip(text: string, max = 40): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/** `http=8080-8082,admin=9000` for a service's replicas: base + index. */
export function portRanges(s: ServiceStatus): string {
  const entries = Object.entries(s.ports ?? {});
  if (entries.length === 0) return '-';
  const n = Math.max(s.replicas_desired, 1);
  return entries.map(([name, base]) => (n === 1 ? `${name}=${base}` : `${name}=${base}-${base + n - 1}`)).join(',');
}

function labelText(labels: Record<string, string>): string {
  // sort()'s code-unit order: localeCompare's first call sets up ICU's collator (~14 ms of a `tend status`).
  const entries = Object.keys(labels)
    .sort()
    .map((k) => [k, labels[k]] as const);
  return entries.length === 0 ? '-' : entries.map(([k, v]) => `${k}=${v}`).join(',');
}

/** `-l tier=web -l team=core` → pairs; `-l tier` alone matches any service that has the label. */
export function parseLabels(args: string[]): [string, string | undefined][] {
  return args.map((a) => {
    const m = /^([^=\s]+)(?:=(.*))?$/.exec(a);
    if (!m) throw new TendError('API_BAD_REQUEST', `expected -l to be KEY=VALUE or KEY, got "${a}"`);
    return [m[1] as string, m[2]];
  });
}

export function matchesLabels(s: ServiceStatus, selector: [string, string | undefined][]): boolean {
  const labels = s.labels ?? {};
  return selector.every(([k, v]) => Object.hasOwn(labels, k) && (v === undefined || labels[k] === v));
}

function stateText(s: ServiceStatus): string {
  if (s.blocked) return `${s.state} (${s.blocked})`;
  if (s.waiting_for) return `${s.state} (waiting for ${s.waiting_for})`;
  return s.state;
}
