// Prometheus metrics for /metrics, in prom-client (loaded after the daemon's first pass: metrics.ts).
// Gauges that describe the replicas are set from the status report at scrape time (level, not
// events: nothing can drift); the pass-duration histogram and the probe failure counter are fed by
// the controller and the probes as things happen; restarts and hook runs are counters fed by
// events. Checked with `promtool check metrics` (test/api/metrics-promtool.test.ts): only counters
// end in _total, and counters never go down.

import { Counter, Gauge, Histogram, Registry, loadDefaultMetrics } from './prom.js';
import type { StatusReport } from './types.js';

/** prom-client's defaults that promtool rejects (gauges named _total; tend_nodejs_active_handles,
 *  _requests and _resources say the same without the suffix) or that count from the moment they
 *  were registered rather than from the process start (its CPU counters, replaced below). */
const REPLACED_DEFAULTS = [
  'tend_nodejs_active_handles_total',
  'tend_nodejs_active_requests_total',
  'tend_nodejs_active_resources_total',
  'tend_process_cpu_user_seconds_total',
  'tend_process_cpu_system_seconds_total',
  'tend_process_cpu_seconds_total',
];

const REPLICA_STATES = [
  'pending',
  'starting',
  'running',
  'stopping',
  'stopped',
  'backoff',
  'failed',
  'completed',
  'paused',
] as const;

/** The notify hub's counters: the shape of NotifyHub.counters() (notify/hub.ts), which api/ does
 *  not import. */
export type NotifyCounters = { messages: Record<string, number>; dropped: Record<string, number> };

/** tend's metrics in a registry of their own, so two daemons in one test process never collide. */
export class PromMetrics {
  readonly registry = new Registry();
  private readonly replicas = this.gauge('tend_replicas', 'Replicas by service and state.', ['service', 'state']);
  private readonly ready = this.gauge('tend_service_ready_replicas', 'Replicas running and ready.', ['service']);
  private readonly desired = this.gauge('tend_service_desired_replicas', 'Replicas the spec asks for.', ['service']);
  private readonly restarts = this.counter('tend_service_restarts_total', 'Replicas of the service started again (after an exit, a failed probe, a limit or a manual restart) since tend started.', ['service']);
  private readonly cpu = this.gauge('tend_service_cpu_percent', 'CPU of all replicas (100 = one core), over the last sample interval.', ['service']);
  private readonly cpuSeconds = this.counter('tend_service_cpu_seconds_total', 'CPU seconds (user + system) used by the replicas of the service while tend watched them.', ['service']);
  private readonly memory = this.gauge('tend_service_memory_bytes', 'Resident memory of all replicas.', ['service']);
  private readonly specErrors = this.gauge('tend_spec_errors', 'Problems in the spec files.', []);
  private readonly converged = this.gauge('tend_converged', '1 when everything runs as the spec says.', []);
  private readonly passes = new Histogram({
    name: 'tend_reconcile_pass_duration_seconds',
    help: 'Duration of one reconcile pass (plan and apply).',
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
    registers: [this.registry],
  });
  private readonly probeFailures = this.counter('tend_probe_failures_total', 'Times a probe turned to failure (failure_threshold reached).', ['service', 'probe']);

  // ---- hooks and alerts (src/hooks, src/alerts) ----
  private readonly alertsFiring = this.gauge('tend_alerts_firing', 'Alerts firing now (1 per alert, service and replica).', ['alert', 'service', 'replica']);
  private readonly hookRuns = this.counter('tend_hook_runs_total', 'Hook runs that ended, by kind (command, webhook) and result (ok, failed).', ['kind', 'result']);
  private readonly hookDrops = this.counter('tend_hook_dropped_total', 'Hook runs dropped because the hook queue was full.', []);
  private readonly hookQueue = this.gauge('tend_hook_queue_length', 'Hook runs waiting for a slot.', []);

  // ---- the daemon's own process ----
  /** Last cpu_seconds seen per replica process (pid:started_at), so the counter only ever adds. */
  private cpuSeen = new Map<string, { service: string; seconds: number }>();

  private defaults?: Promise<void>;

  // ---- notify (DESIGN §9): the hub's counters, read at scrape time ----
  private readonly notifySeen = new Map<string, number>();
  private readonly notifyMessages = this.counter('tend_notify_messages_total', 'Messages replicas sent on the notify sockets and tend accepted, by kind.', ['kind']);
  private readonly notifyDropped = this.counter('tend_notify_dropped_total', 'Notify messages or connections refused, by reason (bad_token, malformed, rate_limited, ...).', ['reason']);

  /** `hookQueueLength`: runs waiting in the hook queue; `notifyCounters`: the notify hub's counts,
   *  if it has any. Both read at scrape time. */
  constructor(
    private readonly hookQueueLength: () => number,
    private readonly notifyCounters: () => NotifyCounters | undefined,
  ) {}

  private syncNotify(): void {
    const counters = this.notifyCounters();
    if (!counters) return;
    const { messages, dropped } = counters;
    const bump = (counter: Counter<string>, label: string, key: string, total: number) => {
      const seen = this.notifySeen.get(`${label}:${key}`) ?? 0;
      if (total > seen) counter.inc({ [label]: key }, total - seen);
      else if (seen === 0) counter.inc({ [label]: key }, 0); // every reason shows, at 0
      this.notifySeen.set(`${label}:${key}`, total);
    };
    for (const [kind, n] of Object.entries(messages)) bump(this.notifyMessages, 'kind', kind, n);
    for (const [reason, n] of Object.entries(dropped)) bump(this.notifyDropped, 'reason', reason, n);
  }

  /** Counts a replica of `service` started again. */
  restarted(service: string, n = 1): void {
    this.restarts.inc({ service }, n);
  }

  /** Counts a hook run that ended (HookMetricsSink). */
  hookRun(kind: 'command' | 'webhook', ok: boolean, n = 1): void {
    this.hookRuns.inc({ kind, result: ok ? 'ok' : 'failed' }, n);
  }

  /** Counts hook runs dropped on a full queue (HookMetricsSink). */
  hookDropped(n: number): void {
    this.hookDrops.inc(n);
  }

  /** Records how long one reconcile pass took. */
  observePass(seconds: number): void {
    this.passes.observe(seconds);
  }

  /** Counts a probe turning to failure. */
  probeFailure(service: string, probe: 'readiness' | 'liveness', n = 1): void {
    this.probeFailures.inc({ service, probe }, n);
  }

  /** The exposition text, with the per-service gauges set from `status`. */
  async render(status: StatusReport): Promise<string> {
    // Node's process metrics only once somebody scrapes, and their event-loop-lag monitor sampling
    // once a second: its default (10 ms) woke the daemon 100 times a second, measured at 1.8% of a
    // core at 1000 replicas (bench/FINDINGS.md), more than everything else tend does when idle.
    // Two scrapes at once both wait for the one registration.
    await (this.defaults ??= loadDefaultMetrics().then((collectDefaultMetrics) => {
      collectDefaultMetrics({ register: this.registry, prefix: 'tend_', eventLoopMonitoringPrecision: 1000 });
      for (const name of REPLACED_DEFAULTS) this.registry.removeSingleMetric(name);
      this.processCpuCounters();
    }));
    for (const g of [this.replicas, this.ready, this.desired, this.cpu, this.memory, this.alertsFiring]) g.reset();
    const seen = new Map<string, { service: string; seconds: number }>();
    for (const svc of status.services) {
      const counts = new Map<string, number>(REPLICA_STATES.map((s) => [s, 0]));
      for (const r of svc.replicas) counts.set(r.state, (counts.get(r.state) ?? 0) + 1);
      for (const [state, n] of counts) this.replicas.set({ service: svc.name, state }, n);
      this.ready.set({ service: svc.name }, svc.ready);
      this.desired.set({ service: svc.name }, svc.replicas_desired);
      // Every service's counters exist from the start, so rate() sees their first increase.
      this.restarts.inc({ service: svc.name }, 0);
      this.cpuSeconds.inc({ service: svc.name }, 0);
      if (svc.cpu !== null) this.cpu.set({ service: svc.name }, svc.cpu);
      if (svc.memory !== null) this.memory.set({ service: svc.name }, svc.memory);
      for (const r of svc.replicas) {
        if (r.cpu_seconds === null || r.cpu_seconds === undefined || r.pid === null) continue;
        const key = `${svc.name}/${r.pid}/${r.started_at}`;
        const before = this.cpuSeen.get(key)?.seconds ?? 0;
        // A member that exits takes its CPU time out of the group's sum: count only what was added.
        if (r.cpu_seconds > before) this.cpuSeconds.inc({ service: svc.name }, r.cpu_seconds - before);
        seen.set(key, { service: svc.name, seconds: Math.max(before, r.cpu_seconds) });
      }
    }
    this.cpuSeen = seen;
    for (const a of status.alerts ?? []) this.alertsFiring.set({ alert: a.alert, service: a.service, replica: String(a.replica) }, 1);
    this.hookQueue.set(this.hookQueueLength());
    this.specErrors.set(status.errors.length);
    this.converged.set(status.converged ? 1 : 0);
    this.syncNotify();
    return this.registry.metrics();
  }

  /** The daemon's CPU since its process started (prom-client's own counts from registration). */
  private processCpuCounters(): void {
    const seconds = (pick: (u: NodeJS.CpuUsage) => number) => () => pick(process.cpuUsage()) / 1e6;
    for (const [name, help, value] of [
      ['tend_process_cpu_user_seconds_total', 'User CPU time the tend daemon has used since it started.', seconds((u) => u.user)],
      ['tend_process_cpu_system_seconds_total', 'System CPU time the tend daemon has used since it started.', seconds((u) => u.system)],
      ['tend_process_cpu_seconds_total', 'CPU time (user + system) the tend daemon has used since it started.', seconds((u) => u.user + u.system)],
    ] as const) {
      new Counter({
        name,
        help,
        registers: [this.registry],
        collect() {
          this.reset();
          this.inc(value());
        },
      });
    }
  }

  private gauge<L extends string>(name: string, help: string, labelNames: L[]): Gauge<L> {
    return new Gauge({ name, help, labelNames, registers: [this.registry] });
  }

  private counter<L extends string>(name: string, help: string, labelNames: L[]): Counter<L> {
    return new Counter({ name, help, labelNames, registers: [this.registry] });
  }
}
