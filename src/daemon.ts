// The daemon's composition root: builds the real parts (state directory, logger, event log,
// runtime, spec source, watcher, controller, control API), adopts replicas left by an earlier run,
// and runs until it is told to stop. With cli/index.ts, the only place that knows about signals.
//
// Start-up, in order:
//   1. state directory (0700, so the socket is never reachable by others) and pid file (a second
//      daemon on the same directory is refused; a stale file is detected by pid + start time);
//   2. adoption: replicas recorded in state.json that still run are taken over (or stopped, with
//      --no-adopt); when state.json is corrupt, groups carrying our marker are found and stopped;
//   3. watcher, controller, API; then every change converges through the controller's loop.

import { chmodSync, mkdirSync, rmSync } from 'node:fs';
import { resolve, join } from 'node:path';
import pino, { type Logger } from 'pino';
import { startApiServer } from './api/server.js';
import { TendMetrics } from './api/metrics.js';
import type { ControlPlane, PlanReport, StatusReport, TendEvent } from './api/types.js';
import { TendError, errorMessage } from './errors.js';
import { diffSpecs } from './reconcile/diff.js';
import { Controller } from './reconcile/controller.js';
import { buildStatus } from './reconcile/status.js';
import { logPath } from './runtime/logs.js';
import { inspectService } from './api/inspect-service.js';
import type { ProcessHandle } from './runtime/types.js';
import type { ServiceSpec } from './spec/types.js';
import { sameProcess, startTimeToMs } from './runtime/proc.js';
import { loadDirectory } from './spec/load.js';
import { findMarkedGroups } from './state/orphans.js';
import { claimPidFile, PID_NAME, releasePidFile, SOCKET_NAME } from './state/pid-file.js';
import { readState, snapshotState, specOf, writeState } from './state/state-file.js';
import { Supervisor } from './supervisor.js';
import type { EventLog } from './events.js';

export interface DaemonOptions {
  /** The services directory (may be a symlink that is switched between releases). */
  dir: string;
  stateDir: string;
  settleMs?: number;
  /** Take over replicas of an earlier run (default); false stops them instead. */
  adopt?: boolean;
  /** Running detached (`up -d`): JSON log lines, no pretty output. */
  detached?: boolean;
  logLevel?: string;
  statsIntervalMs?: number;
}

/** At most one state.json write per this long (each is a JSON dump and two fsyncs). */
const PERSIST_EVERY_MS = 250;

/** Runs the daemon in the foreground until shut down; resolves with the process exit code. */
export async function runDaemon(opts: DaemonOptions): Promise<number> {
  const stateDir = resolve(opts.stateDir);
  const log = await makeLogger(opts);
  prepareStateDir(stateDir);
  claimPidFile(join(stateDir, PID_NAME));

  const metrics = new TendMetrics();
  const statePath = join(stateDir, 'state.json');
  let persistTimer: NodeJS.Timeout | undefined;
  let changes = 0;
  const sup: Supervisor = new Supervisor({
    dir: opts.dir,
    stateDir,
    log,
    persistEvents: true,
    onEvent: (e) => logEvent(log, e),
    metrics,
    ...(opts.settleMs !== undefined ? { settleMs: opts.settleMs } : {}),
    ...(opts.statsIntervalMs !== undefined ? { statsIntervalMs: opts.statsIntervalMs } : {}),
    onChange: () => {
      changes++;
      // Coalesce: a burst of 1000 spawns writes the state file a few times, not 1000. A replica
      // spawned since the last write is still adopted after a crash, by its environment marker.
      persistTimer ??= setTimeout(() => {
        persistTimer = undefined;
        persist();
      }, PERSIST_EVERY_MS);
    },
  });
  const { controller, events } = sup;
  const persist = () => {
    try {
      writeState(statePath, snapshotState(controller.instances.values(), process.pid));
    } catch (err) {
      log.warn({ err }, `cannot write ${statePath}: ${errorMessage(err)}`);
    }
  };

  await takeOver(stateDir, statePath, sup, opts.adopt ?? true, log);
  await sup.start();

  let stopping: Promise<void> | undefined;
  let stopRequested!: () => void;
  const requested = new Promise<void>((r) => (stopRequested = r));
  const shutdown = (): Promise<void> => {
    stopRequested();
    stopping ??= (async () => {
      log.info('stopping all services, dependents first');
      await sup.shutdown();
    })();
    return stopping;
  };

  const control = makeControlPlane(controller, events, metrics, shutdown, stateDir, process.pid);
  const api = await startApiServer(join(stateDir, SOCKET_NAME), control, log);
  log.info(`tend ${process.pid} supervising ${sup.source.describe()} (state in ${stateDir})`);
  const progress = startProgress(controller, log, () => changes);

  let signals = 0;
  const onSignal = (sig: NodeJS.Signals) => {
    signals++;
    if (signals === 1) {
      log.info(`${sig}: shutting down (again to force)`);
      void shutdown();
    } else {
      log.warn(`${sig} again: killing every replica now`);
      controller.forceKill();
    }
  };
  const onHup = () => controller.markSpecDirty();
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('SIGHUP', onHup);

  await requested;
  await stopping;

  clearInterval(progress);
  clearTimeout(persistTimer);
  await api.close();
  rmSync(statePath, { force: true });
  await events.close();
  releasePidFile(join(stateDir, PID_NAME));
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
  process.off('SIGHUP', onHup);
  log.info('all services stopped; bye');
  log.flush?.();
  return 0;
}

/** Replicas of an earlier run: adopt those that still run, or stop them (--no-adopt).
 *  They are found two ways: state.json (pid + start time + the spec they run), and a scan of /proc
 *  for groups carrying our marker (state.json may be corrupt, lost, or a few ms behind a spawn).
 *  A marked group is adopted when the spec it runs is the current one for its slot; anything else
 *  of ours is stopped, so that no orphan and no duplicate is left. */
async function takeOver(
  stateDir: string,
  statePath: string,
  sup: Supervisor,
  adopt: boolean,
  log: Logger,
): Promise<void> {
  const { controller, runtime, events } = sup;
  const read = readState(statePath);
  if (read.kind === 'corrupt') {
    log.error(`state file ${statePath} is corrupt (${read.error}); moved to ${read.movedTo}`);
    events.emit({ type: 'state.corrupt', reason: read.error, detail: read.movedTo });
  }
  const recorded = new Map((read.kind === 'ok' ? read.state.replicas : []).map((r) => [r.pgid, r]));
  const marked = findMarkedGroups(stateDir);
  // A recorded replica whose environment no longer shows the marker (it rewrote its environ) is
  // still ours when pid and start time match.
  for (const r of recorded.values()) {
    if (!marked.some((g) => g.pgid === r.pgid) && sameProcess({ pid: r.pid, startTime: r.procStart })) {
      marked.push({ pgid: r.pgid, startTime: r.procStart });
    }
  }
  if (marked.length === 0) return;

  const current = await sup.source.load().catch(() => undefined);
  const specs = new Map((current?.services ?? []).map((s) => [s.name, s]));
  const taken = new Set<string>();
  const stops: Promise<unknown>[] = [];
  const stop = (handle: ProcessHandle, spec?: ServiceSpec) =>
    stops.push(runtime.stop(handle, spec?.stopSignal ?? 'SIGTERM', spec?.stopTimeoutMs ?? 10_000).catch(() => undefined));

  for (const g of marked) {
    const r = recorded.get(g.pgid);
    const handle = { pid: g.pgid, pgid: g.pgid, startTime: g.startTime, startedAt: startTimeToMs(g.startTime) };
    const service = r?.service ?? g.service;
    const index = r?.index ?? g.index;
    const live = service ? specs.get(service) : undefined;
    // The spec it runs: as recorded, or the current one when the hash in its environment matches.
    const spec = (read.kind === 'ok' && r ? specOf(read.state, r) : undefined) ?? (live && live.hash === g.hash ? live : undefined);
    const slot = `${service}/${index}`;
    if (!adopt || !spec || service === undefined || index === undefined || taken.has(slot) || (r && r.procStart !== g.startTime)) {
      log.warn(`stopping process group ${g.pgid} (${slot}) left by an earlier tend on ${stateDir}${adopt ? ': nothing to adopt it as' : ' (--no-adopt)'}`);
      stop(handle, spec);
      continue;
    }
    taken.add(slot);
    const inst = { service, index, state: 'running' as const, spec, ready: false, restarts: r?.restarts ?? 0, deaths: [], streak: 0 };
    if (!controller.adopt(inst, handle)) log.warn(`replica ${slot} (pid ${g.pgid}) exited before it could be adopted`);
  }
  await Promise.all(stops);
}

function makeControlPlane(
  controller: Controller,
  events: EventLog,
  metrics: TendMetrics,
  shutdown: () => Promise<void>,
  stateDir: string,
  pid: number,
): ControlPlane {
  const status = (): StatusReport =>
    buildStatus({
      loaded: controller.lastLoad !== undefined,
      desired: controller.desiredState,
      instances: controller.instances.values(),
      waiting: controller.waitingFor,
      problems: controller.specProblems,
      usage: (id) => controller.usageOf(id),
      source: controller.source.describe(),
      pid,
    });
  const known = (service: string, index?: number) => {
    const spec = controller.desiredState.services.get(service);
    const instances = controller.select(service);
    if (!spec && instances.length === 0) throw new TendError('API_NOT_FOUND', `no service named "${service}"`);
    if (index !== undefined && !instances.some((i) => i.index === index) && !(spec && index < spec.replicas)) {
      throw new TendError('API_NOT_FOUND', `service "${service}" has no replica ${index}`);
    }
  };
  return {
    status,
    restart(service, index) {
      known(service, index);
      controller.restart(service, index);
    },
    pause(service, index) {
      known(service, index);
      controller.pause(service, index);
    },
    resume(service, index) {
      known(service, index);
      controller.resume(service, index);
    },
    kill(service, index, signal) {
      known(service, index);
      controller.kill(service, index, signal);
    },
    async plan(dir): Promise<PlanReport> {
      const next = await loadDirectory(dir);
      const changes = diffSpecs(controller.desiredState.services, next);
      return { changes, errors: next.problems.map(({ file, line, column, message }) => ({ file, line, column, message })) };
    },
    reload() {
      controller.markSpecDirty();
    },
    shutdown,
    logFiles(service, index) {
      known(service, index);
      const spec = controller.desiredState.services.get(service);
      const indexes = new Set(controller.select(service).map((i) => i.index));
      for (let n = 0; n < (spec?.replicas ?? 0); n++) indexes.add(n);
      return [...indexes]
        .filter((n) => index === undefined || n === index)
        .sort((a, b) => a - b)
        .map((n) => ({ service, index: n, path: logPath(join(stateDir, 'logs'), service, n) }));
    },
    recentEvents: (limit) => events.recent(limit),
    subscribe: (listener) => events.subscribe(listener),
    metrics: () => metrics.render(status()),
    // `tend inspect` / `tend exec` (src/api/inspect.ts): what each replica runs, from the spec it runs.
    inspect(service, index, reveal, allEnv) {
      known(service, index);
      return inspectService(controller, service, index, reveal, allEnv ?? false);
    },
  };
}

/** Logs a one-line summary (ready counts, what waits for what) when it changes. It is computed
 *  only after the observed state changed (`changes` moved), in one pass over the instances. */
function startProgress(controller: Controller, log: Logger, changes: () => number): NodeJS.Timeout {
  let last = '';
  let seen = -1;
  return setInterval(() => {
    if (changes() === seen) return;
    seen = changes();
    const ready = new Map<string, number>();
    for (const i of controller.instances.values()) {
      const spec = controller.desiredState.services.get(i.service);
      if (!spec || i.index >= spec.replicas) continue;
      const counts = spec.oneshot ? i.state === 'completed' : i.state === 'running' && i.ready;
      if (counts) ready.set(i.service, (ready.get(i.service) ?? 0) + 1);
    }
    const parts: string[] = [];
    for (const [name, spec] of controller.desiredState.services) {
      const waiting = controller.waitingFor.get(name);
      const n = ready.get(name) ?? 0;
      parts.push(waiting ? `${name} waiting for ${waiting}` : `${name} ${n}/${spec.replicas} ${spec.oneshot ? 'completed' : 'ready'}`);
    }
    const line = parts.join(', ');
    if (line !== last) {
      last = line;
      if (line) log.info(line);
    }
  }, 500);
}

async function makeLogger(opts: DaemonOptions): Promise<Logger> {
  const level = opts.logLevel ?? process.env.TEND_LOG_LEVEL ?? 'info';
  if (!opts.detached && process.stdout.isTTY) {
    // Loaded only for a person at a terminal; detached or piped, the log is JSON lines.
    const { default: pretty } = await import('pino-pretty');
    return pino({ level }, pretty({ colorize: !process.env.NO_COLOR, sync: true, ignore: 'pid,hostname', translateTime: 'HH:MM:ss.l' }));
  }
  return pino({ level, base: { pid: process.pid } });
}

function logEvent(log: Logger, e: TendEvent): void {
  const who = e.service === undefined ? '' : e.replica === undefined ? `${e.service} ` : `${e.service}/${e.replica} `;
  const what = e.type.replace(/^replica\.|^service\.|^spec\./, '');
  const pid = e.pid ? ` pid ${e.pid}` : '';
  const exit = e.exit_code !== undefined && e.exit_code !== null ? ` code ${e.exit_code}` : e.signal ? ` ${e.signal}` : '';
  const reason = e.reason ? `: ${e.reason}` : '';
  const msg = `${who}${what}${pid}${exit}${reason}`;
  // The message only: events.jsonl holds the structured record; serialising it twice cost ~5% of a
  // 1000-replica start (bench/FINDINGS.md).
  if (e.type === 'replica.failed' || e.type === 'spec.invalid' || e.type === 'state.corrupt') log.warn(msg);
  else log.info(msg);
}

function prepareStateDir(stateDir: string): void {
  mkdirSync(join(stateDir, 'logs'), { recursive: true, mode: 0o700 });
  chmodSync(stateDir, 0o700);
}
