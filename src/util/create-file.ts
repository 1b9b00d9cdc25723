// Small files tend creates once and exclusively (tend.pid, the state directory's id). On a full
// disk the write fails after the open succeeded: nothing may be left behind then (an empty tend.pid
// and an open descriptor were), and the error names the file (it said only "ENOSPC: no space left
// on device, write").

import { closeSync, openSync, rmSync, writeSync } from 'node:fs';

/** Creates `path` with `text`, failing with EEXIST (as it is: callers decide) when it exists. */
export function createFileWith(path: string, text: string, mode = 0o600): void {
  const fd = openSync(path, 'wx', mode);
  try {
    writeSync(fd, text);
  } catch (err) {
    closeSync(fd);
    rmSync(path, { force: true });
    throw namingPath(err, 'write', path);
  }
  closeSync(fd);
}

/** `err` (an fs error) as `cannot ACTION PATH: CODE: what`, still an fs error (its code and
 *  syscall kept: callers test the code, and the CLI tells an OS error from a bug by them). */
export function namingPath(err: unknown, action: string, path: string): NodeJS.ErrnoException {
  const e = err as NodeJS.ErrnoException;
  const what = String(e?.message ?? err).replace(/, [a-z]+( '[^']*')?$/, '');
  return Object.assign(new Error(`cannot ${action} ${path}: ${what}`, { cause: err }), { code: e?.code, syscall: e?.syscall, path });
}
