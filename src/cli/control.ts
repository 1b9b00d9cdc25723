// `tend restart|pause|resume SVC[/N] ...` and `tend kill SVC[/N] [-s SIG]`: operations on running
// replicas through the API (they change no desired state).

import type { StatusReport } from '../api/types.js';
import { TendError } from '../errors.js';
import { noProcess } from '../reconcile/no-process.js';
import { noSuchService } from '../spec/suggest.js';
import { parseSignal } from '../util/signals.js';
import { parseDuration, parseTarget, type Cli, type Target } from './context.js';
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

/** Checks every target against the daemon's status first (a typo among several does nothing, as
 *  `docker compose stop web wbe` does nothing), then sends one operation to each in turn. */
export async function replicaCommand(cli: Cli, verb: ReplicaVerb, targets: string[], signalArg?: string, opts: WaitOptions = {}): Promise<number> {
  const parsed = targets.map(parseTarget);
  if (verb === 'stop' || verb === 'start') {
    const one = parsed.find((t) => t.replica !== undefined);
    if (one) throw new TendError('API_BAD_REQUEST', `tend ${verb} takes whole services (a hold is per service), got "${one.service}/${one.replica}"; use \`tend kill\` or \`tend restart\` for one replica`);
  }
  const signal = verb === 'kill' ? signalName(signalArg ?? 'SIGTERM') : undefined;
  const timeoutMs = parseDuration(opts.timeout ?? '60s', '--timeout');
  const client = cli.client();
  const before = await client.status();
  // No target: every service, as `docker compose restart` (and stop, kill, ...) with none does;
  // for pause, resume and kill, every one that has a process to act on.
  if (parsed.length === 0) {
    const all = before.services.filter((s) => (verb !== 'pause' && verb !== 'resume' && verb !== 'kill') || s.replicas.some((r) => r.pid !== null));
    if (all.length === 0) throw new TendError('NOT_RUNNING', verb === 'stop' || verb === 'start' || verb === 'restart' ? `no services in ${before.source}` : `no service has a running process to ${verb === 'kill' ? 'signal' : verb}`);
    parsed.push(...all.map((s) => ({ service: s.name })));
  }
  for (const t of parsed) checkTarget(before, verb, t);
  for (const t of parsed) {
    const done = await client.act(verb, t.service, { replica: t.replica, signal });
    const what = t.replica === undefined ? t.service : `${t.service}/${t.replica}`;
    const note = done.released ? ' (it was stopped by `tend stop`: started again)' : '';
    // `tend start web` when nothing held web: said, not "started (hold lifted)".
    const held = before.services.find((s) => s.name === t.service)?.held;
    const line = verb === 'start' && held === false ? `${what} was not stopped by \`tend stop\`: nothing to start` : `${DONE[verb]} ${what}${signal ? ` (${signal})` : ''}${note}`;
    cli.out.write(`${line}\n`);
  }
  if (!opts.wait) return EXIT.OK;
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

/** A target the daemon would refuse, refused before anything is done: an unknown service or
 *  replica (as the daemon's `known`), or one with no process for pause, resume or kill. */
function checkTarget(status: StatusReport, verb: ReplicaVerb, t: Target): void {
  const service = status.services.find((s) => s.name === t.service);
  if (!service) throw noSuchService(t.service, status.services.map((s) => s.name));
  if (t.replica !== undefined && t.replica >= service.replicas_desired && !service.replicas.some((r) => r.index === t.replica)) {
    throw new TendError('API_NOT_FOUND', `service "${t.service}" has no replica ${t.replica}`);
  }
  if (verb !== 'pause' && verb !== 'resume' && verb !== 'kill') return;
  const replicas = service.replicas.filter((r) => t.replica === undefined || r.index === t.replica).map((r) => ({ state: r.state, live: r.pid !== null }));
  const why = noProcess(verb, t.replica === undefined ? t.service : `${t.service}/${t.replica}`, t.service, service.held, replicas);
  if (why !== undefined) throw new TendError('NOT_RUNNING', why);
}

/** `HUP`, `sighup`, `SIGHUP` and `1` all mean SIGHUP. */
export function signalName(arg: string): NodeJS.Signals {
  const signal = parseSignal(arg);
  if (signal) return signal;
  throw new TendError('API_BAD_REQUEST', `expected a signal such as HUP, SIGUSR1 or 9, got "${arg}"`);
}
