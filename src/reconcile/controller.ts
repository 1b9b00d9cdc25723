// The controller: the one writer of observed state, and the loop that runs `plan` and applies it.
//
// Every trigger (spec change, process exit, probe verdict, back-off timer, API command) only calls
// `kick()`. Kicks are coalesced and one pass runs at a time: (1) re-read the specs when they are
// dirty, (2) plan against the whole desired and observed state, (3) apply the actions, (4) arm one
// timer for the plan's `wakeAt`. Effects (spawns, stops, probe results) come back later as events
// that update an instance through the pure functions of transitions.ts and kick again.

import type { Logger } from 'pino';
import type { TendEvent } from '../api/types.js';
import { assertNever, errorMessage, type SpecProblem } from '../errors.js';
import type { EventLog } from '../events.js';
import { graphIssues } from '../graph/graph.js';
import { ProbeRunner } from '../health/probe-runner.js';
import type { ProbeState } from '../health/types.js';
import { logPath } from '../runtime/logs.js';
import { LogRotator } from '../runtime/log-rotator.js';
import type { ProcessRuntime } from '../runtime/process-runtime.js';
import { sampleUsage } from '../runtime/stats.js';
import type { ExitStatus, GroupUsage, ProcessHandle } from '../runtime/types.js';
import { expandReplica } from '../spec/expand.js';
import type { SpecSource } from '../spec/source.js';
import type { LoadResult, ProbeSpec, ReplicaLaunch, ServiceSpec } from '../spec/types.js';
import { SPEC_HASH_VAR } from '../state/orphans.js';
import { isLive, plan } from './plan.js';
import * as tr from './transitions.js';
import type { Action, DesiredState, Instance } from './types.js';

export interface ControllerOptions {
  source: SpecSource;
  runtime: ProcessRuntime;
  events: EventLog;
  log: Logger;
  /** `.tend/logs`: replica logs go to `<logDir>/<svc>/<n>.log`. */
  logDir: string;
  /** The environment replicas inherit before their own `env`. */
  baseEnv?: Record<string, string | undefined>;
  /** How often CPU and memory are sampled, limits checked and logs rotated. */
  statsIntervalMs?: number;
  metrics?: { observePass(seconds: number): void; probeFailure(service: string, probe: 'readiness' | 'liveness'): void };
  /** Called after every change of observed state (the state file writer hooks in here). */
  onChange?: () => void;
  /** Called after the specs were re-read and changed (the watcher follows env files from here). */
  onLoaded?: (load: LoadResult) => void;
  random?: () => number;
}

interface Probes {
  launch: ReplicaLaunch;
  readiness?: ProbeRunner;
  liveness?: ProbeRunner;
}

interface Usage extends GroupUsage {
  memoryOver: number;
  cpuOver: number;
}

/** Samples in a row over a memory or CPU limit before the replica is restarted. */
const LIMIT_SAMPLES = 3;

export class Controller {
  readonly instances = new Map<string, Instance>();
  private desired: DesiredState = { services: new Map(), blocked: new Map(), shuttingDown: false };
  private loaded?: LoadResult;
  private problems: SpecProblem[] = [];
  private waiting = new Map<string, string>();
  private readonly probes = new Map<string, Probes>();
  private readonly exits = new Map<string, ExitStatus>();
  private readonly usage = new Map<string, Usage>();
  private seq = 0;
  private specDirty = true;
  private scheduled = false;
  private passing = false;
  private again = false;
  private wakeTimer?: NodeJS.Timeout;
  private wakeAt?: number;
  private statsTimer?: NodeJS.Timeout;
  private firstSampleTimer?: NodeJS.Timeout;
  private sampling = false;
  private closed = false;
  private readonly idleWaiters: (() => void)[] = [];
  private readonly random: () => number;
  /** Rotates replica logs promptly and keeps their time index (runtime/log-rotator.ts). */
  private readonly logs = new LogRotator({ onError: (path, err) => this.opts.log.warn({ err }, `cannot rotate ${path}`) });

  constructor(private readonly opts: ControllerOptions) {
    this.random = opts.random ?? Math.random;
  }

  /** Starts the loop and the stats timer. Adopted instances, if any, must be added before. */
  start(): void {
    this.kick();
    const every = this.opts.statsIntervalMs ?? 5000;
    if (every > 0) {
      // A first sample soon after start, so that `tend status` shows CPU and memory early.
      this.firstSampleTimer = setTimeout(() => void this.sample(), Math.min(1000, every));
      this.statsTimer = setInterval(() => void this.sample(), every);
    }
  }

  /** The specs changed on disk (or may have): re-read them in the next pass. */
  markSpecDirty(): void {
    this.specDirty = true;
    this.kick();
  }

  /** Ask for a pass. Cheap and idempotent: kicks are coalesced. */
  kick(): void {
    if (this.scheduled || this.closed) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      void this.loop();
    });
  }

  get source(): SpecSource {
    return this.opts.source;
  }

  get desiredState(): DesiredState {
    return this.desired;
  }

  get lastLoad(): LoadResult | undefined {
    return this.loaded;
  }

  get specProblems(): readonly SpecProblem[] {
    return this.problems;
  }

  get waitingFor(): ReadonlyMap<string, string> {
    return this.waiting;
  }

  usageOf(id: string): GroupUsage | undefined {
    return this.usage.get(id);
  }

  /** Stops everything, dependents first; resolves once no replica has a process left. */
  async shutdown(): Promise<void> {
    this.desired = { ...this.desired, shuttingDown: true };
    this.kick();
    await this.until(() => ![...this.instances.values()].some((i) => isLive(i)));
  }

  /** Second Ctrl-C: SIGKILL every group now, without waiting for stop timeouts. */
  forceKill(): void {
    for (const i of this.instances.values()) {
      const h = handleOf(i);
      if (h) this.opts.runtime.signal(h, 'SIGKILL');
    }
  }

  /** Stops timers and probes; replicas keep running (they outlive tend by design). */
  close(): void {
    this.closed = true;
    clearTimeout(this.wakeTimer);
    clearInterval(this.statsTimer);
    this.logs.close();
    clearTimeout(this.firstSampleTimer);
    for (const id of this.probes.keys()) this.stopProbes(id);
  }

  /** Adds a replica found alive from an earlier run of tend (see daemon adoption). */
  adopt(inst: Omit<Instance, 'id'>, handle: ProcessHandle): boolean {
    const id = this.nextId(inst.service, inst.index);
    const ok = this.opts.runtime.adopt(handle, (status) => this.onExit(id, status));
    if (!ok) return false;
    const adopted = tr.spawned({ ...inst, id }, handle);
    this.instances.set(id, adopted);
    this.startProbes(adopted);
    this.emit({ type: 'replica.adopted', service: inst.service, replica: inst.index, pid: handle.pid });
    return true;
  }

  /** Manual restart: replace by the update strategy, resetting crash-loop counters. */
  restart(service: string, index?: number): void {
    for (const i of this.select(service, index)) {
      if (i.state === 'failed' || i.state === 'backoff' || i.state === 'completed' || i.state === 'stopped') {
        this.forget(i.id);
      } else if (i.state !== 'stopping') {
        this.instances.set(i.id, { ...i, replaceRequested: true, deaths: [], streak: 0 });
      }
    }
    this.emit({ type: 'service.restarting', service, ...(index === undefined ? {} : { replica: index }) });
    this.kick();
  }

  pause(service: string, index?: number): void {
    for (const i of this.select(service, index)) {
      const h = handleOf(i);
      if (!h || (i.state !== 'running' && i.state !== 'starting')) continue;
      this.opts.runtime.signal(h, 'SIGSTOP');
      this.update(i.id, { state: 'paused', ready: false });
      this.emit({ type: 'replica.paused', service, replica: i.index, pid: i.pid });
    }
    this.kick();
  }

  resume(service: string, index?: number): void {
    for (const i of this.select(service, index)) {
      const h = handleOf(i);
      if (!h || i.state !== 'paused') continue;
      this.opts.runtime.signal(h, 'SIGCONT');
      const ready = i.spec.readiness ? i.readiness?.status === 'success' : true;
      this.update(i.id, { state: ready || !i.spec.readiness ? 'running' : 'starting', ready });
      this.emit({ type: 'replica.resumed', service, replica: i.index, pid: i.pid });
    }
    this.kick();
  }

  kill(service: string, index: number | undefined, signal: NodeJS.Signals): void {
    for (const i of this.select(service, index)) {
      const h = handleOf(i);
      if (!h) continue;
      this.opts.runtime.signal(h, signal);
      this.emit({ type: 'replica.signalled', service, replica: i.index, pid: i.pid, signal });
    }
  }

  /** Instances of a service, or of one replica index; live and terminal alike. */
  select(service: string, index?: number): Instance[] {
    return [...this.instances.values()].filter((i) => i.service === service && (index === undefined || i.index === index));
  }

  /** Resolves when `cond` holds after a pass. */
  private until(cond: () => boolean): Promise<void> {
    if (cond()) return Promise.resolve();
    return new Promise((resolve) => {
      const check = () => {
        if (cond()) resolve();
        else this.idleWaiters.push(check);
      };
      this.idleWaiters.push(check);
    });
  }

  // ---- the loop ---------------------------------------------------------------------------

  private async loop(): Promise<void> {
    if (this.passing) {
      this.again = true;
      return;
    }
    this.passing = true;
    try {
      do {
        this.again = false;
        await this.pass();
      } while (this.again && !this.closed);
    } catch (err) {
      // A pass must never take the daemon down: log, and try again a little later.
      this.opts.log.error({ err }, 'reconcile pass failed');
      setTimeout(() => this.kick(), 1000).unref();
    } finally {
      this.passing = false;
    }
    const waiters = this.idleWaiters.splice(0);
    for (const w of waiters) w();
  }

  private async pass(): Promise<void> {
    if (this.specDirty && !this.desired.shuttingDown) {
      this.specDirty = false;
      await this.reload();
    }
    const started = performance.now();
    const now = Date.now();
    const p = plan(this.desired, { instances: this.instances }, now);
    this.waiting = p.waiting;
    for (const action of p.actions) this.apply(action, now);
    this.armWake(p.wakeAt);
    this.opts.metrics?.observePass((performance.now() - started) / 1000);
    if (p.actions.length > 0) this.changed();
  }

  private armWake(at: number | undefined): void {
    if (at === this.wakeAt) return;
    clearTimeout(this.wakeTimer);
    this.wakeAt = at;
    if (at === undefined) return;
    this.wakeTimer = setTimeout(() => {
      this.wakeAt = undefined;
      this.kick();
    }, Math.max(0, at - Date.now()));
  }

  // ---- desired state ----------------------------------------------------------------------

  private async reload(): Promise<void> {
    const prev = this.loaded;
    let next: LoadResult;
    try {
      next = await this.opts.source.load(prev);
    } catch (err) {
      // The source itself failed (directory gone): keep everything as it is.
      this.opts.log.warn({ err }, `cannot read ${this.opts.source.describe()}: ${errorMessage(err)}`);
      return;
    }
    if (prev && prev.fingerprint === next.fingerprint) return;
    this.loaded = next;

    const services = new Map(next.services.map((s) => [s.name, s]));
    const before = this.desired.services;
    this.desired = { services, blocked: graphIssues(next.services).blocked, shuttingDown: this.desired.shuttingDown };

    const oldProblems = new Set(this.problems.map(problemKey));
    this.problems = next.problems;
    for (const p of next.problems) {
      if (oldProblems.has(problemKey(p))) continue;
      this.emit({ type: 'spec.invalid', ...(p.service ? { service: p.service } : {}), reason: p.message, detail: `${p.file}:${p.line}:${p.column}` });
    }
    for (const [name, spec] of services) {
      const old = before.get(name);
      if (old && old.replicas !== spec.replicas) {
        this.emit({ type: 'service.scaled', service: name, reason: `${old.replicas} → ${spec.replicas}` });
      }
    }
    this.emit({ type: 'spec.loaded', reason: `${services.size} services, ${next.problems.length} problems` });
    this.applyLiveChanges(services);
    this.opts.onLoaded?.(next);
  }

  /** Probes, restart policy, back-off, limits and stop settings apply to running replicas at once:
   *  an instance whose process-shaping hash is unchanged simply takes the new spec. */
  private applyLiveChanges(services: ReadonlyMap<string, ServiceSpec>): void {
    for (const i of this.instances.values()) {
      const spec = services.get(i.service);
      if (!spec || spec === i.spec || spec.hash !== i.spec.hash) continue;
      const oldSpec = i.spec;
      let next: Instance = { ...i, spec };
      if (!spec.readiness && oldSpec.readiness && (i.state === 'starting' || i.state === 'running')) {
        next = { ...next, state: 'running', ready: true, readiness: undefined };
      }
      this.instances.set(i.id, next);
      if (isLive(i) && i.state !== 'stopping') this.syncProbes(next);
    }
  }

  // ---- apply ------------------------------------------------------------------------------

  private apply(a: Action, now: number): void {
    switch (a.kind) {
      case 'start':
        return this.startInstance(a, now);
      case 'stop':
        return this.stopInstance(a.id, a.intent, a.reason);
      case 'forget':
        return this.forget(a.id);
      default:
        return assertNever(a);
    }
  }

  private startInstance(a: Extract<Action, { kind: 'start' }>, now: number): void {
    const prev = a.continues ? this.instances.get(a.continues) : undefined;
    if (a.supersedes) this.forget(a.supersedes);
    const id = this.nextId(a.service, a.index);
    const inst: Instance = {
      id,
      service: a.service,
      index: a.index,
      state: 'starting',
      spec: a.spec,
      ready: false,
      restarts: prev ? prev.restarts + 1 : 0,
      deaths: prev ? prev.deaths : [],
      streak: prev ? prev.streak : 0,
    };
    this.instances.set(id, inst);

    let launch: ReplicaLaunch;
    try {
      launch = this.expand(inst);
      // Lets a later tend adopt it by its environment alone, should the state file miss it.
      launch.env[SPEC_HASH_VAR] = a.spec.hash;
    } catch (err) {
      this.instances.set(id, tr.spawnFailed(inst, errorMessage(err), true, now, this.random()));
      this.emit({ type: 'replica.failed', service: a.service, replica: a.index, reason: errorMessage(err) });
      return;
    }
    this.emit({ type: prev ? 'replica.restarting' : 'replica.starting', service: a.service, replica: a.index, reason: a.reason });
    const logFile = logPath(this.opts.logDir, a.service, a.index);
    this.logs.track(logFile, a.spec.logs, true); // a new run begins here: the log's separator
    this.opts.runtime
      .start({ launch, logFile, ...(a.spec.user ? { user: a.spec.user } : {}) }, (status) => this.onExit(id, status))
      .then((result) => this.onStarted(id, launch, result))
      .catch((err) => this.opts.log.error({ err }, `start of ${id} failed`));
  }

  private onStarted(id: string, launch: ReplicaLaunch, result: Awaited<ReturnType<ProcessRuntime['start']>>): void {
    const inst = this.instances.get(id);
    if (!inst) return;
    if (!result.ok) {
      if (inst.state === 'stopping') {
        this.instances.set(id, { ...inst, state: 'stopped', reason: result.reason });
      } else {
        const next = tr.spawnFailed(inst, result.reason, result.permanent, Date.now(), this.random());
        this.instances.set(id, next);
        this.emit({ type: next.state === 'failed' ? 'replica.failed' : 'replica.exited', service: inst.service, replica: inst.index, reason: result.reason });
      }
      this.changed();
      return;
    }
    const h = result.handle;
    if (inst.state === 'stopping') {
      // Stopped (shutdown, scale-down) while the spawn was in flight: stop it now.
      this.instances.set(id, { ...inst, pid: h.pid, pgid: h.pgid, procStart: h.startTime, startedAt: h.startedAt });
      this.beginStop(id);
      return;
    }
    const next = tr.spawned(inst, h);
    this.instances.set(id, next);
    this.startProbes(next, launch);
    this.emit({ type: 'replica.started', service: inst.service, replica: inst.index, pid: h.pid });
    if (next.ready) this.emit({ type: 'replica.ready', service: inst.service, replica: inst.index, pid: h.pid });
    this.changed();
  }

  private stopInstance(id: string, intent: NonNullable<Instance['stopIntent']>, reason: string): void {
    const inst = this.instances.get(id);
    if (!inst || inst.state === 'stopping') return;
    this.stopProbes(id);
    this.instances.set(id, { ...inst, state: 'stopping', stopIntent: intent, reason, ready: false });
    this.emit({ type: 'replica.stopping', service: inst.service, replica: inst.index, pid: inst.pid, reason });
    if (inst.pid !== undefined) this.beginStop(id);
  }

  private beginStop(id: string): void {
    const inst = this.instances.get(id);
    const h = inst && handleOf(inst);
    if (!inst || !h) return;
    this.opts.runtime
      .stop(h, inst.spec.stopSignal, inst.spec.stopTimeoutMs)
      .then((res) => this.onStopped(id, res.killed))
      .catch((err) => this.opts.log.error({ err }, `stop of ${id} failed`));
  }

  private onStopped(id: string, killed: boolean): void {
    const inst = this.instances.get(id);
    if (!inst || inst.state !== 'stopping') return;
    const exit = this.exits.get(id) ?? { code: null, signal: killed ? 'SIGKILL' : null, at: Date.now() };
    this.exits.delete(id);
    const next = tr.exited(inst, { ...exit, at: Date.now() }, this.random());
    this.instances.set(id, next);
    this.emitExit(inst, next, exit, killed ? 'SIGKILL after stop_timeout' : undefined);
    this.changed();
  }

  /** The process (leader) exited. During a stop we wait for the whole group (onStopped). */
  private onExit(id: string, status: ExitStatus): void {
    const inst = this.instances.get(id);
    if (!inst || inst.pid === undefined) return;
    if (inst.state === 'stopping') {
      this.exits.set(id, status);
      return;
    }
    const h = handleOf(inst)!;
    this.stopProbes(id);
    const next = tr.exited(inst, status, this.random());
    this.instances.set(id, next);
    this.emitExit(inst, next, status);
    // Whatever the leader left behind in its group goes with it (systemd's KillMode=control-group).
    void this.opts.runtime.stop(h, inst.spec.stopSignal, inst.spec.stopTimeoutMs).catch(() => undefined);
    this.changed();
  }

  private emitExit(before: Instance, after: Instance, exit: ExitStatus, why?: string): void {
    const base = { service: before.service, replica: before.index, pid: before.pid, exit_code: exit.code, signal: exit.signal };
    this.emit({ type: 'replica.exited', ...base, ...(why ? { reason: why } : {}) });
    const reason = after.reason ?? undefined;
    switch (after.state) {
      case 'stopped':
        return void this.emit({ type: 'replica.stopped', ...base, ...(reason ? { reason } : {}) });
      case 'completed':
        return void this.emit({ type: 'replica.completed', ...base });
      case 'failed':
        return void this.emit({ type: 'replica.failed', ...base, ...(reason ? { reason } : {}) });
      case 'backoff': {
        const delay = Math.max(0, (after.nextStartAt ?? 0) - exit.at);
        return void this.emit({ type: 'replica.backoff', ...base, reason: `${reason ?? 'exited'}; restarting in ${delay} ms` });
      }
      default:
        return;
    }
  }

  private forget(id: string): void {
    this.stopProbes(id);
    this.exits.delete(id);
    this.usage.delete(id);
    this.instances.delete(id);
  }

  private update(id: string, patch: Partial<Instance>): void {
    const i = this.instances.get(id);
    if (i) this.instances.set(id, { ...i, ...patch });
    this.changed();
  }

  private nextId(service: string, index: number): string {
    return `${service}/${index}#${++this.seq}`;
  }

  // ---- probes -----------------------------------------------------------------------------

  /** Starts the probe runners of a replica that just started (or was adopted), with the launch it
   *  was started from when there is one. */
  private startProbes(inst: Instance, launch = this.expand(inst)): void {
    const entry: Probes = { launch };
    this.probes.set(inst.id, entry);
    this.applyProbes(inst, entry);
  }

  /** A live spec change: probes follow the new spec without a restart of the replica. */
  private syncProbes(inst: Instance): void {
    const entry = this.probes.get(inst.id);
    if (!entry) return;
    entry.launch = this.expand(inst);
    this.applyProbes(inst, entry);
  }

  /** Makes the probe runners of an instance match its launch: create, update or stop them. */
  private applyProbes(inst: Instance, entry: Probes): void {
    const { launch } = entry;
    for (const kind of ['readiness', 'liveness'] as const) {
      const spec: ProbeSpec | undefined = launch[kind];
      const runner = entry[kind];
      if (!spec) {
        runner?.stop();
        delete entry[kind];
      } else if (runner) {
        runner.update(spec);
      } else {
        const r = new ProbeRunner(spec, { cwd: launch.cwd, env: launch.env }, (state, prev) =>
          this.onProbe(inst.id, kind, state, prev),
        );
        entry[kind] = r;
        r.start(inst.startedAt ?? Date.now());
      }
    }
  }

  private expand(inst: Instance): ReplicaLaunch {
    return expandReplica(inst.spec, inst.index, this.opts.baseEnv ?? process.env);
  }

  private stopProbes(id: string): void {
    const entry = this.probes.get(id);
    if (!entry) return;
    entry.readiness?.stop();
    entry.liveness?.stop();
    this.probes.delete(id);
  }

  private onProbe(id: string, kind: 'readiness' | 'liveness', state: ProbeState, prev: ProbeState): void {
    const inst = this.instances.get(id);
    if (!inst || !isLive(inst) || inst.state === 'stopping') return;
    const base = { service: inst.service, replica: inst.index, pid: inst.pid };
    if (state.status === 'failure' && prev.status !== 'failure') this.opts.metrics?.probeFailure(inst.service, kind);
    if (kind === 'readiness') {
      const next = tr.readinessChanged(inst, state);
      this.instances.set(id, next);
      if (next.ready && !inst.ready) this.emit({ type: 'replica.ready', ...base, detail: state.lastOutput });
      if (!next.ready && inst.ready) this.emit({ type: 'replica.unready', ...base, reason: `readiness: ${state.lastOutput}`, detail: state.lastOutput });
    } else {
      const next = tr.livenessChanged(inst, state);
      this.instances.set(id, next);
      if (next.restartRequested && !inst.restartRequested) {
        this.emit({ type: 'replica.unhealthy', ...base, reason: next.restartRequested, detail: state.lastOutput });
      }
    }
    if (state.status !== prev.status) this.changed();
  }

  // ---- stats, limits and log rotation -----------------------------------------------------

  /** One batched sample for all replicas (never one per replica): usage, limits, log sizes. */
  private async sample(): Promise<void> {
    if (this.sampling || this.closed) return;
    this.sampling = true;
    try {
      const live = [...this.instances.values()].filter((i) => i.pgid !== undefined && isLive(i) && i.state !== 'stopping');
      const byGroup = await sampleUsage(live.map((i) => i.pgid!));
      let changed = false;
      for (const i of live) {
        const u = byGroup.get(i.pgid!);
        if (!u) continue;
        const prev = this.usage.get(i.id);
        const limits = i.spec.limits;
        const memoryOver = limits.memoryBytes > 0 && u.memory > limits.memoryBytes ? (prev?.memoryOver ?? 0) + 1 : 0;
        const cpuOver = limits.cpuPercent > 0 && u.cpu > limits.cpuPercent ? (prev?.cpuOver ?? 0) + 1 : 0;
        this.usage.set(i.id, { ...u, memoryOver, cpuOver });
        const current = this.instances.get(i.id);
        if (!current || current.restartRequested) continue;
        let why: string | undefined;
        if (memoryOver >= LIMIT_SAMPLES) why = `limit: memory ${formatBytes(u.memory)} over ${formatBytes(limits.memoryBytes)} for ${memoryOver} samples`;
        else if (cpuOver >= LIMIT_SAMPLES) why = `limit: cpu ${Math.round(u.cpu)}% over ${limits.cpuPercent}% for ${cpuOver} samples`;
        if (why) {
          this.instances.set(i.id, { ...current, restartRequested: why });
          this.emit({ type: 'replica.limit', service: i.service, replica: i.index, pid: i.pid, reason: why });
          changed = true;
        }
      }
      // Logs are rotated by the LogRotator as they grow; here it only learns which files to watch.
      this.logs.retain(new Set([...this.instances.values()].map((i) => logPath(this.opts.logDir, i.service, i.index))));
      for (const i of live) this.logs.track(logPath(this.opts.logDir, i.service, i.index), i.spec.logs);
      if (changed) this.kick();
    } catch (err) {
      this.opts.log.warn({ err }, 'stats sample failed');
    } finally {
      this.sampling = false;
    }
  }

  // ---- notifications ----------------------------------------------------------------------

  private emit(e: Omit<TendEvent, 'ts'>): void {
    const clean = Object.fromEntries(Object.entries(e).filter(([, v]) => v !== undefined)) as Omit<TendEvent, 'ts'>;
    this.opts.events.emit(clean);
  }

  private changed(): void {
    this.opts.onChange?.();
    this.kick();
  }
}

function handleOf(i: Instance): ProcessHandle | undefined {
  if (i.pid === undefined || i.pgid === undefined || i.procStart === undefined) return undefined;
  return { pid: i.pid, pgid: i.pgid, startTime: i.procStart, startedAt: i.startedAt ?? 0 };
}

function problemKey(p: SpecProblem): string {
  return `${p.file}:${p.line}:${p.column}:${p.message}`;
}

function formatBytes(n: number): string {
  if (n >= 1024 ** 3) return `${(n / 1024 ** 3).toFixed(1)}Gi`;
  if (n >= 1024 ** 2) return `${(n / 1024 ** 2).toFixed(1)}Mi`;
  if (n >= 1024) return `${(n / 1024).toFixed(1)}Ki`;
  return `${n}B`;
}
