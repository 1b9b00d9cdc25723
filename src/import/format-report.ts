// Pure: the conversion report as text for people (grouped by source entry) and as JSON for
// machines (`--report json`, documented in docs/import.md).

import type { SpecProblem } from '../errors.js';
import type { FieldReport } from './types.js';

/** The report as a table per source entry: OUTCOME, FIELD, TEND, NOTE. */
export function reportTable(fields: readonly FieldReport[]): string {
  // One block per source entry and the service it became (a supervisord program with padded
  // process numbers becomes several services).
  const byEntry = new Map<string, FieldReport[]>();
  for (const f of fields) {
    const key = `${f.entry}\0${f.service}`;
    byEntry.set(key, [...(byEntry.get(key) ?? []), f]);
  }
  const wField = Math.max(5, ...fields.map((f) => f.field.length));
  const wOutcome = 'approximated'.length;
  const wTo = Math.min(44, Math.max(4, ...fields.map((f) => f.to.length)));
  let out = '';
  for (const list of byEntry.values()) {
    const entry = list[0]!.entry;
    const service = list[0]!.service;
    out += `${entry}${service ? ` → ${service}.yaml` : ''}\n`;
    for (const f of list) {
      const to = f.to === '' ? '-' : f.to;
      out += `  ${f.outcome.padEnd(wOutcome)}  ${f.field.padEnd(wField)}  ${to.padEnd(wTo)}  ${f.note}`.trimEnd() + '\n';
    }
  }
  const count = (o: string) => fields.filter((f) => f.outcome === o).length;
  out += `fields: ${count('converted')} converted, ${count('approximated')} approximated, ${count('dropped')} dropped\n`;
  return out;
}

export interface ImportReportJson {
  dry_run: boolean;
  sources: { path: string; format: string | null }[];
  services: { name: string; file: string; source: string }[];
  fields: { entry: string; service: string; field: string; outcome: string; to: string; note: string }[];
  problems: { file: string; line: number; column: number; message: string }[];
  written: string[];
  /** With --dry-run: the text each file would have. */
  files?: Record<string, string>;
}

export function problemsJson(problems: readonly SpecProblem[]): ImportReportJson['problems'] {
  return problems.map(({ file, line, column, message }) => ({ file, line, column, message }));
}
