// tend's Prometheus metrics (prom-metrics.ts), with prom-client loaded once the daemon's first pass
// has asked for its replicas, not before it: its parts took 3.0–3.9 ms of the way to the first
// replica (bench/FINDINGS.md §16). What is counted until then is kept, in order, and applied to the
// metrics when they load; the daemon loads them right after the API (daemon.ts), so that is a pass
// or two, and a scrape loads them in any case.

import type { NotifyCounters, PromMetrics } from './prom-metrics.js';
import type { StatusReport, TendEvent } from './types.js';

export class TendMetrics {
  private prom?: PromMetrics;
  private loading?: Promise<PromMetrics>;
  private backlog: ((p: PromMetrics) => void)[] = [];
  private notifySource?: () => NotifyCounters;
  /** Set by the daemon: runs waiting in the hook queue. */
  hookQueueLength?: () => number;

  /** Loads prom-client and the metrics, with everything counted so far. */
  load(): Promise<PromMetrics> {
    return (this.loading ??= import('./prom-metrics.js').then(({ PromMetrics }) => {
      const prom = new PromMetrics(
        () => this.hookQueueLength?.() ?? 0,
        () => this.notifySource?.(),
      );
      for (const record of this.backlog) record(prom);
      this.backlog = [];
      this.prom = prom;
      return prom;
    }));
  }

  private record(f: (p: PromMetrics) => void): void {
    if (this.prom) f(this.prom);
    else this.backlog.push(f);
  }

  /** Where the notify counters come from (the daemon's NotifyHub). */
  readNotifyFrom(source: () => NotifyCounters): void {
    this.notifySource = source;
  }

  /** Counts what only events tell: a replica started again. */
  observeEvent(e: TendEvent): void {
    const service = e.service;
    if (e.type === 'replica.restarting' && service !== undefined) this.record((p) => p.restarted(service));
  }

  /** Counts a hook run that ended (HookMetricsSink). */
  hookRun(kind: 'command' | 'webhook', ok: boolean): void {
    this.record((p) => p.hookRun(kind, ok));
  }

  /** Counts hook runs dropped on a full queue (HookMetricsSink). */
  hookDropped(n: number): void {
    this.record((p) => p.hookDropped(n));
  }

  /** Records how long one reconcile pass took. */
  observePass(seconds: number): void {
    this.record((p) => p.observePass(seconds));
  }

  /** Counts a probe turning to failure. */
  probeFailure(service: string, probe: 'readiness' | 'liveness'): void {
    this.record((p) => p.probeFailure(service, probe));
  }

  /** The exposition text, with the per-service gauges set from `status`. */
  async render(status: StatusReport): Promise<string> {
    return (await this.load()).render(status);
  }
}
