// Write a file so that a reader (the daemon's watcher, a new daemon after a crash) sees the old
// content or the new, never half of it: a temp file in the same directory with the wanted mode,
// fsync, rename over the target, then fsync the directory so that the rename itself is durable.

import { closeSync, fchmodSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

export function writeFileAtomic(path: string, data: string | Buffer, mode = 0o600): void {
  const tmp = join(dirname(path), `.${basename(path)}.tend-${process.pid}.tmp`);
  let fd: number | undefined = openSync(tmp, 'w', 0o600);
  try {
    fchmodSync(fd, mode); // the umask does not apply to fchmod
    writeSync(fd, typeof data === 'string' ? Buffer.from(data) : data);
    fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    renameSync(tmp, path);
  } catch (err) {
    if (fd !== undefined) closeSync(fd);
    rmSync(tmp, { force: true });
    throw err;
  }
  const dirFd = openSync(dirname(path), 'r');
  try {
    fsyncSync(dirFd);
  } finally {
    closeSync(dirFd);
  }
}
