// `tend down`: ask the daemon to stop every service (dependents first) and exit, then wait until
// its process is gone, so a script can `tend down && tend up -d` safely.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { TendError } from '../errors.js';
import { delay, parseDuration, type Cli } from './context.js';
import { EXIT } from './exit-codes.js';

export interface DownOptions {
  timeout: string;
}

const POLL_MS = 50;

/** Shuts the daemon down and waits for its pid (or, without a pid file, its socket) to go. */
export async function downCommand(cli: Cli, opts: DownOptions): Promise<number> {
  const timeoutMs = parseDuration(opts.timeout, '--timeout');
  const client = cli.client();
  const pid = daemonPid(join(cli.stateDir(), 'tend.pid'));
  await client.shutdown();
  cli.out.write(`stopping services${pid === undefined ? '' : ` (daemon pid ${pid})`}...\n`);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const gone = pid !== undefined ? !isAlive(pid) : await client.status().then(() => false, () => true);
    if (gone) break;
    if (Date.now() > deadline) {
      cli.err.write(`the daemon${pid === undefined ? '' : ` (pid ${pid})`} is still running after ${opts.timeout}; see tend.log in the state directory\n`);
      return EXIT.FAILURE;
    }
    await delay(POLL_MS);
  }
  cli.out.write('tend daemon stopped\n');
  return EXIT.OK;
}

/** The pid on the first line of the pid file, or undefined when there is none. */
function daemonPid(path: string): number | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
  const pid = Number(text.split('\n')[0]);
  if (!Number.isInteger(pid) || pid <= 0) throw new TendError('STATE_CORRUPT', `${path} does not start with a pid`);
  return pid;
}

// A zombie counts as gone (DESIGN §4: PID 1 here may never reap it); without /proc, kill -0 decides.
function isAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || process.platform === 'linux') return false;
  }
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
