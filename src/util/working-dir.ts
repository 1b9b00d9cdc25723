// The working directory as the user's shell names it, and paths the user typed resolved from it.
//
// Node's process.cwd() is the real path (getcwd(3)): in a shell that went `cd /srv/app/current`,
// where `current` is a symlink switched between releases, it says /srv/app/releases/41. A daemon
// started there with `tend up -d` then watched releases/41/services.d, never saw the next release
// switched in, and ran release 41 until it was deleted (then it reported an unreadable directory
// and still ran it). A shell keeps the path it was given in $PWD; Go's os.Getwd and `pwd -L` take
// $PWD when it names the directory the process is in, and so does tend.
//
// Node also throws from process.cwd() once that directory is removed (`rm -rf` of an old release
// under a shell still in it): paths the user gave relative then have no meaning, and the command
// says so (CWD_GONE) instead of an `ENOENT ... uv_cwd` stack; paths tend only shows never fail.

import { statSync } from 'node:fs';
import { isAbsolute, normalize, relative, resolve } from 'node:path';
import { TendError } from '../errors.js';

let known: string | undefined;

/** The working directory: $PWD when it is an absolute path without `.` or `..` that names the
 *  directory the process is in (symlinks kept), else the real path. Throws CWD_GONE when the
 *  directory was removed. */
export function workingDir(): string {
  if (known !== undefined) return known;
  let real: string;
  try {
    real = process.cwd();
  } catch (err) {
    // Not named: tend's launcher is an sh script, and sh empties $PWD when getcwd fails.
    throw new TendError('CWD_GONE', 'the working directory was removed: cd to a directory that exists, or give absolute paths and --state-dir', {}, { cause: err });
  }
  return (known = logical(real) ?? real);
}

/** $PWD, if it is a name of `real`. */
function logical(real: string): string | undefined {
  const pwd = process.env['PWD'];
  if (pwd === undefined || !isAbsolute(pwd) || pwd === real) return undefined;
  const clean = pwd.length > 1 && pwd.endsWith('/') ? pwd.slice(0, -1) : pwd;
  // `/a/./b`, `/a/../b` or `//a`: not a name a shell keeps, and `..` after a symlink would not
  // mean what normalize() makes of it.
  if (normalize(clean) !== clean) return undefined;
  try {
    const a = statSync(clean, { bigint: true });
    const b = statSync(real, { bigint: true });
    return a.ino === b.ino && a.dev === b.dev ? clean : undefined;
  } catch {
    return undefined;
  }
}

/** `path` made absolute from the working directory (as path.resolve, with workingDir()). */
export function fromWorkingDir(...paths: string[]): string {
  // path.resolve itself would read the real working directory when no part is absolute.
  return paths.some((p) => isAbsolute(p)) ? resolve(...paths) : resolve(workingDir(), ...paths);
}

/** `path` relative to the working directory when it lies inside it (`services.d/web.yaml`), else
 *  as it is; as it is too when there is no working directory. Never throws. */
export function displayPath(path: string): string {
  let cwd: string;
  try {
    cwd = workingDir();
  } catch {
    return path;
  }
  const rel = relative(cwd, path);
  return rel === '' ? '.' : rel.startsWith('..') || isAbsolute(rel) ? path : rel;
}

/** `path` relative to the working directory, `..` and all (`.` for itself); as it is when there is
 *  no working directory. Never throws. */
export function relativeToWorkingDir(path: string): string {
  try {
    return relative(workingDir(), path) || '.';
  } catch {
    return path;
  }
}

/** Forget what was worked out (tests that change directory or $PWD). */
export function forgetWorkingDir(): void {
  known = undefined;
}
