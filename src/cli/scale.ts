// `tend scale SVC=N ...`: sets `replicas:` in the file that defines each service. The files are the
// truth (DESIGN §1): this edits them and the daemon's watcher does the rest, so it works the same
// whether a daemon runs or not.

import { readFileSync, realpathSync } from 'node:fs';
import { basename } from 'node:path';
import { TendError } from '../errors.js';
import { loadDirectory } from '../spec/load.js';
import { replaceEditedFile } from '../util/atomic-write.js';
import { displayPath, fromWorkingDir } from '../util/working-dir.js';
import { parseDuration, type Cli } from './context.js';
import { commitFile, trackedBy } from './git.js';
import { scaledTo, waitForTarget } from './wait.js';
import { EXIT } from './exit-codes.js';
import { specError } from './format.js';
import { setReplicas } from '../spec/scale-edit.js';
import { noSuchService } from '../spec/suggest.js';

export interface ScaleOptions {
  dir?: string;
  /** Commit each edited file (only it) when git tracks it. */
  commit?: boolean;
  /** Wait until the daemon runs each service at its new count, ready. */
  wait?: boolean;
  timeout?: string;
}

interface Assignment {
  service: string;
  replicas: number;
}

/** Edits each service's file; all assignments are checked before any file is written. */
export async function scaleCommand(cli: Cli, args: string[], opts: ScaleOptions): Promise<number> {
  const assignments = args.map(parseAssignment);
  for (const a of assignments) {
    const same = assignments.filter((b) => b.service === a.service);
    if (same.length > 1) throw new TendError('API_BAD_REQUEST', `${a.service} is given twice (${same.map((b) => `${b.service}=${b.replicas}`).join(', ')}): which count?`);
  }
  const dir = await specDirectory(cli, opts.dir);
  const loaded = await loadDirectory(dir);

  // Plan every edit first, so `scale a=1 b=oops` changes nothing.
  const edits = new Map<string, { text: string; changes: string[] }>();
  for (const a of assignments) {
    const file = fileOf(loaded, a.service, dir);
    const entry = edits.get(file) ?? { text: readFileSync(file, 'utf8'), changes: [] };
    const before = loaded.services.find((s) => s.name === a.service)?.replicas;
    entry.text = setReplicas(entry.text, file, a.service, a.replicas);
    entry.changes.push(`${a.service}: replicas ${before ?? '?'} → ${a.replicas} (${basename(file)})`);
    edits.set(file, entry);
  }
  const timeoutMs = parseDuration(opts.timeout ?? '60s', '--timeout');
  for (const [file, { text, changes }] of edits) {
    replaceEditedFile(file, text);
    for (const c of changes) cli.out.write(`${c}\n`);
    await afterEdit(cli, file, changes, opts.commit ?? false);
  }
  if (!opts.wait) return EXIT.OK;
  // The watcher would notice the edit within its settle time; asking saves that wait.
  await cli.client().reload();
  for (const a of assignments) {
    const code = await waitForTarget(cli, `${a.service} at ${a.replicas} replicas`, a.service, scaledTo(a.service, a.replicas), timeoutMs, opts.timeout ?? '60s');
    if (code !== EXIT.OK) return code;
  }
  return EXIT.OK;
}

// The repository is the truth (docs/gitops.md): an edited file that git tracks leaves the work tree
// dirty, and the next `git pull` of the deploy would abort. Say so, or commit just that file.
async function afterEdit(cli: Cli, file: string, changes: string[], commit: boolean): Promise<void> {
  const tracked = await trackedBy(realpathSync(file)).catch((err: unknown) => {
    if (err instanceof TendError) throw err;
    // git refused to answer (a repository it does not trust, say): the edit stands; say why nothing
    // more happened.
    const why = `git cannot tell whether it tracks ${displayPath(file)}: ${(err as Error).message.split('\n')[0]}`;
    if (commit) throw new TendError('SPAWN_FAILED', `${why}; the file is changed but not committed`, {}, { cause: err });
    cli.err.write(`warning: ${why}\n`);
    return null;
  });
  if (tracked === null) return;
  if (!tracked) {
    if (commit) cli.err.write(`tend: ${displayPath(file)} is not tracked by git; nothing committed\n`);
    return;
  }
  if (!commit) {
    cli.err.write(
      `warning: ${tracked.path} is tracked by git (${tracked.top}) and now differs from it; commit it (tend scale --commit) or the next git pull may abort\n`,
    );
    return;
  }
  const message = `tend scale: ${changes.map((c) => c.replace(/ \(.*\)$/, '')).join(', ')}`;
  const hash = await commitFile(tracked, message);
  cli.out.write(`committed ${tracked.path} as ${hash}: ${message}\n`);
}

function parseAssignment(arg: string): Assignment {
  const m = /^([a-z0-9][a-z0-9_-]{0,62})=(\d+)$/.exec(arg);
  if (!m) throw new TendError('API_BAD_REQUEST', `expected SERVICE=COUNT (like web=3), got "${arg}"`);
  return { service: m[1] as string, replicas: Number(m[2]) };
}

// --dir, else the directory the running daemon supervises, else ./services.d.
async function specDirectory(cli: Cli, dirOption: string | undefined): Promise<string> {
  if (dirOption !== undefined) return fromWorkingDir(dirOption);
  try {
    return (await cli.client().status()).source;
  } catch (err) {
    if (err instanceof TendError && err.code === 'DAEMON_UNREACHABLE') return fromWorkingDir('services.d');
    throw err;
  }
}

// The file that defines the service: from a good load, or from a broken file that still named it
// (scaling must not wait for an unrelated typo to be fixed, but a file that no longer parses is
// refused by setReplicas with its own message).
function fileOf(loaded: Awaited<ReturnType<typeof loadDirectory>>, service: string, dir: string): string {
  const svc = loaded.services.find((s) => s.name === service);
  if (svc) return svc.file;
  for (const [file, names] of loaded.files) if (names.includes(service)) return file;
  const hints = loaded.problems.map((p) => `\n  ${specError(p)}`).join('');
  // A file that does not parse may be the one that defines it: say the files are broken (exit 1),
  // not that the service does not exist (exit 4), as docs/cli.md promises.
  if (loaded.problems.length > 0) {
    throw new TendError('SPEC_INVALID', `cannot scale "${service}": it is in no file that loads, and ${dir} has errors to fix first:${hints}`);
  }
  throw noSuchService(service, loaded.services.map((s) => s.name), dir);
}
