// Reads a spec or env file without ever blocking on it. A FIFO opened for reading waits for a
// writer, and /dev/zero never ends: either would hold one of libuv's four file-I/O threads for
// ever (four `tend plan` runs froze the daemon). So the file is opened with O_NONBLOCK (which makes
// opening a FIFO return at once), checked with fstat on the descriptor itself (no race with a
// rename between a stat and the open) and read only when it is a regular file of bounded size.

import { constants } from 'node:fs';
import { open } from 'node:fs/promises';

export type ReadOutcome =
  | { ok: true; text: string; size: number; mtimeMs: number }
  | { ok: false; reason: string; code: 'SPEC_PARSE' | 'SPEC_TOO_LARGE'; missing: boolean; size?: number; mtimeMs?: number };

const FLAGS = constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY;

// What a non-regular file is, in words.
function kindOf(st: { isDirectory(): boolean; isFIFO(): boolean; isCharacterDevice(): boolean; isBlockDevice(): boolean; isSocket(): boolean }): string {
  if (st.isDirectory()) return 'a directory';
  if (st.isFIFO()) return 'a FIFO (named pipe)';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isSocket()) return 'a socket';
  return 'not a regular file';
}

// Errno codes in words a user acts on; anything else keeps the system's message.
function describeError(err: unknown): { reason: string; missing: boolean } {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  switch (code) {
    case 'ENOENT':
      return { reason: 'does not exist', missing: true };
    case 'ENOTDIR':
      return { reason: 'does not exist (a part of its path is not a directory)', missing: true };
    case 'EACCES':
    case 'EPERM':
      return { reason: 'cannot be read: permission denied', missing: false };
    case 'ELOOP':
      return { reason: 'cannot be read: too many levels of symbolic links', missing: false };
    case 'ENAMETOOLONG':
      return { reason: 'cannot be read: the path is too long', missing: false };
    default:
      return { reason: `cannot be read: ${err instanceof Error ? err.message : String(err)}`, missing: false };
  }
}

// The text of `path` when it is a regular file of at most `maxBytes`; otherwise why not.
export async function readRegularFile(path: string, maxBytes: number): Promise<ReadOutcome> {
  let handle;
  try {
    handle = await open(path, FLAGS);
  } catch (err) {
    return { ok: false, code: 'SPEC_PARSE', ...describeError(err) };
  }
  try {
    const st = await handle.stat();
    if (!st.isFile()) return { ok: false, code: 'SPEC_PARSE', reason: `is ${kindOf(st)}, not a regular file`, missing: false };
    if (st.size > maxBytes) {
      return { ok: false, code: 'SPEC_TOO_LARGE', reason: `is ${st.size} bytes, more than the ${maxBytes} allowed: refused`, missing: false, size: st.size, mtimeMs: st.mtimeMs };
    }
    // Read at most one byte past the bound: a file that grew since fstat is still refused.
    let buf = Buffer.allocUnsafe(Math.min(maxBytes + 1, st.size + 1));
    let length = 0;
    for (;;) {
      if (length === buf.length) {
        if (buf.length > maxBytes) break;
        const bigger = Buffer.allocUnsafe(Math.min(maxBytes + 1, buf.length * 2));
        buf.copy(bigger, 0, 0, length);
        buf = bigger;
      }
      const { bytesRead } = await handle.read(buf, length, buf.length - length, length);
      if (bytesRead === 0) break;
      length += bytesRead;
    }
    if (length > maxBytes) {
      return { ok: false, code: 'SPEC_TOO_LARGE', reason: `is more than the ${maxBytes} bytes allowed: refused`, missing: false };
    }
    return { ok: true, text: buf.toString('utf8', 0, length), size: length, mtimeMs: st.mtimeMs };
  } catch (err) {
    return { ok: false, code: 'SPEC_PARSE', ...describeError(err) };
  } finally {
    await handle.close().catch(() => undefined);
  }
}
