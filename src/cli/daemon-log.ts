// `tend daemon-log [-f] [-n N]`: the daemon's own log (`tend.log`, pino JSON lines, kept JSON for
// machines) rendered for people: local time, level, message, and the other fields as key=value.

import { open, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import { tailOffset } from '../api/log-follow.js';
import { displayPath } from '../util/working-dir.js';
import { TendError } from '../errors.js';
import { delay, parseCount, type Cli } from './context.js';
import { EXIT } from './exit-codes.js';
import { localTime } from './format.js';
import { paint, type Colour, type Term } from './term.js';

export interface DaemonLogOptions {
  follow?: boolean;
  lines?: string;
  /** Print the JSON lines as they are. */
  json?: boolean;
}

const POLL_MS = 200;
const LEVELS: Record<number, [string, Colour | undefined]> = {
  10: ['TRACE', 'dim'],
  20: ['DEBUG', 'dim'],
  30: ['INFO', 'green'],
  40: ['WARN', 'yellow'],
  50: ['ERROR', 'red'],
  60: ['FATAL', 'red'],
};
/** pino's own fields, shown in their place rather than as key=value. */
const KNOWN = new Set(['level', 'time', 'msg', 'pid', 'hostname']);

export async function daemonLogCommand(cli: Cli, opts: DaemonLogOptions): Promise<number> {
  const path = join(cli.stateDir(), 'tend.log');
  const st = await stat(path).catch(() => undefined);
  if (!st) throw new TendError('DAEMON_UNREACHABLE', `no daemon log at ${displayPath(path)} (tend up -d writes it; a foreground daemon logs to its terminal)`);
  let position = opts.lines === undefined ? 0 : await tailOffset(path, parseCount(opts.lines, '-n'));
  let partial = '';
  let decoder = new StringDecoder('utf8');
  const emit = async (text: string) => {
    const parts = (partial + text).split('\n');
    partial = parts.pop() ?? '';
    if (parts.length === 0) return;
    cli.out.write(parts.map((l) => (opts.json ? l : renderDaemonLine(cli.out, l)) + '\n').join(''));
    await cli.out.flush();
  };
  for (;;) {
    const fh = await open(path, 'r');
    try {
      const { size } = await fh.stat();
      if (size < position) {
        position = 0; // truncated or replaced
        decoder = new StringDecoder('utf8');
      }
      const buf = Buffer.alloc(64 * 1024);
      while (position < size) {
        const { bytesRead } = await fh.read(buf, 0, Math.min(buf.length, size - position), position);
        if (bytesRead === 0) break;
        position += bytesRead;
        await emit(decoder.write(buf.subarray(0, bytesRead)));
      }
    } finally {
      await fh.close();
    }
    if (!opts.follow) break;
    await delay(POLL_MS);
  }
  if (partial !== '') cli.out.write((opts.json ? partial : renderDaemonLine(cli.out, partial)) + '\n');
  return EXIT.OK;
}

/** `2026-11-30 19:00:01.123 INFO  message key=value …`; a line that is not pino JSON as it is. */
export function renderDaemonLine(term: Pick<Term, 'color'>, line: string): string {
  let rec: Record<string, unknown>;
  try {
    const v = JSON.parse(line) as unknown;
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return line;
    rec = v as Record<string, unknown>;
  } catch {
    return line;
  }
  const time = typeof rec['time'] === 'number' ? localTime(rec['time']) : '-';
  const [name, colour] = LEVELS[rec['level'] as number] ?? [String(rec['level'] ?? '?').toUpperCase(), undefined];
  const extra = Object.entries(rec)
    .filter(([k]) => !KNOWN.has(k))
    .map(([k, v]) => `${k}=${k === 'err' ? errText(v) : typeof v === 'string' ? v : JSON.stringify(v)}`);
  const msg = typeof rec['msg'] === 'string' ? rec['msg'] : '';
  return `${paint(term, 'dim', time)} ${paint(term, colour, name.padEnd(5))} ${[msg, ...extra].filter((x) => x !== '').join(' ')}`;
}

function errText(v: unknown): string {
  if (v && typeof v === 'object') {
    const e = v as { message?: unknown; stack?: unknown; type?: unknown };
    if (typeof e.message === 'string') return JSON.stringify(e.message);
  }
  return JSON.stringify(v);
}
