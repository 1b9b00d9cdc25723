// The conversion report: converters record each source field against a row of their format's
// mapping table, so the table in docs/import.md (generated from the same rows) and what
// `tend import` reports can never disagree.

import { TendError } from '../errors.js';
import type { FieldReport, MappingRow, Outcome } from './types.js';

/** A mapping row, written compactly in each converter's table. */
export function row(key: string, outcome: Outcome, to: string, note: string, when = ''): MappingRow {
  const field = key.split('=')[0]!;
  return { key, field, when, outcome, to, note };
}

/** Collects the report of one conversion against one mapping table. */
export class Recorder {
  readonly fields: FieldReport[] = [];
  private readonly rows: Map<string, MappingRow>;

  constructor(table: readonly MappingRow[]) {
    this.rows = new Map(table.map((r) => [r.key, r]));
  }

  /** Records field `key` of `entry` (converted into `service`); `detail` says what it was here,
   *  `to` what it became here, when the row can only say it in general (`env (the instance_var
   *  name)` is `env INSTANCE_ID` for this app). */
  add(entry: string, service: string, key: string, opts: { field?: string; detail?: string; to?: string } = {}): void {
    const r = this.rows.get(key);
    // A key missing from the table is a bug in the converter, never the user's input.
    if (!r) throw new TendError('INTERNAL', `import: no mapping row "${key}"`);
    this.fields.push({
      entry,
      service,
      field: opts.field ?? r.field,
      outcome: r.outcome,
      to: opts.to ?? r.to,
      note: opts.detail ? `${r.note} (${opts.detail})` : r.note,
      key,
    });
  }
}

/** True when a report has a dropped field (for `--strict`). */
export function hasDrops(fields: readonly FieldReport[]): boolean {
  return fields.some((f) => f.outcome === 'dropped');
}
