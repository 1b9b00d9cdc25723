// Human formatting shared by the listing commands: aligned tables, ages, sizes, state colours.

import { displayPath } from '../util/working-dir.js';
import type { SpecErrorStatus } from '../api/types.js';
import { paint, type Colour, type Term } from './term.js';
import { scaleBytes } from '../util/units.js';

export interface Cell {
  text: string;
  colour?: Colour;
}

/** Columns padded to the widest cell; colour is applied after padding so escapes do not skew it. */
export function table(term: Pick<Term, 'color'>, header: string[], rows: (string | Cell)[][]): string {
  const cells = rows.map((r) => r.map((c) => (typeof c === 'string' ? { text: c } : c)));
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((r) => r[i]?.text.length ?? 0)));
  const line = (r: Cell[]) =>
    r
      .map((c, i) => {
        const padded = i === r.length - 1 ? c.text : c.text.padEnd(widths[i] ?? 0);
        return paint(term, c.colour, padded);
      })
      .join('  ')
      .trimEnd();
  return [line(header.map((h) => ({ text: h, colour: 'bold' as const }))), ...cells.map(line)].join('\n') + '\n';
}

/** `45s`, `12m`, `3h`, `2d` since an ISO time; `-` when there is none. */
export function age(since: string | null, now: number = Date.now()): string {
  if (since === null) return '-';
  const s = Math.max(0, Math.floor((now - Date.parse(since)) / 1000));
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.floor(s / 60)}m`;
  if (s < 172800) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86400)}d`;
}

/** `512B`, `12.3Ki`, `45.6Mi`, `1.2Gi`; `-` before the first sample. */
export function bytes(n: number | null): string {
  if (n === null) return '-';
  const { value, unit } = scaleBytes(n);
  return unit === 'B' ? `${value}B` : `${value.toFixed(1)}${unit}`;
}

/** `12.5%`; `-` before the first sample. */
export function cpu(n: number | null): string {
  return n === null ? '-' : `${n.toFixed(1)}%`;
}

/** The colour a state is shown in: green good, yellow on its way, red needs a person. */
export function stateColour(state: string): Colour | undefined {
  switch (state) {
    case 'running':
    case 'completed':
      return 'green';
    case 'starting':
    case 'pending':
    case 'backoff':
    case 'updating':
    case 'stopping':
    case 'paused':
      return 'yellow';
    case 'failed':
    case 'blocked':
      return 'red';
    case 'stopped':
      return 'dim';
    default:
      return undefined;
  }
}

/** `path:line:col: message` with the path relative to the working directory when inside it. */
export function specError(e: SpecErrorStatus): string {
  return `${displayPath(e.file)}:${e.line}:${e.column}: ${e.message}`;
}

/** `2026-11-30 19:00:01.123` in the local time zone: for people reading logs. */
export function localTime(ms: number): string {
  const d = new Date(ms);
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds(), 3)}`;
}
