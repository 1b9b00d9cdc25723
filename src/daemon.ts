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

import { existsSync, mkdirSync, openSync, rmSync, statSync } from 'node:fs';
import { resolve, join } from 'node:path';
import type { Logger } from 'pino';
import { isatty } from 'node:tty';
import { createDaemonLogger, moveLogOffDeadTerminal, reopenDaemonLog } from './log/daemon-log.js';
import { listenApiSocketWhenPossible } from './api/listen.js';
import { TendMetrics } from './api/metrics.js';
import type { ControlPlane, PlanReport, StatusReport, TendEvent } from './api/types.js';
import { TendError, errorMessage } from './errors.js';
import { previewChanges } from './reconcile/preview.js';
import { assertDirectory, realOrSelf } from './spec/dir.js';
import { Controller } from './reconcile/controller.js';
import { noProcess, type ProcessVerb } from './reconcile/no-process.js';
import { isLive } from './reconcile/plan.js';
import { buildStatus } from './api/status.js';
import { logPath } from './runtime/logs.js';
import { inspectService } from './api/inspect-service.js';
import type { ProcessHandle } from './runtime/types.js';
import type { ServiceSpec } from './spec/types.js';
import { sameProcess, startTimeToMs, zombieExit } from './runtime/proc.js';
import { loadDirectory } from './spec/load.js';
import { planAdoption, type Liveness } from './state/adoption.js';
import { findMarkedGroups, killTransient, readSupervisorId, scanMarked, supervisorId, TRANSIENT_VAR, transientMark } from './state/orphans.js';
import { claimPidFile, PID_NAME, releasePidFile, SOCKET_NAME } from './state/pid-file.js';
import { desiredOf, readState, snapshotState, StateText, writeState, type EscapedRecord, type KeyedReplica } from './state/state-file.js';
import { StateWriter } from './state/state-writer.js';
import { keepStateDir } from './state/state-dir-keeper.js';
import { lockServicesDir } from './state/services-lock.js';
import { Supervisor } from './supervisor.js';
import { MAX_STATUS_CHARS } from './notify/protocol.js';
import { takeServiceManager } from './service-manager.js';
import type { EventLog } from './events.js';
import { Hooks, withHooks } from './hooks/index.js';
import { SHUTDOWN_DRAIN_MS } from './hooks/runner.js';
import { codeCacheUse } from './util/code-cache.js';
import { lazyGc, MemoryReducer } from './util/memory-reducer.js';
import { formatBytes } from './util/units.js';
import { steadyNow } from './util/clock.js';
import { noSuchService } from './spec/suggest.js';

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
  /** The largest `replicas` a service may ask for (default: what this machine allows). */
  maxReplicas?: number;
  /** The TCP listener and dashboard (`up --http ADDR`); off when undefined. */
  http?: { address: string; allowRemote?: boolean };
}

/** At most one state.json write per this long (each is a JSON dump and two fsyncs). */
const PERSIST_EVERY_MS = 250;

/** Runs the daemon in the foreground until shut down; resolves with the process exit code. */
export async function runDaemon(opts: DaemonOptions): Promise<number> {
  const stateDir = resolve(opts.stateDir);
  const log = await makeLogger(opts);
  // systemd's variables for tend itself (Type=notify) leave the environment before anything starts.
  const manager = takeServiceManager(process.env, log);
  prepareStateDir(stateDir);
  // Before the pid file: a daemon refused here leaves nothing behind.
  const servicesLock = await lockServicesDir(opts.dir, { pid: process.pid, stateDir });
  claimPidFile(join(stateDir, PID_NAME));

  // No process can carry a token that does not exist yet (the Supervisor makes it): a first start
  // on this state directory has no replicas to look for in /proc.
  const firstStart = readSupervisorId(stateDir) === undefined;
  const metrics = new TendMetrics();
  const statePath = join(stateDir, 'state.json');
  let persistTimer: NodeJS.Timeout | undefined;
  let changes = 0;
  const sup: Supervisor = new Supervisor({
    dir: opts.dir,
    stateDir,
    log,
    persistEvents: true,
    onEvent: (e) => {
      logEvent(log, e);
      metrics.observeEvent(e);
    },
    metrics,
    ...(opts.settleMs !== undefined ? { settleMs: opts.settleMs } : {}),
    ...(opts.statsIntervalMs !== undefined ? { statsIntervalMs: opts.statsIntervalMs } : {}),
    ...(opts.maxReplicas !== undefined ? { maxReplicas: opts.maxReplicas } : {}),
    // The specs in force are what a restart must not lose: recorded at once, not on the timer;
    // just after the pass that applies them, and once the helpers have answered its spawns (at
    // most 50 ms later): rendering 5000 records took ~8 ms, by which a new replica's start was
    // known later (bench/edit-timeline.ts).
    onLoaded: () => setImmediate(() => sup.runtime.afterSpawns(persist, 50)),
    onNotifyReady: () => persistNow(), // notify (DESIGN §9): READY (and WATCHDOG_USEC=) is said once; it must survive a crash
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
  metrics.readNotifyFrom(() => sup.notify.counters()); // notify (DESIGN §9)
  // The first read of the files starts now: its trips through libuv's threads go on while the rest
  // is set up; start() takes it if nothing moved meanwhile (Supervisor.watchAndRead). Not when a
  // state file is there: the first load then reads from the last good specs it records (a vanished
  // directory keeps them), and a read from nothing would be thrown away, after taking its share of
  // the CPU that adopting the replicas needs.
  if (!existsSync(statePath)) sup.watchAndRead();
  let escaped: EscapedRecord[] = [];
  // ---- hooks and alerts (src/hooks): tend.yaml, hook runner, alert engine; all off the loop ----
  // Hook commands carry this daemon's transient mark (state/orphans.ts TRANSIENT_VAR).
  const hooks = new Hooks({ events, controller, servicesDir: opts.dir, log, metrics, env: { ...process.env, [TRANSIENT_VAR]: transientMark(sup.token) } });
  metrics.hookQueueLength = () => hooks.runner.stats.queued;
  await hooks.start();
  // ----
  const stateText = new StateText();
  const stateWriter = new StateWriter(statePath, (err) => log.warn({ err }, `cannot write ${statePath}: ${errorMessage(err)}`));
  const snapshot = () => {
    escaped = escaped.filter((e) => sameProcess({ pid: e.pgid, startTime: e.startTime }));
    return stateTextOf(stateText, controller, process.pid, escaped);
  };
  // The coalesced writes go to libuv's threads (state/state-writer.ts); what tend must not act on
  // before it is on disk is written at once.
  const persist = () => stateWriter.write(snapshot());
  const persistNow = () => stateWriter.writeNow(snapshot());

  const took = await takeOver(stateDir, statePath, sup, opts.adopt ?? true, firstStart, log);
  escaped = took?.kept ?? [];
  // What was taken over is on record before anything starts, not at the next change. With nothing
  // taken over there is nothing to lose: written in the background (a synchronous write and its two
  // fsyncs came before the first replica).
  if (took) persistNow();
  else persist();
  await sup.start();
  const reducer = new MemoryReducer({
    gc: lazyGc(),
    quietForMs: () => steadyNow() - controller.lastPassAt,
    lastBusyMs: () => controller.lastBusyMs,
    onCollected: (c) =>
      log.debug(
        `heap collected after a burst of work: ${formatBytes(c.committedBefore)} → ${formatBytes(c.committedAfter)} committed, young generation ${formatBytes(c.youngBefore)} → ${formatBytes(c.youngAfter)} after ${c.trainSteps} young-generation collections; paused ${c.pauseMs.toFixed(0)} ms${c.interrupted ? '; cut short by work, finished at the next quiet look' : ''}`,
      ),
  });
  reducer.start();

  let stopping: Promise<void> | undefined;
  let stopRequested!: () => void;
  const requested = new Promise<void>((r) => (stopRequested = r));
  // A second Ctrl-C or SIGTERM: no more waiting, for the replicas' stop timeouts or the hooks.
  let force = () => {};
  const forced = new Promise<void>((resolve) => (force = resolve));
  const shutdown = (): Promise<void> => {
    stopRequested();
    stopping ??= (async () => {
      log.info('stopping all services, dependents first');
      manager?.stopping();
      await sup.shutdown();
      // The hooks the stop itself set off (each replica's `stopped`, an alert resolved) run before
      // tend exits, for a while: they were dropped with the queue, and what had started was
      // reported failed. A second signal does not wait.
      if (!(await hooks.drain(SHUTDOWN_DRAIN_MS, forced))) log.warn(`hooks still running or queued ${SHUTDOWN_DRAIN_MS / 1000} s after the last replica stopped: not waiting for them`);
    })();
    return stopping;
  };

  // Before the first read of the files is awaited (thousands of them take a while): a SIGTERM then
  // still stops what has started, rather than killing tend by the default action.
  let signals = 0;
  const onSignal = (sig: NodeJS.Signals) => {
    signals++;
    if (signals === 1) {
      log.info(`${sig}: shutting down (again to force)`);
      void shutdown();
    } else {
      log.warn(`${sig} again: killing every replica now`);
      controller.forceKill();
      force();
    }
  };
  const onHup = () => {
    // A foreground `tend up` whose terminal went away (an ssh session dropped) runs on, as under
    // nohup; what it logs goes to tend.log from then on instead of being lost.
    if (!opts.detached && moveLogOffDeadTerminal(log, join(stateDir, 'tend.log'))) {
      log.warn(`the terminal is gone (SIGHUP): tend runs on and logs to ${join(stateDir, 'tend.log')}; stop it with \`tend down\``);
    }
    controller.markSpecDirty();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('SIGHUP', onHup);

  // `tend up -d && tend pause web` must find web: the API answers once the files have been read.
  // Its socket is bound now; node:http and the API's modules are loaded a turn later, after the
  // first pass has asked for its replicas (api/listen.ts).
  await controller.firstLoad;
  // Out of descriptors, the socket is bound once one is free; a stop meanwhile needs none.
  const socketPath = join(stateDir, SOCKET_NAME);
  const stopped = new AbortController();
  void requested.then(() => stopped.abort());
  let retries = 0;
  const socket = await listenApiSocketWhenPossible(socketPath, {
    signal: stopped.signal,
    onRetry: (err) => {
      if (retries++ === 0) log.warn(`cannot bind ${socketPath} (${err.code}: out of file descriptors); trying again until one is free`);
    },
  });
  if (retries > 0 && socket) log.info(`bound ${socketPath} after ${retries} tries`);
  // The API on the control socket; a second server once the state directory was put back.
  const apis: { close(): Promise<void> }[] = [];
  let http: { close(): Promise<void> } | undefined;
  const control = makeControlPlane(controller, events, metrics, shutdown, stateDir, process.pid, hooks);
  if (socket) {
    await new Promise((resolve) => setImmediate(resolve));
    const { startApiServer } = await import('./api/server.js');
    apis.push(await startApiServer(socket, control, log));
    // The TCP listener and dashboard (DESIGN §11), only when asked for: `up --http`, else tend.yaml's
    // `http:` as it is when the daemon starts (a later edit applies at the next start).
    const httpWanted = opts.http ?? hooks.config.config.http;
    http = httpWanted ? await (await import('./api/tcp-listener.js')).startTcpListenerOrLog({ ...httpWanted, stateDir }, control, log) : undefined;
  }
  // The state directory removed under the daemon (git clean -xdf, rm -rf .tend) is put back.
  const keeper = keepStateDir({
    stateDir,
    token: sup.token,
    pidFile: join(stateDir, PID_NAME),
    log,
    prepare: () => prepareStateDir(stateDir),
    reopen: () => {
      events.reopen();
      if (opts.detached) reopenDaemonLog(log, join(stateDir, 'tend.log'));
    },
    restoreNotify: () => sup.notify.restore(),
    persistNow,
    rebind: async () => {
      const again = await listenApiSocketWhenPossible(socketPath, { signal: stopped.signal });
      if (again) apis.push(await (await import('./api/server.js')).startApiServer(again, control, log));
    },
  });
  // codeCache: whether the bundle was loaded from V8's code cache (src/util/code-cache.ts).
  log.info({ codeCache: codeCacheUse() ?? 'unbundled' }, `tend ${process.pid} supervising ${sup.source.describe()} (state in ${stateDir})`);
  // prom-client, now that the first replicas are asked for (api/metrics.ts).
  metrics.load().catch((err: unknown) => log.error({ err }, 'cannot load the metrics'));
  const progress = startProgress(controller, log, () => changes, (line) => manager?.status(line));
  // Ready as `tend up -d` sees it: the API answers (not converged: a crash loop may never be).
  const count = controller.desiredState.services.size;
  manager?.ready(`supervising ${count} service${count === 1 ? '' : 's'} from ${sup.source.describe()}`);

  await requested;
  await stopping;

  clearInterval(progress);
  clearTimeout(persistTimer);
  reducer.close();
  // No background write (in flight, or asked for by a timer later) may bring back the file removed below.
  keeper.close();
  servicesLock.close();
  manager?.close();
  await stateWriter.close();
  await Promise.all(apis.map((a) => a.close()));
  // Every replica is stopped; what still carries our token left a replica's group and was kept
  // (stop_escaped: keep). It is recorded, so that the next start does not take it for a replica.
  const stuck = new Set([...controller.instances.values()].map((i) => i.pgid));
  const kept = findMarkedGroups(supervisorId(stateDir)).filter((g) => g.nonce !== undefined && !stuck.has(g.pgid));
  if (kept.length === 0) rmSync(statePath, { force: true });
  else writeState(statePath, snapshotState({ replicas: [], completions: [], desired: [], escaped: kept.map((g) => ({ pgid: g.pgid, startTime: g.startTime, nonce: g.nonce! })) }, process.pid));
  hooks.stop();
  await http?.close();
  await events.close();
  releasePidFile(join(stateDir, PID_NAME));
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
  process.off('SIGHUP', onHup);
  log.info('all services stopped; bye');
  log.flush?.();
  return 0;
}

/** What the previous daemon left: its last good specs (the starting point of the desired state),
 *  its replicas (adopted, or judged when they exited meanwhile) and its completed jobs; then
 *  groups carrying this state directory's token that state.json does not know (state/adoption.ts
 *  decides; this applies). Undefined when there was nothing: no state file and no such group. */
async function takeOver(stateDir: string, statePath: string, sup: Supervisor, adopt: boolean, firstStart: boolean, log: Logger): Promise<{ kept: EscapedRecord[] } | undefined> {
  const { controller, runtime, events } = sup;
  const read = readState(statePath);
  if (read.kind === 'corrupt') {
    log.error(`state file ${statePath} is corrupt (${read.error}); moved to ${read.movedTo}`);
    events.emit({ type: 'state.corrupt', reason: 'StateCorrupt', message: `state.json is corrupt (${read.error}); moved aside`, detail: read.movedTo });
  }
  const state = read.kind === 'ok' ? read.state : undefined;
  if (state) controller.seed(desiredOf(state), state.held);

  const liveness = new Map<number, Liveness>();
  for (const r of state?.replicas ?? []) {
    if (sameProcess({ pid: r.pid, startTime: r.procStart })) liveness.set(r.pgid, { kind: 'alive' });
    else {
      const exit = zombieExit(r.pid, r.procStart);
      liveness.set(r.pgid, exit ? { kind: 'exited', exit } : { kind: 'exited' });
    }
  }
  const scan = firstStart ? { groups: [], transient: [] } : scanMarked(supervisorId(stateDir));
  killTransient(scan.transient, log);
  const marked = scan.groups;
  if (!state && marked.length === 0) return undefined;

  // The specs in force: the persisted last good ones, with whatever loads cleanly now on top.
  const specs = new Map((state ? desiredOf(state) : []).map((s) => [s.name, s]));
  const current = await sup.source.load(controller.lastLoad).catch(() => undefined);
  for (const s of current?.services ?? []) specs.set(s.name, s);

  const plan = planAdoption({ ...(state ? { state } : {}), marked, liveness, specs, adopt, startedAt: startTimeToMs, now: steadyNow() });
  const stops: Promise<unknown>[] = [];
  const stop = (handle: ProcessHandle, spec: ServiceSpec | undefined) =>
    stops.push(runtime.stop(handle, spec?.stopSignal ?? 'SIGTERM', spec?.stopTimeoutMs ?? 10_000).catch((err) => log.warn({ err }, `cannot stop process group ${handle.pgid}`)));
  for (const s of plan.stop) {
    log.warn(`stopping process group ${s.handle.pgid} left by an earlier tend on ${stateDir}: ${s.why}`);
    stop(s.handle, s.spec);
  }
  const kept: EscapedRecord[] = [];
  for (const e of plan.escaped) {
    if (e.spec?.stopEscaped === 'kill') {
      log.info(`stopping process group ${e.handle.pgid}: it left a replica's group (stop_escaped: kill)`);
      stop(e.handle, e.spec);
    } else {
      log.info(`process group ${e.handle.pgid} left a replica's group (${e.spec?.name ?? 'unknown service'}); not a replica, left running`);
      kept.push({ pgid: e.handle.pgid, startTime: e.handle.startTime, nonce: e.nonce });
    }
  }
  for (const c of plan.completed) controller.restoreCompleted(c.service, c.index, c.spec, c.exitedAt);
  for (const x of plan.exited) {
    const exit = x.exit ?? { code: null, signal: null, at: steadyNow(), unknown: true };
    controller.restoreExited({ service: x.service, index: x.index, pid: x.pid, spec: x.spec, restarts: x.restarts, deaths: x.deaths, streak: x.streak, startedAt: x.startedAt }, exit);
  }
  for (const a of plan.adopt) {
    const { status, ...notify } = a.notify ?? { token: '', ready: false };
    const inst = {
      service: a.service,
      index: a.index,
      state: 'running' as const,
      spec: a.spec,
      ready: a.ready === true,
      restarts: a.restarts,
      deaths: a.deaths,
      streak: a.streak,
      ...(a.nonce ? { nonce: a.nonce } : {}),
      ...(a.notify ? { notify } : {}),
      ...(status !== undefined ? { statusText: status.slice(0, MAX_STATUS_CHARS) } : {}),
    };
    if (!controller.adopt(inst, a.handle)) log.warn(`replica ${a.service}/${a.index} (pid ${a.handle.pid}) exited before it could be adopted`);
  }
  await Promise.all(stops);
  return { kept };
}

function makeControlPlane(
  controller: Controller,
  events: EventLog,
  metrics: TendMetrics,
  shutdown: () => Promise<void>,
  stateDir: string,
  pid: number,
  hooks?: Hooks,
): ControlPlane {
  // Usage as last sampled: the readers that show it (status, a service, /metrics) refresh it
  // first (refreshUsage); `tend logs` and `tend scale` only need the names.
  const status = (): StatusReport => {
    return withHooks(buildStatus({
      loaded: controller.lastLoad !== undefined,
      desired: controller.desiredState,
      instances: controller.instances.values(),
      waiting: controller.waitingFor,
      problems: controller.specProblems,
      usage: (id) => controller.usageOf(id),
      source: controller.source.describe(),
      pid,
    }), hooks);
  };
  const known = (service: string, index?: number) => {
    const spec = controller.desiredState.services.get(service);
    const instances = controller.select(service);
    if (!spec && instances.length === 0) throw noSuchService(service, controller.desiredState.services.keys());
    if (index !== undefined && !instances.some((i) => i.index === index) && !(spec && index < spec.replicas)) {
      throw new TendError('API_NOT_FOUND', `service "${service}" has no replica ${index}`);
    }
  };
  // pause, resume and kill need a process: aimed at none, they say why instead of "done".
  const live = (verb: ProcessVerb, service: string, index: number | undefined) => {
    known(service, index);
    const replicas = controller.select(service, index).map((i) => ({ state: i.state, live: i.pid !== undefined && isLive(i) }));
    const why = noProcess(verb, index === undefined ? service : `${service}/${index}`, service, controller.holds.has(service), replicas);
    if (why !== undefined) throw new TendError('NOT_RUNNING', why);
  };
  return {
    status,
    refreshUsage: () => controller.refreshUsage(),
    restart(service, index) {
      known(service, index);
      const released = controller.holds.has(service);
      if (released) controller.hold(service, false);
      controller.restart(service, index);
      return { released };
    },
    pause(service, index) {
      live('pause', service, index);
      controller.pause(service, index);
    },
    resume(service, index) {
      live('resume', service, index);
      controller.resume(service, index);
    },
    kill(service, index, signal) {
      live('kill', service, index);
      controller.kill(service, index, signal);
    },
    hold(service, on) {
      known(service);
      controller.hold(service, on);
    },
    async plan(dir, opts = {}): Promise<PlanReport> {
      assertDirectory(dir);
      // By default the files' contents are compared, resolved as if they stood where the running
      // directory stands (a copy, a worktree, a CI checkout); --switch compares their location too.
      const running = controller.lastLoad ? realOrSelf(controller.source.describe()) : undefined;
      const next = await loadDirectory(dir, opts.switchTo || running === undefined ? {} : { resolveAs: running });
      const changes = previewChanges(controller.desiredState.services, next, controller.instances.values(), { held: controller.holds });
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
    // Run marks reach the index on disk once a second (not one append per spawn).
    syncLogIndex: (paths) => controller.flushLogIndex(paths),
    recentEvents: (limit, since) => events.history(limit, since),
    subscribe: (listener) => events.subscribe(listener),
    metrics: () => controller.refreshUsage().then(() => metrics.render(status())),
    // `tend inspect` / `tend exec` (src/api/inspect.ts): what each replica runs, from the spec it runs.
    inspect(service, index, reveal, allEnv) {
      known(service, index);
      return inspectService(controller, service, index, reveal, allEnv ?? false);
    },
  };
}

/** Logs a one-line summary (ready counts, what waits for what) when it changes. It is computed
 *  only after the observed state changed (`changes` moved), in one pass over the instances. */
function startProgress(controller: Controller, log: Logger, changes: () => number, onLine: (line: string) => void): NodeJS.Timeout {
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
      onLine(line);
    }
  }, 500);
}

async function makeLogger(opts: DaemonOptions): Promise<Logger> {
  const level = opts.logLevel || process.env.TEND_LOG_LEVEL || 'info';
  // A foreground `tend up | head -1` whose reader went away runs on (Node ignores SIGPIPE), and
  // its lines were lost for good; from then on they go to tend.log, as after a terminal's SIGHUP.
  let log: Logger | undefined;
  const path = join(resolve(opts.stateDir), 'tend.log');
  const onBroken = () => {
    try {
      const fd = openSync(path, 'a', 0o600);
      setImmediate(() => log?.warn(`the output of tend went away (its pipe's reader exited): tend runs on and logs to ${path}; stop it with \`tend down\``));
      return fd;
    } catch {
      return undefined;
    }
  };
  // A full disk under the log drops and counts lines instead of stopping supervision (log/daemon-log.ts).
  log = await createDaemonLogger({ level, pretty: !opts.detached && isatty(1), ...(opts.detached ? {} : { writer: { onBroken } }) });
  return log;
}

function logEvent(log: Logger, e: TendEvent): void {
  const who = e.service === undefined ? '' : e.replica === undefined ? `${e.service} ` : `${e.service}/${e.replica} `;
  const what = e.type.replace(/^replica\.|^service\.|^spec\./, '');
  const pid = e.pid ? ` pid ${e.pid}` : '';
  const exit = e.exit_code !== undefined && e.exit_code !== null ? ` code ${e.exit_code}` : e.signal ? ` ${e.signal}` : '';
  const reason = e.message ? `: ${e.message}` : '';
  const msg = `${who}${what}${pid}${exit}${reason}`;
  // The message only: events.jsonl holds the structured record; serialising it twice cost ~5% of a
  // 1000-replica start (bench/FINDINGS.md).
  if (e.type === 'replica.failed' || e.type === 'spec.invalid' || e.type === 'state.corrupt') log.warn(msg);
  else log.info(msg);
}

/** The state directory holds the control socket: it must be private to its owner. One that tend
 *  creates is (0700); an existing one that others can enter (say /tmp, mode 1777) is refused
 *  rather than changed for good under its other users. */
function prepareStateDir(stateDir: string): void {
  const st = statSync(stateDir, { throwIfNoEntry: false });
  if (st === undefined) mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  else if (!st.isDirectory()) throw new TendError('API_BAD_REQUEST', `state directory ${stateDir} is not a directory`);
  else if (st.uid !== process.getuid?.()) {
    throw new TendError(
      'API_BAD_REQUEST',
      `state directory ${stateDir} belongs to uid ${st.uid}, and tend runs as uid ${process.getuid?.()}: its socket controls every replica, so only its owner may use it. Run tend as uid ${st.uid}${st.uid === 0 ? ' (sudo tend ...)' : ''}, or use a state directory of your own (--state-dir)`,
    );
  } else if ((st.mode & 0o077) !== 0) {
    const mode = (st.mode & 0o7777).toString(8);
    throw new TendError(
      'API_BAD_REQUEST',
      `state directory ${stateDir} is not private (mode ${mode}): its socket controls every replica. Use a directory of its own (tend creates it with mode 0700), or \`chmod 700 ${stateDir}\` if it is yours alone`,
    );
  }
  mkdirSync(join(stateDir, 'logs'), { recursive: true, mode: 0o700 });
}

/** The state file's content: replicas with a process, completed jobs, and the specs in force.
 *  Each replica's record is cached by the values it is made of (StateText). */
function stateTextOf(text: StateText, controller: Controller, daemonPid: number, escaped: EscapedRecord[]): string {
  const replicas: KeyedReplica[] = [];
  const completions = [];
  for (const i of controller.instances.values()) {
    if (i.pid !== undefined && i.pgid !== undefined && i.procStart !== undefined) {
      const { pid, pgid, procStart } = i;
      replicas.push({
        id: i.id,
        parts: [i.service, i.index, pid, pgid, procStart, i.startedAt, i.restarts, i.deaths, i.streak, i.spec, i.nonce, i.notify, i.ready, i.statusText],
        record: () => ({
          service: i.service,
          index: i.index,
          pid,
          pgid,
          procStart,
          startedAt: i.startedAt ?? 0,
          restarts: i.restarts,
          deaths: i.deaths,
          streak: i.streak,
          spec: i.spec,
          ...(i.nonce ? { nonce: i.nonce } : {}),
          ...(i.ready ? { ready: true as const } : {}),
          // notify (DESIGN §9): the session, and the last STATUS (a datagram sender may say it once).
          ...(i.notify?.token ? { notify: { ...i.notify, ...(i.statusText !== undefined ? { status: i.statusText } : {}) } } : {}),
        }),
      });
    } else if (i.state === 'completed') {
      completions.push({ service: i.service, index: i.index, spec: i.spec, exitedAt: i.completedAt ?? 0 });
    }
  }
  return text.render({ replicas, completions, desired: controller.desiredState.services.values(), escaped, held: controller.holds }, daemonPid);
}
