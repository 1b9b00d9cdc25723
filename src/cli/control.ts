// `tend restart|pause|resume SVC[/N] ...` and `tend kill SVC[/N] [-s SIG]`: operations on running
// replicas through the API (they change no desired state).

import { TendError } from '../errors.js';
import { parseSignal } from '../util/signals.js';
import { parseDuration, parseTarget, type Cli } from './context.js';
import { heldStopped, released, restartedSince, startTimes, waitForTarget, type WaitCheck } from './wait.js';
import { EXIT } from './exit-codes.js';

export type ReplicaVerb = 'restart' | 'pause' | 'resume' | 'kill' | 'stop' | 'start';

const DONE: Record<ReplicaVerb, string> = {
  restart: 'restart requested for',
  pause: 'paused',
  resume: 'resumed',
  kill: 'signalled',
  // Without --wait these verbs return once the daemon has taken the request, before replicas stop.
  stop: 'stopping (held until `tend start`)',
  start: 'started (hold lifted)',
};

export interface WaitOptions {
  /** `restart --wait`: return once the replicas run again, ready (`start`: the service runs as its
   *  file says; `stop`: none of its processes is left). */
  wait?: boolean;
  timeout?: string;
}

/** Sends one operation to each target in turn; the first error stops the rest. */
export async function replicaCommand(cli: Cli, verb: ReplicaVerb, targets: string[], signalArg?: string, opts: WaitOptions = {}): Promise<number> {
  const parsed = targets.map(parseTarget);
  if (verb === 'stop' || verb === 'start') {
    const one = parsed.find((t) => t.replica !== undefined);
    if (one) throw new TendError('API_BAD_REQUEST', `tend ${verb} takes whole services (a hold is per service), got "${one.service}/${one.replica}"; use \`tend kill\` or \`tend restart\` for one replica`);
  }
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
    const name = t.replica === undefined ? t.service : `${t.service}/${t.replica}`;
    let what = `restart of ${name}`;
    let check: WaitCheck = restartedSince(t.service, t.replica, startTimes(before, t.service));
    if (verb === 'start') {
      what = `start of ${name}`;
      check = released(t.service);
    } else if (verb === 'stop') {
      what = `stop of ${name}`;
      check = heldStopped(t.service);
    }
    const code = await waitForTarget(cli, what, t.service, check, timeoutMs, opts.timeout ?? '60s');
    if (code !== EXIT.OK) return code;
  }
  return EXIT.OK;
}

/** `HUP`, `sighup`, `SIGHUP` and `1` all mean SIGHUP. */
export function signalName(arg: string): NodeJS.Signals {
  const signal = parseSignal(arg);
  if (signal) return signal;
  throw new TendError('API_BAD_REQUEST', `expected a signal such as HUP, SIGUSR1 or 9, got "${arg}"`);
}
