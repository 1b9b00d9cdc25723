// Write a file so that a reader (the daemon's watcher, a new daemon after a crash) sees the old
// content or the new, never half of it: a temp file in the same directory with the wanted mode,
// fsync, rename over the target, then fsync the directory so that the rename itself is durable.

import { closeSync, fchmodSync, fchownSync, fsyncSync, openSync, realpathSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { TendError } from '../errors.js';
import { namingPath } from './create-file.js';

export function writeFileAtomic(path: string, data: string | Buffer, mode = 0o600, owner?: { uid: number; gid: number }): void {
  const tmp = join(dirname(path), `.${basename(path)}.tend-${process.pid}.tmp`);
  let fd: number | undefined = openSync(tmp, 'w', 0o600);
  try {
    // Owner before mode: chown clears set-id bits that the mode may then restore.
    if (owner !== undefined) fchownSync(fd, owner.uid, owner.gid);
    fchmodSync(fd, mode); // the umask does not apply to fchmod
    writeSync(fd, typeof data === 'string' ? Buffer.from(data) : data);
    fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    renameSync(tmp, path);
  } catch (err) {
    if (fd !== undefined) closeSync(fd);
    rmSync(tmp, { force: true });
    throw namingPath(err, 'write', path);
  }
  const dirFd = openSync(dirname(path), 'r');
  try {
    fsyncSync(dirFd);
  } finally {
    closeSync(dirFd);
  }
}

/** Replaces a file that people own and edit (a spec file) with new text: at a symlink's target, so
 *  the link stays a link; with the file's mode; and, when tend runs as root, with its owner and group
 *  (`sudo tend scale` in a deploy user's checkout must leave the file theirs to edit, as `vim` does,
 *  where a plain rename would give it to root). A file this user may not replace is an error that
 *  says who tend runs as and whose the directory is. */
export function replaceEditedFile(link: string, text: string): void {
  const file = realpathSync(link);
  const st = statSync(file);
  const root = process.getuid?.() === 0;
  try {
    writeFileAtomic(file, text, st.mode & 0o7777, root && (st.uid !== 0 || st.gid !== 0) ? { uid: st.uid, gid: st.gid } : undefined);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EACCES' || code === 'EPERM') {
      const dirOwner = statSync(dirname(file)).uid;
      throw new TendError('FILE_NOT_WRITABLE', `cannot write ${file}: permission denied (tend runs as uid ${process.getuid?.()}, and its directory belongs to uid ${dirOwner})`, {}, { cause: err });
    }
    if (code === 'EROFS') throw new TendError('FILE_NOT_WRITABLE', `cannot write ${file}: it is on a read-only file system`, {}, { cause: err });
    throw err;
  }
}
