// A supervisor = spec source + watcher + runtime + controller + event log, wired together.
// The daemon adds the pid file, the state file, the API and signal handling around it; tests use
// it directly, so they exercise exactly the wiring the daemon runs.

import { join, resolve } from 'node:path';
import type { Logger } from 'pino';
import { EventLog, type EventLogOptions } from './events.js';
import { Controller, type ControllerOptions } from './reconcile/controller.js';
import { ProcessRuntime } from './runtime/process-runtime.js';
import { DirectorySource } from './spec/source.js';
import { SpecPreload } from './spec/preload.js';
import { STATE_DIR_VAR, SUPERVISOR_ID_VAR, supervisorId } from './state/orphans.js';
import { SpecWatcher } from './watch/spec-watcher.js';
import { NotifyHub } from './notify/hub.js';
import { hubSeam, notifyHandlers } from './notify/wire.js';
import { errorMessage } from './errors.js';
import { ownNofile, replicaNofile } from './util/nofile.js';

export interface SupervisorOptions {
  dir: string;
  stateDir: string;
  log: Logger;
  settleMs?: number;
  /** Act on a change after this long even if events keep coming (the watcher's ceiling). */
  maxWaitMs?: number;
  statsIntervalMs?: number;
  maxReplicas?: number;
  /** events.jsonl is written when true (the daemon); tests may keep events in memory. */
  persistEvents?: boolean;
  onEvent?: EventLogOptions['onEvent'];
  metrics?: ControllerOptions['metrics'];
  onChange?: () => void;
  /** The specs in force changed (the state file records them at once). */
  onLoaded?: () => void;
  /** notify (DESIGN §9): a replica said READY for the first time, or set its own watchdog period;
   *  a restart of tend must not lose that (a datagram sender says it once), so the state file
   *  records it at once too. */
  onNotifyReady?: () => void;
}

export class Supervisor {
  readonly stateDir: string;
  /** The state directory's id, which every replica carries (state/orphans.ts). */
  readonly token: string;
  readonly events: EventLog;
  /** The caller's open-files limit, when replicas would inherit a higher one (util/nofile.ts). */
  private readonly nofile = replicaNofile();
  /** Replicas fork from small helper processes (runtime/spawn-helper.ts), the compiled one when the
   *  build made it; TEND_SPAWN_HELPER=node runs node's instead, TEND_SPAWN_HELPER=0 keeps every
   *  fork in the daemon itself. */
  readonly runtime = new ProcessRuntime({
    helper: process.env['TEND_SPAWN_HELPER'] !== '0',
    helperKind: process.env['TEND_SPAWN_HELPER'] === 'node' ? 'node' : 'auto',
    ...(this.nofile === undefined ? {} : { nofile: this.nofile }),
  });
  readonly source: DirectorySource;
  private readonly preload: SpecPreload;
  readonly controller: Controller;
  readonly watcher: SpecWatcher;
  /** notify (DESIGN §9): the sockets replicas talk back on. */
  readonly notify: NotifyHub;

  constructor(opts: SupervisorOptions) {
    this.stateDir = resolve(opts.stateDir);
    const nofile = this.nofile;
    if (nofile !== undefined) {
      void this.runtime.setsNofile().then((sets) => {
        if (!sets) opts.log.warn(`replicas get Node's open-files limit (${ownNofile()?.soft}), not the ${nofile} tend was started with: only the compiled spawn helper can set it (npm run build on a machine with a C compiler)`);
      });
    }
    this.token = supervisorId(this.stateDir);
    this.events = new EventLog({
      ...(opts.persistEvents ? { path: join(this.stateDir, 'events.jsonl') } : {}),
      ...(opts.onEvent ? { onEvent: opts.onEvent } : {}),
    });
    // notify (DESIGN §9): what replicas say goes to the controller's one inlet, `report`.
    this.notify = new NotifyHub({
      dir: join(this.stateDir, 'notify'),
      ...notifyHandlers((id, ev) => {
        const before = this.controller.instances.get(id)?.notify;
        this.controller.report(id, ev);
        const now = this.controller.instances.get(id);
        // Its own watchdog period is said once too: a tend that adopts it by the spec's shorter one
        // would call it stale.
        if (now?.pid !== undefined && now.notify?.watchdogMs !== before?.watchdogMs) opts.onNotifyReady?.();
        if (before?.ready || !now?.notify?.ready) return;
        // Said before the spawn returned: the state file can record it only with the pid (a
        // record without one adopts nothing), so at the first change that brings the pid. Left
        // to the coalesced write, a kill -9 in those ~250 ms lost READY (test/notify/e2e.test.ts).
        if (now.pid === undefined) this.readyBeforePid.add(id);
        else opts.onNotifyReady?.();
      }),
      onError: (id, message) => opts.log.warn(`${id}: ${message}`),
      onMalformed: (id, detail) => opts.log.warn(`${id}: notify: ignored a malformed assignment (${detail}); the rest of its message was heard. Later ones are only counted (tend_notify_dropped_total{reason="malformed"})`),
    });
    this.source = new DirectorySource(opts.dir, opts.maxReplicas !== undefined ? { maxReplicas: opts.maxReplicas } : {});
    this.preload = new SpecPreload(this.source);
    this.controller = new Controller({
      source: this.source,
      runtime: this.runtime,
      emit: (e) => void this.events.emit(e),
      log: opts.log,
      logDir: join(this.stateDir, 'logs'),
      // The token lets a later tend find its replicas even without a state file (state/orphans.ts);
      // TEND_STATE_DIR lets a replica's own `tend` commands find this daemon. A caller's exported
      // identity variables are never passed on (they would make the replica look like another's).
      baseEnv: { ...process.env, [STATE_DIR_VAR]: this.stateDir, [SUPERVISOR_ID_VAR]: this.token, TEND_REPLICA_NONCE: undefined },
      ...(opts.statsIntervalMs !== undefined ? { statsIntervalMs: opts.statsIntervalMs } : {}),
      ...(opts.metrics ? { metrics: opts.metrics } : {}),
      onChange: () => {
        if (this.readyBeforePid.size > 0) this.recordEarlyReady(opts.onNotifyReady);
        opts.onChange?.();
      },
      notify: hubSeam(this.notify, (id) => this.controller.instances.get(id)),
      // env files named by the specs are watched too; the set follows the last load.
      onLoaded: (load) => {
        this.watcher.setExtraFiles(load.watch ?? load.services.flatMap((s) => s.envFiles));
        opts.onLoaded?.();
      },
    });
    this.watcher = new SpecWatcher(opts.dir, {
      ...(opts.settleMs !== undefined ? { settleMs: opts.settleMs } : {}),
      ...(opts.maxWaitMs !== undefined ? { maxWaitMs: opts.maxWaitMs } : {}),
      // The read starts while the window is still open and is used if nothing moved until it
      // closes (spec/preload.ts); a reload asked for otherwise (SIGHUP, `tend reload`) reads afresh.
      onQuiet: (generation) => this.preload.start(generation, this.controller.lastLoad),
      // Before start(), the read start() asks for sees the change.
      onSettled: (generation) => this.started && this.controller.markSpecDirty(this.preload.take(generation)),
      onError: (err) => opts.log.warn({ err }, `watching ${opts.dir}: ${errorMessage(err)}`),
    });
  }

  private started = false;

  /** READY said by replicas whose spawn had not returned yet (see the notify handler). */
  private readonly readyBeforePid = new Set<string>();

  private recordEarlyReady(onNotifyReady: (() => void) | undefined): void {
    let record = false;
    for (const id of this.readyBeforePid) {
      const inst = this.controller.instances.get(id);
      if (inst?.pid !== undefined) record = true;
      if (inst?.pid !== undefined || !inst) this.readyBeforePid.delete(id);
    }
    if (record) onNotifyReady?.();
  }

  /** Watches the directory and starts reading it, ahead of start(): the read's trips through
   *  libuv's threads go on while the daemon sets up the rest (hooks, adoption, the notify
   *  sockets), ~3 ms of its start-up (bench/FINDINGS.md §16). start() takes that read only if the
   *  watcher saw nothing since it began; else it reads afresh. */
  watchAndRead(): void {
    void this.watcher.start();
    this.preload.start(this.watcher.currentGeneration, undefined);
  }

  /** Starts watching and reconciling. Replicas to adopt must be handed to the controller before. */
  async start(): Promise<void> {
    await this.notify.start();
    await this.watcher.start();
    this.started = true;
    this.controller.start(this.preload.take(this.watcher.currentGeneration));
  }

  /** Stops every replica (dependents first), then the watcher and timers. */
  async shutdown(): Promise<void> {
    await this.watcher.close();
    await this.controller.shutdown();
    this.close();
  }

  /** Stops watching and timers without touching replicas (they outlive tend). */
  close(): void {
    void this.watcher.close();
    this.controller.close();
    this.runtime.close();
    void this.notify.close();
  }
}
