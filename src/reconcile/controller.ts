// The controller: the one writer of observed state, a work queue of services, and the loop that
// plans each queued service and applies the plan (STYLE §1.1, controller-runtime's shape).
//
//   triggers ──▶ queue (service names, deduplicated) ──▶ reconcile(name): planKey ──▶ apply ──▶ Runtime
//      ▲                                                                                   │
//      └──── observe(id, Observed) ◀── spawns, exits, stops, probes, usage, operators ◀────┘
//
// A replica's exit, a probe verdict or a timer queues its service; a change of a service's state
// also queues the services that depend on it (their conditions) and that it depends on (the stop
// order of leaving services); a spec change queues what changed. The cost of an event is the
// cost of its service, not of the fleet. Every key is queued at start-up and once a minute as a
// safety net. Everything tend learns goes through `observe`, folded by the pure `fold`
// (observe.ts), which returns the typed events to emit.

import type { Logger } from 'pino';
import { assertNever, errorMessage, type SpecProblem } from '../errors.js';
import { graphIssues } from '../graph/graph.js';
import type { ProbeState } from '../health/types.js';
import { LogRotator } from '../runtime/log-rotator.js';
import { logPath } from '../runtime/logs.js';
import type { ExitStatus, GroupUsage, ProcessHandle, Runtime, StartResult } from '../runtime/types.js';
import { accountEnvOf } from '../runtime/user.js';
import { expandReplica } from '../spec/expand.js';
import type { Preloaded } from '../spec/preload.js';
import type { SpecSource } from '../spec/source.js';
import type { LoadResult, ReplicaLaunch, ServiceSpec } from '../spec/types.js';
import { findEscaped, newNonce, NONCE_VAR, SPEC_HASH_VAR } from '../state/orphans.js';
import { Reason, type EventBody } from './events.js';
import { fold, type NotifyReport, type Observed } from './observe.js';
import type { NotifySeam } from '../notify/wire.js';
import { isLive, planKey, type ByService } from './plan.js';
import { LaunchStore } from './launches.js';
import { ProbeSet } from './probes.js';
import { WorkQueue } from './queue.js';
import { UsageSampler } from './sampler.js';
import { withOneShape, type Action, type DesiredState, type Instance } from './types.js';
import { steadyNow } from '../util/clock.js';

export interface ControllerOptions {
  source: SpecSource;
  runtime: Runtime;
  /** Where events go (the event log): typed, stamped there. */
  emit: (event: EventBody) => void;
  log: Logger;
  /** `.tend/logs`: replica logs go to `<logDir>/<svc>/<n>.log`. */
  logDir: string;
  /** The environment replicas inherit before their own `env`. */
  baseEnv?: Record<string, string | undefined>;
  /** How often CPU and memory are sampled (while needed), limits checked and logs rotated. */
  statsIntervalMs?: number;
  metrics?: { observePass(seconds: number): void; probeFailure(service: string, probe: 'readiness' | 'liveness'): void };
  /** Called after every change of observed state (the state file writer hooks in here). */
  onChange?: () => void;
  /** Called after the specs were re-read and changed (the watcher follows env files from here). */
  onLoaded?: (load: LoadResult) => void;
  random?: () => number;
  now?: () => number;
  /** Plans that take at least this long (ms) pace their service (PACE_*; tests lower it). */
  paceMinCostMs?: number;
  /** Each service reconciled (tests and the bench count the work an event costs). */
  onReconcile?: (service: string) => void;
  /** notify (DESIGN §9): replicas get its sockets at spawn and leave it when their process goes. */
  notify?: NotifySeam;
}

/** How often every service is reconciled even if nothing asked: the level-triggered safety net. */
const RESYNC_MS = 60_000;

/** A pass hands the event loop back after this long. A cold start of 5000 replicas is a minute of
 *  spawning: in one pass, exits, the API, signals and the daemon's log all waited for its end
 *  (and the log dropped what did not fit its buffer). The keys left are queued again. */
const PASS_BUDGET_MS = 50;
/** At shutdown, what keeps replicas running is tend's own bookkeeping: a pass issues every stop it
 *  can (5000 in ~230 ms) before the exits it causes are folded in. In 50 ms passes, each followed
 *  by the exits of the last, stopping 5000 took ~1 s against ~0.45 s for a bare loop
 *  (bench/FINDINGS.md §15). Bounded all the same: the API and signals wait for a pass. */
const SHUTDOWN_PASS_BUDGET_MS = 1000;

/** A service whose plan took at least PACE_MIN_COST_MS is planned again no sooner than PACE_FACTOR
 *  times that long after (at most PASS_BUDGET_MS): at most ~5% of the loop goes to re-planning one
 *  service, however fast its events come. A plan of 5000 replicas takes 0.3–1.5 ms, and during a
 *  cold start of 5000 the helpers' replies made 1450 of them: 3 of the daemon's 4.2 s of CPU.
 *  Smaller services plan in microseconds and are never held back. Events are not lost meanwhile:
 *  they are folded into the state at once; the plan reads it all when it comes. */
const PACE_MIN_COST_MS = 0.2;
const PACE_FACTOR = 20;

/** Passes closer together than this are one stretch of work (lastBusyMs). */
const BUSY_GAP_MS = 500;

export class Controller {
  /** Every instance by id. Read-only outside: written through put/drop only. */
  readonly instances = new Map<string, Instance>();
  /** The same instances by service, so that reconciling one service reads only its own. */
  private readonly byService = new Map<string, Map<string, Instance>>();
  /** Per service: when (on this.now's clock) it may be planned again, after a costly plan. */
  private readonly pacedUntil = new Map<string, number>();
  private readonly paceMinCostMs: number;
  /** How many instances each slot (`service/index`) holds: its log is watched while any does.
   *  Looked for among the service's instances instead, each drop of a fleet's stop was O(N). */
  private readonly perSlot = new Map<string, number>();
  private desired: DesiredState = { services: new Map(), blocked: new Map(), shuttingDown: false, held: new Set() };
  /** Who depends on each service (from the specs in force). */
  private dependents = new Map<string, Set<string>>();
  private loaded?: LoadResult;
  private problems: SpecProblem[] = [];
  private readonly waiting = new Map<string, string>();
  private readonly queue: WorkQueue;
  private readonly probes: ProbeSet;
  private readonly sampler: UsageSampler;
  private readonly launches: LaunchStore;
  private seq = 0;
  private specDirty = true;
  private preloaded?: Preloaded;
  private firstLoadOver: () => void = () => {};
  /** Settles once the first read of the spec is over (loaded, or the source failed): commands that
   *  name a service must not get "unknown service" from a daemon that has not read its files yet. */
  readonly firstLoad = new Promise<void>((resolve) => (this.firstLoadOver = resolve));
  private scheduled = false;
  private passing = false;
  private closed = false;
  private resync?: NodeJS.Timeout;
  private readonly idleWaiters: (() => void)[] = [];
  private readonly random: () => number;
  private readonly now: () => number;
  private usageSamples = 0;
  private lastPass = Number.NEGATIVE_INFINITY;
  /** When the current stretch of passes began: passes less than BUSY_GAP_MS apart are one stretch. */
  private busySince = Number.NEGATIVE_INFINITY;
  /** The specs of a reload whose live changes wait for the pass after it (applyPendingLive). */
  private pendingLive?: ReadonlyMap<string, ServiceSpec>;
  private usageWanted: (service: string) => boolean = () => false;
  /** Rotates replica logs promptly and keeps their time index (runtime/log-rotator.ts). */
  private readonly logs = new LogRotator({ onError: (path, err) => this.opts.log.warn({ err }, `cannot rotate ${path}`) });

  constructor(private readonly opts: ControllerOptions) {
    this.random = opts.random ?? Math.random;
    this.launches = new LaunchStore(this.opts.baseEnv ?? process.env);
    this.now = opts.now ?? steadyNow;
    this.paceMinCostMs = opts.paceMinCostMs ?? PACE_MIN_COST_MS;
    this.queue = new WorkQueue(() => this.schedule(), this.now);
    this.probes = new ProbeSet((id, kind, state, prev) => this.onProbe(id, kind, state, prev));
    this.sampler = new UsageSampler({
      intervalMs: opts.statsIntervalMs ?? 5000,
      targets: () =>
        [...this.instances.values()]
          .filter((i) => i.pgid !== undefined && isLive(i) && i.state !== 'stopping')
          .map((i) => ({ id: i.id, pgid: i.pgid!, limited: this.needsUsage(i) })),
      onSample: (id, usage) => this.observeUsage(id, usage),
      onError: (err) => opts.log.warn({ err }, 'stats sample failed'),
      ...(opts.now ? { now: opts.now } : {}),
    });
  }

  /** Starts the loop, with a first read of the specs (`preloaded`, if one was started, as in
   *  markSpecDirty). Adopted instances, if any, must be added before. */
  start(preloaded?: Preloaded): void {
    this.markSpecDirty(preloaded);
    this.sampler.start();
    this.resync = setInterval(() => this.enqueueAll(), RESYNC_MS);
    this.resync.unref();
  }

  /** The specs changed on disk (or may have): re-read them, or take `preloaded` (a read the
   *  watcher had started before its window closed, spec/preload.ts) if it was made from the load
   *  in force. Without it (SIGHUP, `tend reload`), the files are read afresh. */
  markSpecDirty(preloaded?: Preloaded): void {
    this.specDirty = true;
    this.preloaded = preloaded;
    this.schedule();
  }

  /** Ask for a reconcile of every service (cheap and idempotent). */
  kick(): void {
    this.enqueueAll();
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

  /** Counts usage samples taken: whoever derives something from usage knows when to look again. */
  get usageVersion(): number {
    return this.usageSamples;
  }

  /** The last usage sample of an instance (refreshUsage() first for current figures). */
  usageOf(id: string): GroupUsage | undefined {
    return this.instances.get(id)?.usage;
  }

  /** A reader (status, top, /metrics, the dashboard) is about to read usage: sample now unless a
   *  sample is recent; resolves once the figures are in. Readers are the only reason to scan a
   *  replica without limits or alerts. */
  refreshUsage(): Promise<void> {
    return this.sampler.refresh();
  }

  /** Services whose CPU and memory must be sampled even with no reader (their alerts need them).
   *  Set by whoever evaluates alerts; limits are known here. */
  setUsageWanted(wanted: (service: string) => boolean): void {
    this.usageWanted = wanted;
    // The timer wakes only if a service now needs samples. Set on every spec load, an unconditional
    // wake-up walked all 5000 replicas (~3 ms) to find none, while a new replica's fork was
    // answered. A replica still running an older spec with limits keeps the timer running itself.
    for (const spec of this.desired.services.values()) {
      if (this.needsUsage({ spec, service: spec.name })) return this.sampler.poke();
    }
  }

  private needsUsage(i: Pick<Instance, 'spec' | 'service'>): boolean {
    return i.spec.limits.memoryBytes > 0 || i.spec.limits.cpuPercent > 0 || this.usageWanted(i.service);
  }

  /** Before a reader reads these logs' history from disk: their pending index records written. */
  flushLogIndex(paths: Iterable<string>): void {
    for (const path of paths) this.logs.flushIndex(path);
  }

  /** When (this.now()) the loop last reconciled anything: the memory reducer waits for quiet. */
  get lastPassAt(): number {
    return this.lastPass;
  }

  /** How long the last stretch of passes lasted (ms): a cold start's passes come every few
   *  milliseconds for seconds; an edit's or a crash's is one pass or a few. */
  get lastBusyMs(): number {
    return this.lastPass - this.busySince;
  }

  /** The resolved launch of a live replica (inspect, exec, notify). */
  launchOf(id: string): ReplicaLaunch | undefined {
    return this.launches.get(id);
  }

  /** Stops everything, dependents first; resolves once no replica has a process left. */
  async shutdown(): Promise<void> {
    this.desired = { ...this.desired, shuttingDown: true };
    this.enqueueAll();
    await this.until(() => {
      for (const i of this.instances.values()) if (isLive(i)) return false; // no copy of 5000 per pass
      return true;
    });
  }

  /** Second Ctrl-C: SIGKILL every group now, without waiting for stop timeouts. */
  forceKill(): void {
    for (const i of this.instances.values()) {
      const h = handleOf(i);
      try {
        if (h) this.opts.runtime.signal(h, 'SIGKILL');
      } catch (err) {
        // EPERM on one group must not keep the others from being killed.
        this.opts.log.warn({ err }, `cannot kill ${i.id}: ${errorMessage(err)}`);
      }
    }
  }

  /** Stops timers and probes; replicas keep running (they outlive tend by design). */
  close(): void {
    this.closed = true;
    this.firstLoadOver();
    this.queue.close();
    this.sampler.close();
    clearInterval(this.resync);
    this.probes.stopAll();
    this.logs.close();
  }

  // ---- what an earlier tend left (state/adoption.ts decides; the daemon calls these) ---------

  /** Adds a replica found alive from an earlier run of tend. */
  adopt(inst: Omit<Instance, 'id'>, handle: ProcessHandle): boolean {
    const id = this.nextId(inst.service, inst.index);
    if (!this.opts.runtime.adopt(handle, this.exitObserver(id))) return false;
    // notify: the same token (from the state file) and socket path, so that it carries on talking.
    const talk = this.opts.notify?.attach({ ...inst, id, pgid: handle.pgid });
    this.put({ ...inst, id, state: 'starting', ...(talk ? { notify: talk.notify } : {}) });
    this.logs.track(logPath(this.opts.logDir, inst.service, inst.index), inst.spec.logs);
    this.observe(id, { kind: 'spawned', handle, adopted: true });
    if (this.needsUsage(inst)) this.sampler.poke();
    return true;
  }

  /** A recorded replica that exited while no tend watched it: judged as its exit would have been
   *  (a finished job is completed and not run again; an unknowable exit is not re-run either). */
  restoreExited(inst: Omit<Instance, 'id' | 'state' | 'ready'>, exit: ExitStatus): void {
    const id = this.nextId(inst.service, inst.index);
    this.put({ ...inst, id, state: 'running', ready: false });
    this.observe(id, { kind: 'exited', exit, away: true });
  }

  /** A job that completed under an earlier tend (state.json): it stays completed. */
  restoreCompleted(service: string, index: number, spec: ServiceSpec, completedAt: number): void {
    const id = this.nextId(service, index);
    this.put({ id, service, index, spec, state: 'completed', ready: false, restarts: 0, deaths: [], streak: 0, completedAt, exitCode: 0 });
  }

  /** The services the previous daemon had in force (their last good specs) and its holds: the
   *  starting point, so that a first load that is not clean keeps them as a running daemon would. */
  seed(specs: readonly ServiceSpec[], held: readonly string[] = []): void {
    this.desired = { ...this.desired, held: new Set(held) };
    if (specs.length === 0) return;
    const files = new Map<string, string[]>();
    for (const s of specs) files.set(s.file, [...(files.get(s.file) ?? []), s.name]);
    this.loaded = { services: [...specs], problems: [], files, fingerprint: '' };
    this.setDesired(new Map(specs.map((s) => [s.name, s])), graphIssues(specs).blocked);
  }

  // ---- operator commands (run-time operations on replicas, never desired state) --------------

  /** Manual restart: replace by the update strategy, resetting crash-loop counters. */
  restart(service: string, index?: number): void {
    for (const i of this.select(service, index)) {
      if (i.state === 'failed' || i.state === 'backoff' || i.state === 'completed' || i.state === 'stopped') this.drop(i.id);
      else if (i.state !== 'stopping') this.observe(i.id, { kind: 'restart-requested' });
    }
    this.opts.emit({ type: 'service.restarting', service, ...(index === undefined ? {} : { replica: index }), reason: Reason.RestartRequested, message: 'restart requested' });
    this.enqueue(service);
  }

  pause(service: string, index?: number): void {
    for (const i of this.select(service, index)) {
      const h = handleOf(i);
      if (!h || (i.state !== 'running' && i.state !== 'starting')) continue;
      this.opts.runtime.signal(h, 'SIGSTOP');
      this.observe(i.id, { kind: 'paused' });
    }
  }

  resume(service: string, index?: number): void {
    for (const i of this.select(service, index)) {
      const h = handleOf(i);
      if (!h || i.state !== 'paused') continue;
      this.opts.runtime.signal(h, 'SIGCONT');
      this.observe(i.id, { kind: 'resumed' });
    }
  }

  kill(service: string, index: number | undefined, signal: NodeJS.Signals): void {
    for (const i of this.select(service, index)) {
      const h = handleOf(i);
      if (!h) continue;
      this.opts.runtime.signal(h, signal);
      this.observe(i.id, { kind: 'signalled', signal });
    }
  }

  /** `tend stop` (true) / `tend start` (false): a run-time hold the planner sees. */
  hold(service: string, on: boolean): void {
    const held = new Set(this.desired.held ?? []);
    if (on === held.has(service)) return;
    if (on) held.add(service);
    else held.delete(service);
    this.desired = { ...this.desired, held };
    this.opts.emit(on
      ? { type: 'service.held', service, reason: Reason.Held, message: 'stopped by `tend stop`; `tend start` lifts it' }
      : { type: 'service.released', service, reason: Reason.Held, message: 'started by `tend start`' });
    this.enqueue(service);
    this.opts.onChange?.();
  }

  get holds(): ReadonlySet<string> {
    return this.desired.held ?? new Set();
  }

  /** Instances of a service, or of one replica index; live and terminal alike. */
  select(service: string, index?: number): Instance[] {
    return [...this.instancesOf(service)].filter((i) => index === undefined || i.index === index);
  }

  /** The instances of a service, live and terminal alike, without a copy (a reader that only
   *  iterates, as the alert evaluator does ten times a second during a burst of exits). */
  instancesOf(service: string): Iterable<Instance> {
    return this.byService.get(service)?.values() ?? [];
  }

  /** A report from a replica itself (notify): folded like every other observation. */
  report(id: string, ev: NotifyReport): void {
    this.observe(id, ev);
  }

  // ---- the inlet ---------------------------------------------------------------------------

  /** Everything tend learns about an instance comes in here. */
  observe(id: string, ev: Observed): void {
    const before = this.instances.get(id);
    if (!before) return;
    const seen = ev.kind === 'exited' && this.desired.shuttingDown ? { ...ev, shutdown: true } : ev;
    const { next, events } = fold(before, seen, this.now(), this.random());
    if (next !== before) this.put(next);
    for (const e of events) this.opts.emit(e);
    if (next === before && events.length === 0) return;
    this.afterTransition(before, next);
    this.changed(next.service, next);
  }

  /** Effects that follow a transition: probes start with a process and stop with it; whatever an
   *  exited leader left in its group goes with it (systemd's KillMode=control-group). */
  private afterTransition(before: Instance, after: Instance): void {
    const wasLive = isLive(before) && before.state !== 'stopping';
    const isUp = isLive(after) && after.state !== 'stopping';
    if (!isUp && wasLive) {
      this.probes.stop(after.id);
      this.opts.notify?.quiet(after.id); // notify: no watchdog or start-up deadline while it stops
    }
    // notify: a replica being stopped may still say STOPPING=1 and STATUS= while it drains (its
    // SIGTERM handler); systemd keeps the socket until the service is gone. Its token and sockets
    // go once its process group has (the stop's end), or with a process that never ran.
    if (isLive(before) && !isLive(after)) this.opts.notify?.detach(after.id);
    // notify: a paused replica cannot speak; its watchdog starts afresh once it runs again.
    if (after.state === 'paused' && before.state !== 'paused') this.opts.notify?.pause(after.id);
    if (before.state === 'paused' && isUp) this.opts.notify?.resume(after.id);
    if (before.pid !== undefined && after.pid === undefined) {
      this.launches.delete(after.id);
      if (before.state !== 'stopping') {
        const h = handleOf(before);
        if (h) void this.opts.runtime.stop(h, before.spec.stopSignal, before.spec.stopTimeoutMs).catch(() => undefined);
      }
      this.stopEscaped(before);
    }
    if (after.state === 'starting' || (after.state === 'running' && before.state === 'starting' && before.pid === undefined)) {
      if (after.pid !== undefined) this.startProbes(after);
    }
  }

  private observeUsage(id: string, usage: GroupUsage): void {
    const before = this.instances.get(id);
    if (!before) return;
    this.usageSamples++;
    const { next, events } = fold(before, { kind: 'usage', usage }, this.now(), this.random());
    this.put(next);
    // A sample alone changes nothing worth a reconcile; one that trips a limit does.
    if (events.length === 0) return;
    for (const e of events) this.opts.emit(e);
    this.changed(next.service, next);
  }

  private onProbe(id: string, kind: 'readiness' | 'liveness', state: ProbeState, prev: ProbeState): void {
    const inst = this.instances.get(id);
    if (!inst || !isLive(inst) || inst.state === 'stopping') return;
    if (state.status === 'failure' && prev.status !== 'failure') this.opts.metrics?.probeFailure(inst.service, kind);
    this.observe(id, { kind: 'probe', probe: kind, state, prev });
  }

  // ---- the loop ------------------------------------------------------------------------------

  private schedule(): void {
    if (this.scheduled || this.closed) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      void this.loop();
    });
  }

  private async loop(): Promise<void> {
    if (this.passing) return;
    this.passing = true;
    try {
      for (;;) {
        if (this.specDirty && !this.desired.shuttingDown) {
          this.specDirty = false;
          await this.reload().finally(this.firstLoadOver);
        }
        const keys = this.queue.take();
        if (keys.length === 0 || this.closed) break;
        const at = this.now();
        if (at - this.lastPass > BUSY_GAP_MS) this.busySince = at;
        this.lastPass = at;
        const started = performance.now();
        const deadline = started + (this.desired.shuttingDown ? SHUTDOWN_PASS_BUDGET_MS : PASS_BUDGET_MS);
        let done = true;
        for (const key of keys) {
          // Out of time: the keys left wait for the next turn of the event loop.
          if (!done || performance.now() > deadline) {
            this.queue.add(key);
            done = false;
            continue;
          }
          const until = this.pacedUntil.get(key);
          if (until !== undefined) {
            if (this.now() < until) {
              this.queue.addAt(key, until);
              continue;
            }
            this.pacedUntil.delete(key);
          }
          done = this.reconcile(key, deadline);
        }
        this.applyPendingLive();
        this.opts.metrics?.observePass((performance.now() - started) / 1000);
        if (!done) break;
      }
    } catch (err) {
      // A reconcile must never take the daemon down: log, and try every key again a little later.
      this.opts.log.error({ err }, 'reconcile failed');
      setTimeout(() => this.enqueueAll(), 1000).unref();
    } finally {
      this.passing = false;
    }
    this.applyPendingLive(); // a reload that queued no pass
    if (this.specDirty || this.queue.size > 0) this.schedule();
    const waiters = this.idleWaiters.splice(0);
    for (const w of waiters) w();
  }

  /** One service: plan it against its own state (and its dependencies'), then apply. Past the
   *  pass's deadline the rest of the plan is left: the key is queued again and planned afresh
   *  (level-triggered, the actions applied are already in its state). False when it stopped early. */
  private reconcile(name: string, deadline: number): boolean {
    this.opts.onReconcile?.(name);
    const now = this.now();
    const t0 = performance.now();
    const p = planKey(name, this.desired, this.view(), now);
    const cost = performance.now() - t0;
    if (p.waiting) this.waiting.set(name, p.waiting);
    else this.waiting.delete(name);
    if (p.wakeAt !== undefined) this.queue.addAt(name, p.wakeAt);
    for (let k = 0; k < p.actions.length; k++) {
      this.apply(p.actions[k]!);
      if (k < p.actions.length - 1 && performance.now() > deadline) {
        this.queue.add(name); // the rest at once, not paced: a cold start goes on
        return false;
      }
    }
    if (cost >= this.paceMinCostMs) this.pacedUntil.set(name, now + Math.min(PASS_BUDGET_MS, Math.max(1, Math.ceil(cost * PACE_FACTOR))));
    return true;
  }

  /** The instances by service, read lazily: a reconcile touches only the services it asks for.
   *  Each service's map is in creation order, so the instances of a slot come oldest first, as
   *  the planner needs (twins keep the older); no sort. */
  private view(): ByService {
    const byService = this.byService;
    return {
      get: (name: string) => {
        const m = byService.get(name);
        if (!m || m.size === 0) return undefined;
        return [...m.values()];
      },
      keys: () => [...byService.keys()].filter((k) => (byService.get(k)?.size ?? 0) > 0),
    };
  }

  /** Services queued for a reconcile, now or for later (a loop with none is quiet: tests). */
  get queued(): number {
    return this.queue.pending;
  }

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

  private enqueue(service: string): void {
    this.queue.add(service);
  }

  private enqueueAll(): void {
    for (const name of this.desired.services.keys()) this.queue.add(name);
    for (const name of this.byService.keys()) this.queue.add(name);
  }

  /** Something of `service` changed (its spec, or the instance `inst`): it, its dependents (their
   *  conditions) and its dependencies (the stop order of leaving services) are reconciled again. */
  private changed(service: string, inst?: Readonly<Instance>): void {
    this.enqueue(service);
    for (const d of this.dependents.get(service) ?? []) this.enqueue(d);
    const spec = this.desired.services.get(service);
    if (spec) for (const dep of Object.keys(spec.dependsOn)) this.enqueue(dep);
    if (!spec || this.desired.shuttingDown) {
      // A leaving service: the services it depended on may now stop. What an instance's change
      // can unblock is what that instance depended on; walking every instance on each of their
      // exits made stopping 5000 replicas quadratic.
      const leaving = inst ? [inst] : (this.byService.get(service)?.values() ?? []);
      for (const i of leaving) for (const dep of Object.keys(i.spec.dependsOn)) this.enqueue(dep);
    }
    this.opts.onChange?.();
  }

  // ---- desired state -------------------------------------------------------------------------

  private async reload(): Promise<void> {
    const prev = this.loaded;
    const pre = this.preloaded;
    this.preloaded = undefined;
    let next: LoadResult;
    try {
      next = await (pre !== undefined && pre.previous === prev ? pre.result : this.opts.source.load(prev));
    } catch (err) {
      // The source itself failed: keep everything as it is.
      this.opts.log.warn({ err }, `cannot read ${this.opts.source.describe()}: ${errorMessage(err)}`);
      return;
    }
    if (prev && prev.fingerprint === next.fingerprint) return;
    this.loaded = next;

    const services = new Map(next.services.map((s) => [s.name, s]));
    const before = this.desired.services;
    const oldProblems = new Set(this.problems.map(problemKey));
    this.problems = next.problems;
    for (const p of next.problems) {
      if (oldProblems.has(problemKey(p))) continue;
      this.opts.emit({ type: 'spec.invalid', ...(p.service ? { service: p.service } : {}), reason: Reason.SpecInvalid, message: p.message, detail: `${p.file}:${p.line}:${p.column}` });
    }
    for (const [name, spec] of services) {
      const old = before.get(name);
      if (old && old.replicas !== spec.replicas) {
        this.opts.emit({ type: 'service.scaled', service: name, message: `${old.replicas} → ${spec.replicas}`, from: old.replicas, to: spec.replicas });
      }
    }
    // Subscribers read the desired state on spec.loaded (hooks follow it): announce it once set.
    this.setDesired(services, graphIssues(next.services).blocked);
    this.opts.emit({ type: 'spec.loaded', reason: Reason.SpecLoaded, message: `${services.size} services, ${next.problems.length} problems` });
    for (const name of new Set([...before.keys(), ...services.keys()])) {
      if (before.get(name) !== services.get(name)) this.changed(name);
    }
    // Applied after the pass that follows (applyPendingLive): the pass starts what the new specs
    // ask for first. The running replicas' live settings are not what it plans by (it reads the
    // desired spec), and at 5000 replicas applying them took ~5 ms of a new replica's latency.
    this.pendingLive = services;
    this.opts.onLoaded?.(next);
  }

  /** The live changes of the last reload, if not applied yet; their services are planned again. */
  private applyPendingLive(): void {
    const services = this.pendingLive;
    if (!services) return;
    this.pendingLive = undefined;
    // changed(): a replica made ready by a probe removed live can let dependents start.
    for (const name of this.applyLiveChanges(services)) this.changed(name);
  }

  private setDesired(services: Map<string, ServiceSpec>, blocked: ReadonlyMap<string, string>): void {
    this.desired = { ...this.desired, services, blocked };
    const dependents = new Map<string, Set<string>>();
    for (const s of services.values()) {
      for (const dep of Object.keys(s.dependsOn)) {
        const set = dependents.get(dep) ?? new Set<string>();
        set.add(s.name);
        dependents.set(dep, set);
      }
    }
    this.dependents = dependents;
  }

  /** Probes, restart policy, back-off, limits and stop settings apply to running replicas at once:
   *  an instance whose process-shaping hash is unchanged simply takes the new spec. */
  private applyLiveChanges(services: ReadonlyMap<string, ServiceSpec>): Set<string> {
    // Whether the probes changed, once per pair of specs: a scale of 5000 replicas must not
    // expand 5000 environments again to find that they did not.
    const probesChanged = new Map<ServiceSpec, boolean>();
    // A scale changes nothing a running replica runs by: it keeps its spec object. At 5000
    // replicas, rewriting them for one added replica cost 7 ms, and 20 ms more to serialise their
    // state records again (the state text is cached per instance object).
    const scaledOnly = new Map<ServiceSpec, boolean>();
    const touched = new Set<string>();
    for (const i of this.instances.values()) {
      const spec = services.get(i.service);
      if (!spec || spec === i.spec || spec.hash !== i.spec.hash) continue;
      let scaled = scaledOnly.get(i.spec);
      if (scaled === undefined) scaledOnly.set(i.spec, (scaled = differOnlyInReplicas(i.spec, spec)));
      if (scaled) continue;
      touched.add(i.service);
      const next: Instance = !spec.readiness && i.spec.readiness && (i.state === 'starting' || i.state === 'running')
        ? { ...i, spec, state: 'running', ready: !spec.oneshot, readiness: undefined }
        : { ...i, spec };
      this.put(next);
      if (next.ready && !i.ready) {
        this.opts.emit({ type: 'replica.ready', service: i.service, replica: i.index, ...(i.pid !== undefined ? { pid: i.pid } : {}), reason: Reason.SpecChanged, message: 'readiness probe removed: ready at once' });
      }
      // notify: the start-up timeout applies live, to a replica already waiting for READY.
      if (next.spec.notify?.readyTimeoutMs !== i.spec.notify?.readyTimeoutMs && i.state !== 'stopping' && isLive(i)) this.opts.notify?.respec(next);
      let changed = probesChanged.get(i.spec);
      if (changed === undefined) probesChanged.set(i.spec, (changed = !sameProbes(i.spec, spec)));
      if (!changed) continue;
      this.refreshProbeLaunch(next);
      if (isLive(i) && i.state !== 'stopping' && next.pid !== undefined) this.startProbes(next);
    }
    return touched;
  }

  /** The cached launch keeps the replica's environment (its nonce, its notify token) but must take
   *  the new spec's probes: without this a probe added live never ran. */
  private refreshProbeLaunch(inst: Instance): void {
    const cached = this.launches.get(inst.id);
    if (!cached) return;
    let fresh: ReplicaLaunch;
    try {
      fresh = this.expand(inst);
    } catch {
      return; // the same process-shaping hash expanded before; keep what runs
    }
    const { readiness: _r, liveness: _l, ...rest } = cached;
    this.launches.set(inst.id, { ...rest, ...(fresh.readiness ? { readiness: fresh.readiness } : {}), ...(fresh.liveness ? { liveness: fresh.liveness } : {}) });
  }

  // ---- apply ---------------------------------------------------------------------------------

  private apply(a: Action): void {
    switch (a.kind) {
      case 'start':
        return this.startInstance(a);
      case 'stop':
        return this.stopInstance(a);
      case 'forget':
        return this.drop(a.id);
      case 'ready':
        return this.observe(a.id, { kind: 'stable' });
      default:
        return assertNever(a);
    }
  }

  private startInstance(a: Extract<Action, { kind: 'start' }>): void {
    const prev = a.continues ? this.instances.get(a.continues) : undefined;
    if (a.supersedes) this.drop(a.supersedes);
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
      nonce: newNonce(),
    };
    // notify (DESIGN §9): registered before the spawn, so that nothing the replica says is lost.
    const talk = this.opts.notify?.attach(inst);
    if (talk) inst.notify = talk.notify;
    this.put(inst);
    let launch: ReplicaLaunch;
    try {
      launch = this.expand(inst);
      // Lets a later tend adopt it by its environment alone, should the state file miss it, and
      // tell it from its descendants (state/orphans.ts).
      launch.env[SPEC_HASH_VAR] = a.spec.hash;
      launch.env[NONCE_VAR] = inst.nonce!;
      if (talk) Object.assign(launch.env, talk.env);
    } catch (err) {
      this.observe(id, { kind: 'spawn-failed', reason: errorMessage(err), permanent: true });
      return;
    }
    this.launches.set(id, launch);
    const who = { service: a.service, replica: a.index, reason: a.reason, message: a.message };
    this.opts.emit(prev ? { type: 'replica.restarting', ...who } : { type: 'replica.starting', ...who });
    this.logs.prepareRun(logPath(this.opts.logDir, a.service, a.index), a.spec.logs);
    const onExit = this.exitObserver(id);
    const start = () => this.opts.runtime.start({ launch, logFile: logPath(this.opts.logDir, a.service, a.index), ...(a.spec.user ? { user: a.spec.user } : {}) }, onExit);
    // notify: a NOTIFY_SOCKET listens before the process runs (at once when it has none).
    (talk?.bound ? talk.bound.catch(() => undefined).then(start) : start())
      .then((result) => this.onStarted(id, result))
      .catch((err) => this.opts.log.error({ err }, `start of ${id} failed`));
  }

  /** Made apart from startInstance: a closure made there would share its scope, and so keep the
   *  launch (a copy of the environment) alive for as long as the process runs. */
  private exitObserver(id: string): (status: ExitStatus) => void {
    return (status) => this.observe(id, { kind: 'exited', exit: status });
  }

  private onStarted(id: string, result: StartResult): void {
    const inst = this.instances.get(id);
    if (!inst) return;
    if (!result.ok) return this.observe(id, { kind: 'spawn-failed', reason: result.reason, permanent: result.permanent });
    // A new run begins here: the separator in its log.
    if (result.logOffset !== undefined) this.logs.runStarted(logPath(this.opts.logDir, inst.service, inst.index), result.logOffset);
    const h = result.handle;
    if (inst.state === 'stopping') {
      // Stopped (shutdown, scale-down) while the spawn was in flight: stop it now.
      this.put({ ...inst, pid: h.pid, pgid: h.pgid, procStart: h.startTime, startedAt: h.startedAt });
      this.beginStop(id);
      return;
    }
    this.observe(id, { kind: 'spawned', handle: h });
    // The sampler's timer sleeps while no replica needs it; one that does wakes it.
    if (this.needsUsage(inst)) this.sampler.poke();
  }

  private stopInstance(a: Extract<Action, { kind: 'stop' }>): void {
    const inst = this.instances.get(a.id);
    if (!inst || inst.state === 'stopping') return;
    this.observe(a.id, { kind: 'stopping', intent: a.intent, reason: a.reason, message: a.message });
    if (inst.pid !== undefined) this.beginStop(a.id);
  }

  private beginStop(id: string): void {
    const inst = this.instances.get(id);
    const h = inst && handleOf(inst);
    if (!inst || !h) return;
    this.opts.runtime
      .stop(h, inst.spec.stopSignal, inst.spec.stopTimeoutMs)
      .then((res) => this.observe(id, { kind: 'stopped', killed: res.killed, at: this.now() }))
      .catch((err) => {
        this.opts.log.error({ err }, `stop of ${id} failed`);
        this.observe(id, { kind: 'stop-failed', error: errorMessage(err) });
      });
  }

  /** `stop_escaped: kill`: processes the replica started that left its group go with it. */
  private stopEscaped(inst: Instance): void {
    if (inst.spec.stopEscaped !== 'kill' || inst.nonce === undefined) return;
    for (const g of findEscaped(inst.nonce, inst.pgid ?? -1)) {
      const h = { pid: g.pgid, pgid: g.pgid, startTime: g.startTime, startedAt: 0 };
      void this.opts.runtime.stop(h, inst.spec.stopSignal, inst.spec.stopTimeoutMs).catch(() => undefined);
    }
  }

  private startProbes(inst: Instance): void {
    // Most replicas have no probe: their launch is not read back (a copy of the environment each).
    if (!inst.spec.readiness && !inst.spec.liveness && !this.probes.has(inst.id)) return;
    let launch = this.launches.get(inst.id);
    if (!launch) this.launches.set(inst.id, (launch = this.expand(inst))); // adopted: none kept yet
    this.probes.sync(inst.id, launch, inst.spec.user, inst.startedAt ?? this.now());
  }

  private expand(inst: Instance): ReplicaLaunch {
    return expandReplica(inst.spec, inst.index, this.launches.base, inst.spec.user === undefined ? undefined : accountEnvOf(inst.spec.user));
  }

  // ---- the store -----------------------------------------------------------------------------

  private put(instance: Instance): void {
    const i = withOneShape(instance);
    if (!this.instances.has(i.id)) {
      const slot = `${i.service}/${i.index}`;
      this.perSlot.set(slot, (this.perSlot.get(slot) ?? 0) + 1);
    }
    this.instances.set(i.id, i);
    let m = this.byService.get(i.service);
    if (!m) this.byService.set(i.service, (m = new Map()));
    m.set(i.id, i);
  }

  private drop(id: string): void {
    const i = this.instances.get(id);
    if (!i) return;
    this.probes.stop(id);
    this.opts.notify?.detach(id);
    this.launches.delete(id);
    this.instances.delete(id);
    const m = this.byService.get(i.service);
    m?.delete(id);
    if (m && m.size === 0) this.byService.delete(i.service);
    // The log is shared by every run in this slot: watched until the slot itself is gone.
    const slot = `${i.service}/${i.index}`;
    const left = (this.perSlot.get(slot) ?? 1) - 1;
    if (left > 0) this.perSlot.set(slot, left);
    else {
      this.perSlot.delete(slot);
      this.logs.untrack(logPath(this.opts.logDir, i.service, i.index));
    }
    this.changed(i.service, i);
  }

  private nextId(service: string, index: number): string {
    return `${service}/${index}#${++this.seq}`;
  }
}

function handleOf(i: Instance): ProcessHandle | undefined {
  if (i.pid === undefined || i.pgid === undefined || i.procStart === undefined) return undefined;
  return { pid: i.pid, pgid: i.pgid, startTime: i.procStart, startedAt: i.startedAt ?? 0 };
}

function sameProbes(a: ServiceSpec, b: ServiceSpec): boolean {
  return JSON.stringify([a.readiness, a.liveness]) === JSON.stringify([b.readiness, b.liveness]);
}

function problemKey(p: SpecProblem): string {
  return `${p.file}:${p.line}:${p.column}:${p.message}`;
}

/** Whether two specs of one service differ in nothing but `replicas` (compared as the state file
 *  stores them). */
function differOnlyInReplicas(a: ServiceSpec, b: ServiceSpec): boolean {
  return a.hash === b.hash && JSON.stringify({ ...a, replicas: 0 }) === JSON.stringify({ ...b, replicas: 0 });
}
