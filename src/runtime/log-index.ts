// The time index of a replica log: the log file itself holds only the child's bytes (children
// write straight to it), so *when* a line was written is recorded beside it, in `<log>.idx`, by the
// daemon watching the file grow. One record per line of text:
//   t <offset> <epoch ms>   by that time the file held at least <offset> bytes
//   r <offset> <epoch ms>   a new run of the replica began; its output starts at <offset>
// A line ending at byte E is stamped with the first `t` at or after E: the moment tend saw it,
// an upper bound that is late by at most the watcher's sampling delay (docs/logs.md).
// Rotated generations carry their index along: `<log>.1` ↔ `<log>.1.idx`.

import { appendFileSync, readFileSync } from 'node:fs';

export interface IndexRecord {
  kind: 't' | 'r';
  offset: number;
  at: number;
}

/** `<log>` for generation 0, `<log>.N` for the N-th rotated copy. */
export function generationPath(path: string, generation: number): string {
  return generation === 0 ? path : `${path}.${generation}`;
}

export function indexPath(logFile: string): string {
  return `${logFile}.idx`;
}

export function formatRecords(records: readonly IndexRecord[]): string {
  return records.map((r) => `${r.kind} ${r.offset} ${r.at}\n`).join('');
}

/** Appends records; an index that cannot be written costs timestamps, never supervision. */
export function appendRecords(logFile: string, records: readonly IndexRecord[]): boolean {
  if (records.length === 0) return true;
  try {
    appendFileSync(indexPath(logFile), formatRecords(records), { mode: 0o600 });
    return true;
  } catch {
    return false;
  }
}

/** The records of a log's index, in file order; a missing or damaged index gives what it can. */
export function readIndex(logFile: string): IndexRecord[] {
  let text: string;
  try {
    text = readFileSync(indexPath(logFile), 'latin1');
  } catch {
    return [];
  }
  const out: IndexRecord[] = [];
  for (const line of text.split('\n')) {
    const m = /^([tr]) (\d+) (\d+)$/.exec(line);
    if (m) out.push({ kind: m[1] as 't' | 'r', offset: Number(m[2]), at: Number(m[3]) });
  }
  return out;
}
