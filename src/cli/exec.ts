// `tend exec SVC[/N] -- CMD [ARGS...]`: runs a command with a replica's environment, working
// directory and user (as the daemon would launch it), with this terminal's stdin, stdout and
// stderr, and exits with the command's exit code (128 + signal number when a signal ended it).

import { spawn } from 'node:child_process';
import { constants as osConstants } from 'node:os';
import { TendError } from '../errors.js';
import { resolveUser } from '../runtime/user.js';
import { parseTarget, type Cli } from './context.js';

export interface ExecOptions {
  /** Run as this user instead of the service's `user:` (root, say); as `docker compose exec -u`. */
  user?: string;
}

export async function execCommand(cli: Cli, targetArg: string, command: string[], opts: ExecOptions = {}): Promise<number> {
  const target = parseTarget(targetArg);
  const [file, ...args] = command;
  if (file === undefined) throw new TendError('API_BAD_REQUEST', 'expected a command after the target, like: tend exec web/0 -- env');
  const report = await cli.client().inspect(target.service, { replica: target.replica ?? 0, allEnv: true });
  const replica = report.replicas[0];
  if (!replica) throw new TendError('API_NOT_FOUND', `service "${target.service}" has no replica ${target.replica ?? 0}`);
  // As the replica runs, as `docker compose exec` does: `tend exec worker -- ./manage.py migrate` as
  // root must not leave files root owns in the service's directory.
  const user = opts.user ?? (typeof report.spec['user'] === 'string' || typeof report.spec['user'] === 'number' ? String(report.spec['user']) : undefined);
  let ids: { uid: number; gid: number } | undefined;
  if (user !== undefined && process.getuid?.() === 0) {
    ids = resolveUser(user) ?? undefined;
    if (ids === undefined) throw new TendError('API_BAD_REQUEST', `unknown user "${user}" (not in /etc/passwd)`);
  } else if (opts.user !== undefined && resolveUser(opts.user)?.uid !== process.getuid?.()) {
    throw new TendError('NOT_ROOT', `--user ${opts.user}: tend exec runs as another user only when run as root`);
  }
  const child = spawn(file, args, { cwd: replica.cwd, env: replica.env, stdio: 'inherit', ...(ids ? { uid: ids.uid, gid: ids.gid } : {}) });
  // Ctrl-C reaches the command (same process group); tend waits for it to decide.
  const ignore = () => {};
  process.on('SIGINT', ignore);
  process.on('SIGTERM', ignore);
  try {
    return await new Promise<number>((resolve, reject) => {
      child.once('error', (err: NodeJS.ErrnoException) => {
        if (err.code === 'ENOENT') reject(new TendError('SPAWN_FAILED', `command not found: ${file} (in ${replica.cwd}, with ${target.service}/${replica.index}'s PATH)`, { exitCode: 127 }));
        else if (err.code === 'EACCES') reject(new TendError('SPAWN_FAILED', `permission denied: ${file}`, { exitCode: 126 }));
        else reject(err);
      });
      child.once('exit', (code, signal) => {
        const signo = signal ? (osConstants.signals as Record<string, number>)[signal] ?? 0 : 0;
        resolve(code ?? 128 + signo);
      });
    });
  } finally {
    process.off('SIGINT', ignore);
    process.off('SIGTERM', ignore);
  }
}
