// The bearer token of the TCP listener (DESIGN §11): 256 random bits in the state directory, mode
// 0600, made at first use by whichever comes first, the daemon or `tend dashboard`. Anyone who can
// read it can already read the Unix socket (same directory, same owner), so it grants nothing new.

import { randomBytes, timingSafeEqual, createHash } from 'node:crypto';
import { closeSync, openSync, readFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { TendError } from '../errors.js';

export const TOKEN_NAME = 'http.token';
/** Where the daemon writes the address its TCP listener bound (`tend dashboard` reads it). */
export const HTTP_INFO_NAME = 'http.json';

/** The listener of the daemon `pid`: the URL it serves, or why it could not listen (a port in use),
 *  for `tend up -d --http` and `tend dashboard` to say so. */
export type HttpInfo = { pid: number; url: string } | { pid: number; address: string; error: string };

/** What `path` says, if it is an HttpInfo. */
export function readHttpInfo(path: string): HttpInfo | undefined {
  try {
    const info = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
    if (typeof info['pid'] !== 'number') return undefined;
    if (typeof info['url'] === 'string') return { pid: info['pid'], url: info['url'] };
    if (typeof info['address'] === 'string' && typeof info['error'] === 'string') return { pid: info['pid'], address: info['address'], error: info['error'] };
    return undefined;
  } catch {
    return undefined;
  }
}

/** The token in `stateDir`, created (O_EXCL, 0600) when there is none yet. */
export function ensureToken(stateDir: string): string {
  const path = join(stateDir, TOKEN_NAME);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const token = readFileSync(path, 'utf8').trim();
      if (token.length >= 32) return token;
      throw new TendError('STATE_CORRUPT', `${path} holds no token (remove it and a new one is made)`);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    try {
      // O_EXCL: two processes racing to create it agree on the winner's token (the loser re-reads).
      const fd = openSync(path, 'wx', 0o600);
      const token = randomBytes(32).toString('base64url');
      try {
        writeSync(fd, token + '\n');
      } finally {
        closeSync(fd);
      }
      return token;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
  throw new TendError('INTERNAL', `cannot create or read ${path}`);
}

/** Compares in constant time (hashes first, so lengths do not leak either). */
export function tokenMatches(given: string, token: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(token).digest();
  return timingSafeEqual(a, b);
}
