// What a replica can tell tend (DESIGN §9), and the two wire formats that carry it: systemd's
// sd_notify datagrams (`READY=1\nSTATUS=…`) and tend's own newline-delimited JSON. Pure parsers:
// bytes in, typed messages (or a counted reason for refusing them) out.

/** One thing a replica said. The hub hands these to its owner already attributed to a replica. */
export type NotifyMessage =
  | { kind: 'ready' }
  | { kind: 'status'; text: string }
  | { kind: 'heartbeat' }
  | { kind: 'stopping' }
  | { kind: 'reloading' }
  | { kind: 'errno'; errno: number }
  /** systemd's EXTEND_TIMEOUT_USEC: "give me this much longer from now" (start-up timeout). */
  | { kind: 'extendTimeout'; ms: number }
  /** systemd's WATCHDOG_USEC sent by the child: it changes its own watchdog period. */
  | { kind: 'watchdogPeriod'; ms: number }
  | { kind: 'event'; name: string; data: unknown };

/** Why a message (or a connection) was refused; each reason is a counter in /metrics. */
export type DropReason =
  | 'bad_token' // hello with a token that belongs to no registered replica
  | 'no_hello' // a message before hello on a stream connection
  | 'malformed' // not JSON, not an object, unknown type, missing field
  | 'line_too_long' // a line over MAX_LINE_BYTES (the connection is closed)
  | 'datagram_too_long' // a datagram over MAX_DATAGRAM_BYTES
  | 'rate_limited' // over the per-replica budget
  | 'unknown_event' // an event name the spec does not declare
  | 'invalid_event' // an event whose data fails its schema
  | 'unattributed' // a datagram on a socket whose replica is gone
  | 'too_many_connections';

export const DROP_REASONS: readonly DropReason[] = [
  'bad_token',
  'no_hello',
  'malformed',
  'line_too_long',
  'datagram_too_long',
  'rate_limited',
  'unknown_event',
  'invalid_event',
  'unattributed',
  'too_many_connections',
];

/** A stream line longer than this closes the connection: one replica cannot make tend buffer 10 MB. */
export const MAX_LINE_BYTES = 64 * 1024;
/** systemd's own limit for a notification datagram is about this (NOTIFY_BUFFER_MAX is 4 KiB + 1). */
export const MAX_DATAGRAM_BYTES = 4096;
/** STATUS texts are cut to this many characters (they go into every status report). */
export const MAX_STATUS_CHARS = 512;

/** A datagram's assignments: those understood, and a detail for each refused (all `malformed`). */
export interface SdParsed {
  messages: NotifyMessage[];
  refused: string[];
}

/**
 * One sd_notify datagram: newline-separated VAR=VALUE assignments. Unknown variables (MAINPID,
 * FDSTORE, BARRIER, …) are ignored as systemd ignores what it does not use; BARRIER=1 needs no
 * answer because the sender waits only for its fd to be closed, which the kernel does when the
 * datagram is read without taking the fd. A line that is not an assignment, or a value tend
 * cannot use, is refused alone, as systemd ignores a bad field and acts on the rest: refusing the
 * whole datagram lost the READY=1 beside it, and the replica was restarted for want of it.
 */
export function parseSdNotify(text: string): SdParsed {
  const messages: NotifyMessage[] = [];
  const refused: string[] = [];
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const eq = line.indexOf('=');
    if (eq <= 0) {
      refused.push(`not VAR=VALUE: ${clip(line)}`);
      continue;
    }
    const key = line.slice(0, eq);
    const value = line.slice(eq + 1);
    switch (key) {
      case 'READY':
        if (value === '1') messages.push({ kind: 'ready' });
        break;
      case 'STATUS':
        messages.push({ kind: 'status', text: value.slice(0, MAX_STATUS_CHARS) });
        break;
      case 'WATCHDOG':
        if (value === '1') messages.push({ kind: 'heartbeat' });
        break;
      case 'STOPPING':
        if (value === '1') messages.push({ kind: 'stopping' });
        break;
      case 'RELOADING':
        if (value === '1') messages.push({ kind: 'reloading' });
        break;
      case 'ERRNO': {
        const n = Number(value);
        if (value === '' || !Number.isInteger(n) || n < 0) refused.push(`ERRNO=${clip(value)}`);
        else messages.push({ kind: 'errno', errno: n });
        break;
      }
      case 'EXTEND_TIMEOUT_USEC':
      case 'WATCHDOG_USEC': {
        // WATCHDOG_USEC=0 is refused too: a period of 0 would turn off the watchdog the spec asks for.
        const us = Number(value);
        if (value === '' || !Number.isInteger(us) || us <= 0) {
          refused.push(`${key}=${clip(value)}`);
          break;
        }
        const ms = Math.ceil(us / 1000);
        messages.push(key === 'WATCHDOG_USEC' ? { kind: 'watchdogPeriod', ms } : { kind: 'extendTimeout', ms });
        break;
      }
      default:
        break;
    }
  }
  return { messages, refused };
}

/** A line of tend's stream protocol, after `hello`. */
export type StreamLine =
  | { type: 'hello'; token: string; id?: unknown }
  /** Asks for an ack and nothing else: lets a client know tend has read everything before it. */
  | { type: 'ping'; id?: unknown }
  | { type: 'message'; message: NotifyMessage; id?: unknown };

/** One JSON line of the stream protocol. `id`, when present, asks for an `ack` line back. */
export function parseStreamLine(line: string): { ok: true; line: StreamLine } | { ok: false; reason: DropReason; detail: string; id?: unknown } {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch (err) {
    return { ok: false, reason: 'malformed', detail: `not JSON: ${(err as Error).message}` };
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return { ok: false, reason: 'malformed', detail: 'a line must be a JSON object' };
  const o = v as Record<string, unknown>;
  const id = o.id;
  const bad = (detail: string) => ({ ok: false as const, reason: 'malformed' as const, detail, ...(id === undefined ? {} : { id }) });
  const msg = (message: NotifyMessage) => ({ ok: true as const, line: { type: 'message' as const, message, ...(id === undefined ? {} : { id }) } });
  switch (o.type) {
    case 'hello':
      if (typeof o.token !== 'string') return bad('hello needs a "token" string');
      return { ok: true, line: { type: 'hello', token: o.token, ...(id === undefined ? {} : { id }) } };
    case 'ping':
      return { ok: true, line: { type: 'ping', ...(id === undefined ? {} : { id }) } };
    case 'ready':
      return msg({ kind: 'ready' });
    case 'heartbeat':
      return msg({ kind: 'heartbeat' });
    case 'stopping':
      return msg({ kind: 'stopping' });
    case 'reloading':
      return msg({ kind: 'reloading' });
    case 'status':
      if (typeof o.text !== 'string') return bad('status needs a "text" string');
      return msg({ kind: 'status', text: o.text.slice(0, MAX_STATUS_CHARS) });
    case 'event':
      if (typeof o.name !== 'string' || o.name === '') return bad('event needs a "name" string');
      return msg({ kind: 'event', name: o.name, data: o.data ?? null });
    default:
      return bad(`unknown type ${clip(JSON.stringify(o.type) ?? 'undefined')} (expected hello, ping, ready, status, heartbeat, event, stopping or reloading)`);
  }
}

function clip(s: string): string {
  return s.length > 80 ? `${s.slice(0, 80)}…` : s;
}
