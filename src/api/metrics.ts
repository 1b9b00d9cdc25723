// Prometheus metrics for /metrics. Gauges that describe the replicas are set from the status report
// at scrape time (level, not events: nothing can drift); the pass-duration histogram and the probe
// failure counter are fed by the controller and the probes as things happen.

import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { StatusReport } from './types.js';

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

/** tend's metrics in a registry of their own, so two daemons in one test process never collide. */
export class TendMetrics {
  readonly registry = new Registry();
  private readonly replicas = this.gauge('tend_replicas', 'Replicas by service and state.', ['service', 'state']);
  private readonly ready = this.gauge('tend_service_ready_replicas', 'Replicas running and ready.', ['service']);
  private readonly desired = this.gauge('tend_service_desired_replicas', 'Replicas the spec asks for.', ['service']);
  private readonly restarts = this.gauge(
    'tend_service_restarts',
    'Restarts of the service since its spec last changed or a manual restart.',
    ['service'],
  );
  private readonly cpu = this.gauge('tend_service_cpu_percent', 'CPU of all replicas (100 = one core).', ['service']);
  private readonly memory = this.gauge('tend_service_memory_bytes', 'Resident memory of all replicas.', ['service']);
  private readonly specErrors = this.gauge('tend_spec_errors', 'Problems in the spec files.', []);
  private readonly converged = this.gauge('tend_converged', '1 when everything runs as the spec says.', []);
  private readonly passes = new Histogram({
    name: 'tend_reconcile_pass_duration_seconds',
    help: 'Duration of one reconcile pass (plan and apply).',
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
    registers: [this.registry],
  });
  private readonly probeFailures = new Counter({
    name: 'tend_probe_failures_total',
    help: 'Times a probe turned to failure (failure_threshold reached).',
    labelNames: ['service', 'probe'],
    registers: [this.registry],
  });

  private defaults = false;

  /** Records how long one reconcile pass took. */
  observePass(seconds: number): void {
    this.passes.observe(seconds);
  }

  /** Counts a probe turning to failure. */
  probeFailure(service: string, probe: 'readiness' | 'liveness'): void {
    this.probeFailures.inc({ service, probe });
  }

  /** The exposition text, with the per-service gauges set from `status`. */
  async render(status: StatusReport): Promise<string> {
    // Node's process metrics only once somebody scrapes, and their event-loop-lag monitor sampling
    // once a second: its default (10 ms) woke the daemon 100 times a second, measured at 1.8% of a
    // core at 1000 replicas (bench/FINDINGS.md), more than everything else tend does when idle.
    if (!this.defaults) {
      this.defaults = true;
      collectDefaultMetrics({ register: this.registry, prefix: 'tend_', eventLoopMonitoringPrecision: 1000 });
    }
    for (const g of [this.replicas, this.ready, this.desired, this.restarts, this.cpu, this.memory]) g.reset();
    for (const svc of status.services) {
      const counts = new Map<string, number>(REPLICA_STATES.map((s) => [s, 0]));
      for (const r of svc.replicas) counts.set(r.state, (counts.get(r.state) ?? 0) + 1);
      for (const [state, n] of counts) this.replicas.set({ service: svc.name, state }, n);
      this.ready.set({ service: svc.name }, svc.ready);
      this.desired.set({ service: svc.name }, svc.replicas_desired);
      this.restarts.set({ service: svc.name }, svc.restarts);
      if (svc.cpu !== null) this.cpu.set({ service: svc.name }, svc.cpu);
      if (svc.memory !== null) this.memory.set({ service: svc.name }, svc.memory);
    }
    this.specErrors.set(status.errors.length);
    this.converged.set(status.converged ? 1 : 0);
    return this.registry.metrics();
  }

  private gauge<L extends string>(name: string, help: string, labelNames: L[]): Gauge<L> {
    return new Gauge({ name, help, labelNames, registers: [this.registry] });
  }
}
