// Small path checks shared by the daemon and the CLI for directories users name.

import { realpathSync, statSync } from 'node:fs';
import { fromWorkingDir } from '../util/working-dir.js';
import { TendError } from '../errors.js';

/** A directory that must exist (`tend plan /nonexistent` is an error, not "stop everything"). */
export function assertDirectory(dir: string): void {
  const st = statSync(dir, { throwIfNoEntry: false });
  if (st === undefined) throw new TendError('API_BAD_REQUEST', `${dir}: no such directory`);
  if (!st.isDirectory()) throw new TendError('API_BAD_REQUEST', `${dir}: not a directory`);
}

/** The real path (a release symlink resolved), or the path as given when it cannot be resolved. */
export function realOrSelf(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return fromWorkingDir(path);
  }
}
