// The conversion report: what became of every field of every service when it was exported.
// Each exporter states its conversions once, as rules (field, status, how), and reports only by
// naming a rule, so the table in docs/export.md (rendered from the same rules) cannot drift from
// what the code does.

/** converted: the target does the same. approximated: it does the job differently (the rule says
 *  how). dropped: the target has nothing that does it; the behaviour is lost. */
export type FieldStatus = 'converted' | 'approximated' | 'dropped';

export interface Rule {
  /** The spec key as users write it: `stop_timeout`, `limits.memory`, `readiness`. */
  field: string;
  status: FieldStatus;
  /** When this rule applies, for the matrix ("string command", "replicas > 1"); empty = always. */
  when: string;
  /** What the exporter writes, and for approximations and drops, what changes and why. */
  how: string;
  /** Other fields the same rule is reported under (a probe rule for readiness and liveness). */
  alsoFor?: readonly string[];
}

export interface ReportRow {
  service: string;
  field: string;
  status: FieldStatus;
  /** The rule's text. */
  how: string;
  /** Specific to this service's value ("10s → KillTimeout 10000000000"), when there is more to say. */
  detail?: string;
}

export interface ConversionReport {
  target: 'nomad' | 'kubernetes';
  rows: ReportRow[];
}

/** A service that cannot be exported at all (then nothing is written). */
export interface ExportError {
  service: string;
  field: string;
  message: string;
}

/** The spec's fields in the order docs/spec.md lists them; the matrix and the table follow it. */
export const SPEC_FIELDS = [
  'command',
  'cwd',
  'env',
  'env_file',
  'replicas',
  'ports',
  'depends_on',
  'readiness',
  'liveness',
  'restart',
  'backoff',
  'max_restarts',
  'restart_window',
  'stop_signal',
  'stop_timeout',
  'oneshot',
  'update',
  'limits.memory',
  'limits.cpu_percent',
  'limits.max_runtime',
  'logs',
  'user',
  'labels',
] as const;

export type SpecField = (typeof SPEC_FIELDS)[number];

/** Collects rows; an exporter calls `add` once per field it looked at. */
export class ReportBuilder {
  readonly rows: ReportRow[] = [];
  add(service: string, rule: Rule, detail?: string): void {
    this.rows.push({ service, field: rule.field, status: rule.status, how: rule.how, ...(detail ? { detail } : {}) });
  }
  /** Rows in service order, then field order (several rows per field keep their order). */
  sorted(serviceOrder: string[]): ReportRow[] {
    const rank = (f: string) => {
      const i = SPEC_FIELDS.indexOf(f.replace(/\..*$/, '') as SpecField);
      const j = SPEC_FIELDS.indexOf(f as SpecField);
      return j >= 0 ? j : i >= 0 ? i : SPEC_FIELDS.length;
    };
    return this.rows
      .map((r, i) => ({ r, i }))
      .sort((a, b) => serviceOrder.indexOf(a.r.service) - serviceOrder.indexOf(b.r.service) || rank(a.r.field) - rank(b.r.field) || a.i - b.i)
      .map((x) => x.r);
  }
}

/** Rows that lost behaviour: what `--strict` refuses. */
export function drops(report: ConversionReport): ReportRow[] {
  return report.rows.filter((r) => r.status === 'dropped');
}

/** The report as a plain table for a terminal (one row per field, the explanation wrapped). */
export function formatReport(report: ConversionReport): string {
  const head = ['SERVICE', 'FIELD', 'STATUS', 'HOW'];
  // A conversion needs only its specifics; an approximation or a drop also says how and why.
  const rows = report.rows.map((r) => [r.service, r.field, r.status, r.status === 'converted' ? (r.detail ?? r.how) : r.detail ? `${r.detail}: ${r.how}` : r.how]);
  const w0 = Math.max(head[0]!.length, ...rows.map((r) => r[0]!.length));
  const w1 = Math.max(head[1]!.length, ...rows.map((r) => r[1]!.length));
  const w2 = Math.max(head[2]!.length, ...rows.map((r) => r[2]!.length));
  const line = (r: string[]) => `${r[0]!.padEnd(w0)}  ${r[1]!.padEnd(w1)}  ${r[2]!.padEnd(w2)}  ${r[3]}`.trimEnd();
  const counts = { converted: 0, approximated: 0, dropped: 0 };
  for (const r of report.rows) counts[r.status]++;
  const summary = `${report.rows.length} fields: ${counts.converted} converted, ${counts.approximated} approximated, ${counts.dropped} dropped`;
  return [line(head), ...rows.map(line), summary].join('\n') + '\n';
}

/** The report as JSON (`--report json`): stable keys, documented in docs/export.md. */
export function reportJson(report: ConversionReport): string {
  const counts = { converted: 0, approximated: 0, dropped: 0 };
  for (const r of report.rows) counts[r.status]++;
  return `${JSON.stringify({ target: report.target, summary: counts, fields: report.rows }, null, 2)}\n`;
}
