// Runs the real `tend` CLI (src/cli/index.ts through tsx, the same code the built binary runs) as a
// child process and collects its output and exit code.

import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { NODE, ROOT } from '../helpers/index.js';

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
