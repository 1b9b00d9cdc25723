// `tend down`: ask the daemon to stop every service (dependents first) and exit, then wait until
// its process is gone, so a script can `tend down && tend up -d` safely.

import { join } from 'node:path';
import { displayPath } from '../api/client.js';
import { TendError } from '../errors.js';
import { sameProcess } from '../runtime/proc.js';
import { PID_NAME, readPidFile } from '../state/pid-file.js';
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
  const owner = readPidFile(join(cli.stateDir(), PID_NAME));
  const pid = owner?.pid;
  try {
    await client.shutdown();
  } catch (err) {
    // Nothing runs: the goal of `down` holds already (like `docker compose down` on nothing).
    if (err instanceof TendError && err.code === 'DAEMON_UNREACHABLE') {
      cli.out.write(`nothing to stop: no tend daemon on ${displayPath(cli.stateDir())}\n`);
      return EXIT.OK;
    }
    throw err;
  }
  cli.out.write(`stopping services${pid === undefined ? '' : ` (daemon pid ${pid})`}...\n`);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    // A zombie counts as gone (DESIGN §4: PID 1 here may never reap it).
    const gone = owner !== undefined ? !sameProcess(owner) : await client.status().then(() => false, () => true);
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
