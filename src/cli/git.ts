// Git for `tend scale` in a checkout (GitOps: the repository is the truth, docs/gitops.md): is a
// spec file tracked, and committing just that file. git runs through execa, with no shell.

import { statSync } from 'node:fs';
import { dirname, relative } from 'node:path';
import { execa, type Options } from 'execa';
import { TendError } from '../errors.js';
import { resolveUser } from '../runtime/user.js';

export interface GitFile {
  /** The work tree's top directory. */
  top: string;
  /** The file's path inside it, as git shows it. */
  path: string;
}

/** The work tree that tracks `file`, or undefined when git does not track it (no work tree, or no
 *  git at all). A git that fails otherwise (it refuses the repository, say) is an error with git's
 *  own message: "not tracked" would be a lie. */
export async function trackedBy(file: string): Promise<GitFile | undefined> {
  const cwd = dirname(file);
  const top = await git(['rev-parse', '--show-toplevel'], { cwd }).catch((err: unknown) => {
    if (err instanceof TendError) throw err; // descriptor exhaustion: say so, do not pretend
    const e = err as { code?: string; message?: string };
    if (e.code === 'ENOENT' || /not a git repository/i.test(e.message ?? '')) return undefined;
    throw err;
  });
  if (top === undefined) return undefined;
  const path = relative(top, file);
  const tracked = await git(['ls-files', '--error-unmatch', '--', path], { cwd: top }).then(
    () => true,
    (err: unknown) => {
      if (err instanceof TendError) throw err;
      return false;
    },
  );
  return tracked ? { top, path } : undefined;
}

/** Commits only `f` (whatever else is staged stays staged), with `message`; returns the short hash. */
export async function commitFile(f: GitFile, message: string): Promise<string> {
  try {
    await git(['commit', '--quiet', '--only', '-m', message, '--', f.path], { cwd: f.top });
    return await git(['rev-parse', '--short', 'HEAD'], { cwd: f.top });
  } catch (err) {
    if (err instanceof TendError) throw err;
    throw new TendError('SPAWN_FAILED', `git commit of ${f.path} failed (the file is changed but not committed): ${(err as Error).message}`, {}, { cause: err });
  }
}

// Runs git and returns its trimmed stdout. A failed git is an Error with git's own message; running
// out of file descriptors is a TendError that says so. execa 9 does not report EMFILE as a spawn
// error: the subprocess has no stdio then and it throws "subprocess.stdio is not iterable".
async function git(args: string[], opts: Options & { cwd: string }): Promise<string> {
  try {
    const r = await execa('git', args, { ...opts, ...asOwnerOf(opts.cwd), stdin: 'ignore', reject: true, timeout: 30_000 });
    return String(r.stdout).trim();
  } catch (err) {
    if (isDescriptorExhaustion(err)) {
      throw new TendError('SPAWN_FAILED', `cannot run git: this process is out of file descriptors (EMFILE); raise the limit (ulimit -n) or close some`, {}, { cause: err });
    }
    const e = err as { shortMessage?: string; stderr?: unknown; code?: string };
    if (e.code === 'ENOENT') throw Object.assign(new Error('git is not installed'), { code: 'ENOENT' });
    throw new Error(String(e.stderr ?? '').trim() || e.shortMessage || String(err), { cause: err });
  }
}

// As root in a work tree that another user owns (`sudo tend scale` in a deploy user's checkout), git
// runs as that user, with their home: git refuses a repository that is not its caller's ("dubious
// ownership", since 2.35.2), and rightly, as the repository's hooks and config (core.fsmonitor) would
// run as root. The commit is then theirs, made with their identity, and git's files stay theirs.
function asOwnerOf(dir: string): Options {
  if (process.getuid?.() !== 0) return {};
  const owner = statSync(dir).uid;
  if (owner === 0) return {};
  const user = resolveUser(String(owner));
  return { uid: owner, gid: user?.gid ?? owner, env: { HOME: user?.home ?? dir } };
}

export function isDescriptorExhaustion(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown; cause?: { code?: unknown } };
  return (
    e?.code === 'EMFILE' ||
    e?.code === 'ENFILE' ||
    e?.cause?.code === 'EMFILE' ||
    (err instanceof TypeError && /stdio is not iterable/.test(String(e.message))) ||
    /\bEMFILE\b/.test(String(e?.message ?? ''))
  );
}
