// Small pure helpers the converters share: POSIX-style word splitting (what supervisord, zinit and
// PM2 do to a command line), tend-safe service names, durations and signal names.

import { constants } from 'node:os';

/** Splits a command line the way Python's shlex.split and Rust's shlex::split do (POSIX mode). */
export function shellSplit(text: string): string[] | { error: string; offset: number } {
  const words: string[] = [];
  let cur = '';
  let inWord = false;
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (c === "'") {
      const end = text.indexOf("'", i + 1);
      if (end < 0) return { error: 'unterminated single quote', offset: i };
      cur += text.slice(i + 1, end);
      inWord = true;
      i = end + 1;
    } else if (c === '"') {
      let j = i + 1;
      for (;;) {
        if (j >= text.length) return { error: 'unterminated double quote', offset: i };
        const d = text[j]!;
        if (d === '"') break;
        if (d === '\\' && j + 1 < text.length && '\\"$`\n'.includes(text[j + 1]!)) {
          cur += text[j + 1];
          j += 2;
          continue;
        }
        cur += d;
        j++;
      }
      inWord = true;
      i = j + 1;
    } else if (c === '\\') {
      if (i + 1 < text.length) cur += text[i + 1];
      inWord = true;
      i += 2;
    } else if (/\s/.test(c)) {
      if (inWord) words.push(cur);
      cur = '';
      inWord = false;
      i++;
    } else {
      cur += c;
      inWord = true;
      i++;
    }
  }
  if (inWord) words.push(cur);
  return words;
}

const NAME = /^[a-z0-9][a-z0-9_-]{0,62}$/;

/** A tend service name for a source name: lowercase, other characters as "-", at most 63. */
export function serviceName(source: string): string {
  if (NAME.test(source)) return source;
  let n = source.toLowerCase().replace(/[^a-z0-9_-]+/g, '-').replace(/^[-_]+/, '');
  if (n === '') n = 'service';
  return n.slice(0, 63).replace(/[-_]+$/, '') || 'service';
}

/** Milliseconds as a tend duration: `1600ms`, `2s`, `5m`, `1h`. */
export function duration(ms: number): string {
  if (ms === 0) return '0';
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  return `${Math.round(ms)}ms`;
}

const SIGNALS = constants.signals as Record<string, number>;

/** `TERM`, `sigterm`, `SIGTERM` or 15 → `SIGTERM`; undefined when it is no signal of this system. */
export function signalName(value: unknown): string | undefined {
  if (typeof value === 'number') return Object.keys(SIGNALS).find((k) => SIGNALS[k] === value);
  if (typeof value !== 'string') return undefined;
  const v = value.trim().toUpperCase();
  const name = v.startsWith('SIG') ? v : `SIG${v}`;
  return name in SIGNALS ? name : undefined;
}

/** Doubles every `$` so tend's `${VAR}` interpolation leaves the text as the source meant it. */
export function escapeDollars(text: string): string {
  return text.replace(/\$/g, '$$$$');
}

/** 1-based line and column of an offset in a text. */
export function positionOf(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  return { line, column: offset - before.lastIndexOf('\n') };
}
