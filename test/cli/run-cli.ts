// Runs the real `tend` CLI (src/cli/index.ts through tsx, the same code the built binary runs) as a
// child process and collects its output and exit code.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { pathToFileURL } from 'node:url';
import { killDetachedDaemon, killMarkedGroups, markedGroups } from '../helpers/daemon.js';
import { cleanup, NODE, ROOT } from '../helpers/index.js';
import { PID_NAME, readPidFile } from '../../src/state/pid-file.js';

const TSX = pathToFileURL(createRequire(join(ROOT, 'package.json')).resolve('tsx')).href;
export const CLI = join(ROOT, 'src', 'cli', 'index.ts');

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `tend ARGS` in `cwd`, with TEND_STATE_DIR unset (unless `env` sets it) so the state dir is `cwd/.tend`. */
export function runCli(
  cwd: string,
  args: string[],
  { timeoutMs = 30_000, env = {}, uid }: { timeoutMs?: number; env?: Record<string, string>; /** run as this user (and its group of the same number) */ uid?: number } = {},
): Promise<CliResult> {
  const childEnv: NodeJS.ProcessEnv = { ...process.env };
  delete childEnv['TEND_STATE_DIR'];
  Object.assign(childEnv, env);
  return new Promise((resolve, reject) => {
    const child = spawn(NODE, ['--import', TSX, CLI, ...args], { cwd, env: childEnv, stdio: ['ignore', 'pipe', 'pipe'], ...(uid === undefined ? {} : { uid, gid: uid }) });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`tend ${args.join(' ')} did not finish in ${timeoutMs} ms\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** A long-running `tend` (logs -f, events -f) whose output grows while the test acts. */
export function startCli(cwd: string, args: string[]): { output: () => string; stop: () => void; pid: number | undefined } {
  const childEnv: NodeJS.ProcessEnv = { ...process.env };
  delete childEnv['TEND_STATE_DIR'];
  const child = spawn(NODE, ['--import', TSX, CLI, ...args], { cwd, env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (out += c.toString()));
  return { output: () => out, stop: () => void child.kill('SIGTERM'), pid: child.pid };
}

/** `tend up -d --wait` (or `up -d` with `wait` false) in `root` (state in root/.tend); the daemon
 *  and every replica it marks are killed after the test, whatever happens. */
export async function upDetached(t: TestContext, root: string, { wait = true } = {}): Promise<{ daemon: number; state: string }> {
  const state = join(root, '.tend');
  let up: CliResult;
  try {
    up = await runCli(root, ['up', '-d', ...(wait ? ['--wait'] : [])]);
  } finally {
    // Also when `up` failed or did not finish: a daemon it started is killed all the same.
    cleanup(t, () => killMarkedGroups(state));
    const pid = readPidFile(join(state, PID_NAME))?.pid;
    if (pid !== undefined) {
      markedGroups(state);
      cleanup(t, () => killDetachedDaemon(pid, state));
    }
  }
  assert.equal(up.code, 0, up.stdout + up.stderr);
  return { daemon: readPidFile(join(state, PID_NAME))!.pid, state };
}
