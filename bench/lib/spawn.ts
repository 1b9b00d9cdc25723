// Starting the bench's own helper processes: each in its own process group, registered for cleanup.

import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { registry } from './procs.js';

export interface LaunchOpts {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** stdout and stderr are appended here (never piped through the bench unless `pipeStdout`). */
  logFile: string;
  pipeStdin?: boolean;
  pipeStdout?: boolean;
}

/** Starts a long-running process in a new process group (so it can be killed as a group). */
export function launch(cmd: string, args: string[], opts: LaunchOpts): ChildProcess {
  const fd = openSync(opts.logFile, 'a');
  const stdio: StdioOptions = [opts.pipeStdin ? 'pipe' : 'ignore', opts.pipeStdout ? 'pipe' : fd, fd];
  try {
    const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env ?? process.env, detached: true, stdio });
    if (child.pid !== undefined) registry.addPid(child.pid, undefined, true);
    child.on('error', () => {});
    return child;
  } finally {
    closeSync(fd);
  }
}

/** Runs a command to completion (its own group, output to `logFile`); rejects on a non-zero exit. */
export function run(cmd: string, args: string[], opts: LaunchOpts & { timeoutMs?: number; allowFail?: boolean }): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = launch(cmd, args, opts);
    const timer = setTimeout(() => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        /* gone */
      }
    }, opts.timeoutMs ?? 120_000);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      if (code === 0 || opts.allowFail) resolve(code ?? 128);
      else reject(new Error(`${cmd} ${args.join(' ')} exited with ${code ?? signal}; see ${opts.logFile}: ${tail(opts.logFile)}`));
    });
  });
}

function tail(path: string): string {
  try {
    return readFileSync(path, 'utf8').slice(-600).trim();
  } catch {
    return '';
  }
}

/** Resolves when `child` has exited (at once if it already has). */
export function exitOf(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}
