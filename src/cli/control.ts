// `tend restart|pause|resume SVC[/N] ...` and `tend kill SVC[/N] [-s SIG]`: operations on running
// replicas through the API (they change no desired state).

import { TendError } from '../errors.js';
import { constants as osConstants } from 'node:os';
import { parseDuration, parseTarget, type Cli } from './context.js';
import { restartedSince, startTimes, waitForTarget } from './wait.js';
import { EXIT } from './exit-codes.js';

export type ReplicaVerb = 'restart' | 'pause' | 'resume' | 'kill';

const DONE: Record<ReplicaVerb, string> = {
  restart: 'restart requested for',
  pause: 'paused',
  resume: 'resumed',
  kill: 'signalled',
};

export interface WaitOptions {
  /** `restart --wait`: return once the replicas run again, ready. */
  wait?: boolean;
  timeout?: string;
}

/** Sends one operation to each target in turn; the first error stops the rest. */
export async function replicaCommand(cli: Cli, verb: ReplicaVerb, targets: string[], signalArg?: string, opts: WaitOptions = {}): Promise<number> {
  const parsed = targets.map(parseTarget);
  const signal = verb === 'kill' ? signalName(signalArg ?? 'SIGTERM') : undefined;
  const timeoutMs = parseDuration(opts.timeout ?? '60s', '--timeout');
  const client = cli.client();
  const before = opts.wait ? await client.status() : undefined;
  for (const t of parsed) {
    await client.act(verb, t.service, { replica: t.replica, signal });
    const what = t.replica === undefined ? t.service : `${t.service}/${t.replica}`;
    cli.out.write(`${DONE[verb]} ${what}${signal ? ` (${signal})` : ''}\n`);
  }
  if (!before) return EXIT.OK;
  for (const t of parsed) {
    const what = t.replica === undefined ? `restart of ${t.service}` : `restart of ${t.service}/${t.replica}`;
    const code = await waitForTarget(cli, what, restartedSince(t.service, t.replica, startTimes(before, t.service)), timeoutMs, opts.timeout ?? '60s');
    if (code !== EXIT.OK) return code;
  }
  return EXIT.OK;
}

/** `HUP`, `sighup`, `SIGHUP` and `1` all mean SIGHUP. */
export function signalName(arg: string): NodeJS.Signals {
  const signals = osConstants.signals as Record<string, number>;
  if (/^\d+$/.test(arg)) {
    const found = Object.keys(signals).find((k) => signals[k] === Number(arg));
    if (found) return found as NodeJS.Signals;
  } else {
    const name = arg.toUpperCase().startsWith('SIG') ? arg.toUpperCase() : `SIG${arg.toUpperCase()}`;
    if (Object.hasOwn(signals, name)) return name as NodeJS.Signals;
  }
  throw new TendError('API_BAD_REQUEST', `expected a signal such as HUP, SIGUSR1 or 9, got "${arg}"`);
}
