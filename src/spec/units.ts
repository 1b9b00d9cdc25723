// Units a spec is written in: durations, sizes and signal names. Each parser returns null for a
// value it cannot read, so that the caller can say where the value is and what was expected.

import { constants } from 'node:os';

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const DURATION_PART = /(\d+(?:\.\d+)?)(ms|s|m|h)/y;

/** What a duration looks like, for messages. */
export const DURATION_HINT = 'a duration like 150ms, 2s, 5m, 1h30m or a number of milliseconds';

// `150ms`, `2s`, `1h30m`, `0` or a number of milliseconds → ms; null when it is none of these.
export function parseDuration(value: unknown): number | null {
  if (typeof value === 'number') return Number.isInteger(value) && value >= 0 ? value : null;
  if (typeof value !== 'string') return null;
  const text = value.trim();
  if (text === '0') return 0;
  if (text === '') return null;
  let total = 0;
  DURATION_PART.lastIndex = 0;
  while (DURATION_PART.lastIndex < text.length) {
    const m = DURATION_PART.exec(text);
    if (!m) return null;
    total += Number(m[1]) * DURATION_UNITS[m[2]!]!;
  }
  return Math.round(total);
}

// Human form of a number of ms, for messages (`1500` → `1.5s`).
export function formatDuration(ms: number): string {
  if (ms === 0) return '0';
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms >= 1000) return `${ms / 1000}s`;
  return `${ms}ms`;
}

// Kubernetes quantity suffixes: decimal k/K/M/G/T, binary Ki/Mi/Gi/Ti.
const SIZE_UNITS: Record<string, number> = {
  '': 1,
  k: 1e3,
  K: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  Ki: 1024,
  Mi: 1024 ** 2,
  Gi: 1024 ** 3,
  Ti: 1024 ** 4,
};
const SIZE = /^(\d+(?:\.\d+)?)(k|K|M|G|T|Ki|Mi|Gi|Ti)?$/;

/** What a size looks like, for messages. */
export const SIZE_HINT = 'a size like 512Mi, 10M, 1Gi or a number of bytes';

// `512Mi`, `10M` or a number of bytes → bytes; null when it is none of these.
export function parseSize(value: unknown): number | null {
  if (typeof value === 'number') return Number.isInteger(value) && value >= 0 ? value : null;
  if (typeof value !== 'string') return null;
  const m = SIZE.exec(value.trim());
  if (!m) return null;
  return Math.round(Number(m[1]) * SIZE_UNITS[m[2] ?? '']!);
}

/** Every signal name this platform knows, `SIGTERM` form. */
export const SIGNAL_NAMES: readonly string[] = Object.keys(constants.signals).sort();

// `SIGTERM` or `TERM` → `SIGTERM`; null for a name this platform does not know.
export function parseSignal(value: unknown): NodeJS.Signals | null {
  if (typeof value !== 'string') return null;
  const name = value.startsWith('SIG') ? value : `SIG${value}`;
  return name in constants.signals ? (name as NodeJS.Signals) : null;
}
