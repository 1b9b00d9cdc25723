// The address of the TCP listener (`--http HOST:PORT`) and whether it is loopback: checked by
// `tend up` before anything starts, and again by the listener itself.

import { isIP } from 'node:net';
import { TendError } from '../errors.js';

/** Parses `HOST:PORT` (IPv6 in brackets); a bare port means 127.0.0.1. */
export function parseHttpAddress(text: string): { host: string; port: number } {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(text) ?? /^()()(\d{1,5})$/.exec(text);
  const port = m ? Number(m[3]) : NaN;
  if (!m || !(port >= 0 && port <= 65535)) {
    throw new TendError('API_BAD_REQUEST', `--http expects HOST:PORT such as 127.0.0.1:7070 or [::1]:7070, got "${text}"`);
  }
  const host = m[1] || m[2] || '127.0.0.1';
  return { host, port };
}

/** Loopback: 127.0.0.0/8, ::1, ::ffff:127.x, and the name localhost. */
export function isLoopbackHost(host: string): boolean {
  const h = host.toLowerCase();
  if (h === 'localhost' || h === '::1') return true;
  const v4 = h.startsWith('::ffff:') ? h.slice(7) : h;
  return isIP(v4) === 4 && v4.startsWith('127.');
}
