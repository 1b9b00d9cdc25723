// `tend down`: ask the daemon to stop every service (dependents first) and exit, then wait until
// its process is gone, so a script can `tend down && tend up -d` safely. When the daemon is gone
// (it crashed earlier, or died in the middle of its shutdown) `down` finishes the job itself: it
// stops the replicas the daemon left, found as a new daemon would find them (state/adoption.ts),
// and fails loudly when it cannot.

import { join } from 'node:path';
import { TendError } from '../errors.js';
import { sameProcess, startTimeToMs } from '../runtime/proc.js';
import { ProcessRuntime } from '../runtime/process-runtime.js';
import { planAdoption, type Liveness } from '../state/adoption.js';
import { killTransient, readSupervisorId, scanMarked } from '../state/orphans.js';
import { displayPath } from '../util/working-dir.js';
import { PID_NAME, readPidFile } from '../state/pid-file.js';
import { desiredOf, readState } from '../state/state-file.js';
import { delay, parseDuration, type Cli } from './context.js';
import { EXIT } from './exit-codes.js';

export interface DownOptions {
  timeout: string;
}

const POLL_MS = 50;

/** Shuts the daemon down and waits for its pid (or, without a pid file, its socket) to go. */
export async function downCommand(cli: Cli, opts: DownOptions): Promise<number> {
  const timeoutMs = parseDuration(opts.timeout, '--timeout');
  const stateDir = cli.stateDir();
  const client = cli.client();
  const owner = readPidFile(join(stateDir, PID_NAME));
  const pid = owner?.pid;
  try {
    await client.shutdown();
  } catch (err) {
    if (!(err instanceof TendError && err.code === 'DAEMON_UNREACHABLE')) throw err;
    const left = await stopLeftovers(stateDir, timeoutMs);
    if (left.found === 0) {
      cli.out.write(`nothing to stop: no tend daemon on ${displayPath(cli.stateDir())}\n`);
      return EXIT.OK;
    }
    return reportLeftovers(cli, left, 'no tend daemon runs here, but an earlier one left');
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
  // A daemon that finished its shutdown removed state.json; one that died in the middle did not.
  const left = await stopLeftovers(stateDir, Math.max(1000, deadline - Date.now()));
  if (left.found > 0) return reportLeftovers(cli, left, 'the daemon exited before it stopped everything; it left');
  cli.out.write('tend daemon stopped\n');
  return EXIT.OK;
}

function reportLeftovers(cli: Cli, left: Leftovers, what: string): number {
  cli.err.write(`${what} ${left.found} replica${left.found === 1 ? '' : 's'} running; stopped ${left.stopped}\n`);
  for (const f of left.failures) cli.err.write(`  ${f}\n`);
  if (left.failures.length > 0) return EXIT.FAILURE;
  cli.out.write('every replica is stopped\n');
  return EXIT.OK;
}

interface Leftovers {
  found: number;
  stopped: number;
  failures: string[];
}

/** Stops the replicas a dead daemon left on `stateDir` (its records and its token's groups). */
async function stopLeftovers(stateDir: string, timeoutMs: number): Promise<Leftovers> {
  const read = readState(join(stateDir, 'state.json'));
  const state = read.kind === 'ok' ? read.state : undefined;
  const token = readSupervisorId(stateDir);
  const scan = token ? scanMarked(token) : { groups: [], transient: [] };
  // A probe or hook command of the dead daemon, hung: nothing else would end it.
  killTransient(scan.transient, { warn: () => {} });
  const marked = scan.groups;
  const liveness = new Map<number, Liveness>();
  for (const r of state?.replicas ?? []) {
    liveness.set(r.pgid, sameProcess({ pid: r.pid, startTime: r.procStart }) ? { kind: 'alive' } : { kind: 'exited' });
  }
  const specs = new Map((state ? desiredOf(state) : []).map((s) => [s.name, s]));
  const plan = planAdoption({ ...(state ? { state } : {}), marked, liveness, specs, adopt: true, startedAt: startTimeToMs, now: Date.now() });
  const targets = [
    ...plan.adopt.map((a) => ({ handle: a.handle, spec: a.spec as typeof a.spec | undefined, name: `${a.service}/${a.index}` })),
    ...plan.stop.map((s) => ({ handle: s.handle, spec: s.spec, name: `process group ${s.handle.pgid}` })),
    ...plan.escaped.filter((e) => e.spec?.stopEscaped === 'kill').map((e) => ({ handle: e.handle, spec: e.spec, name: `process group ${e.handle.pgid}` })),
  ];
  const runtime = new ProcessRuntime();
  const failures: string[] = [];
  let stopped = 0;
  await Promise.all(
    targets.map(async (t) => {
      try {
        await runtime.stop(t.handle, t.spec?.stopSignal ?? 'SIGTERM', Math.min(t.spec?.stopTimeoutMs ?? 10_000, timeoutMs));
        stopped++;
      } catch (err) {
        failures.push(`${t.name} (pid ${t.handle.pid}): ${(err as Error).message}`);
      }
    }),
  );
  runtime.close();
  return { found: targets.length, stopped, failures };
}
