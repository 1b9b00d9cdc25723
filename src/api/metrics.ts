// tend's Prometheus metrics (prom-metrics.ts), with prom-client loaded once the daemon's first pass
// has asked for its replicas, not before it: its parts took 3.0–3.9 ms of the way to the first
// replica (bench/FINDINGS.md §16). What is counted until then is kept and applied to the metrics
// when they load; the daemon loads them right after the API (daemon.ts), so that is a pass or two,
// and a scrape loads them in any case. Kept as counts by label and the last pass durations, so that
// it stays small however late the metrics load: the API waits for a free descriptor when there is
// none, with a pass for every probe that then fails.

import type { NotifyCounters, PromMetrics } from './prom-metrics.js';
import type { StatusReport, TendEvent } from './types.js';

/** Pass durations kept before the metrics load; older ones are left out of the histogram. */
export const EARLY_PASSES = 1000;

/** What was counted before prom-client loaded. */
class Early {
  readonly restarts = new Map<string, number>();
  readonly hookRuns = new Map<'command' | 'webhook', [ok: number, failed: number]>();
  hookDropped = 0;
  readonly probeFailures = new Map<string, { service: string; probe: 'readiness' | 'liveness'; n: number }>();
  passes: number[] = [];

  applyTo(p: PromMetrics): void {
    for (const [service, n] of this.restarts) p.restarted(service, n);
    for (const [kind, [ok, failed]] of this.hookRuns) {
      if (ok > 0) p.hookRun(kind, true, ok);
      if (failed > 0) p.hookRun(kind, false, failed);
    }
    if (this.hookDropped > 0) p.hookDropped(this.hookDropped);
    for (const { service, probe, n } of this.probeFailures.values()) p.probeFailure(service, probe, n);
    for (const seconds of this.passes.slice(-EARLY_PASSES)) p.observePass(seconds);
  }
}

export class TendMetrics {
  private prom?: PromMetrics;
  private loading?: Promise<PromMetrics>;
  private early = new Early();
  private notifySource?: () => NotifyCounters;
  /** Set by the daemon: runs waiting in the hook queue. */
  hookQueueLength?: () => number;

  /** Loads prom-client and the metrics, with everything counted so far. */
  load(): Promise<PromMetrics> {
    return (this.loading ??= import('./prom-metrics.js').then(
      ({ PromMetrics }) => {
        const prom = new PromMetrics(
          () => this.hookQueueLength?.() ?? 0,
          () => this.notifySource?.(),
        );
        this.early.applyTo(prom);
        this.early = new Early();
        this.prom = prom;
        return prom;
      },
      (err: unknown) => {
        // Run from source, the module is a file to open, which can fail (EMFILE): a later call
        // tries again, and until then what is counted is kept as before.
        this.loading = undefined;
        throw err;
      },
    ));
  }

  /** Where the notify counters come from (the daemon's NotifyHub). */
  readNotifyFrom(source: () => NotifyCounters): void {
    this.notifySource = source;
  }

  /** Counts what only events tell: a replica started again. */
  observeEvent(e: TendEvent): void {
    const service = e.service;
    if (e.type !== 'replica.restarting' || service === undefined) return;
    if (this.prom) this.prom.restarted(service);
    else this.early.restarts.set(service, (this.early.restarts.get(service) ?? 0) + 1);
  }

  /** Counts a hook run that ended (HookMetricsSink). */
  hookRun(kind: 'command' | 'webhook', ok: boolean): void {
    if (this.prom) return this.prom.hookRun(kind, ok);
    const counts = this.early.hookRuns.get(kind) ?? [0, 0];
    counts[ok ? 0 : 1]++;
    this.early.hookRuns.set(kind, counts);
  }

  /** Counts hook runs dropped on a full queue (HookMetricsSink). */
  hookDropped(n: number): void {
    if (this.prom) this.prom.hookDropped(n);
    else this.early.hookDropped += n;
  }

  /** Records how long one reconcile pass took. */
  observePass(seconds: number): void {
    if (this.prom) return this.prom.observePass(seconds);
    const passes = this.early.passes;
    passes.push(seconds);
    if (passes.length >= 2 * EARLY_PASSES) this.early.passes = passes.slice(-EARLY_PASSES);
  }

  /** Counts a probe turning to failure. */
  probeFailure(service: string, probe: 'readiness' | 'liveness'): void {
    if (this.prom) return this.prom.probeFailure(service, probe);
    const key = `${service}\0${probe}`;
    const seen = this.early.probeFailures.get(key);
    if (seen) seen.n++;
    else this.early.probeFailures.set(key, { service, probe, n: 1 });
  }

  /** The exposition text, with the per-service gauges set from `status`. */
  async render(status: StatusReport): Promise<string> {
    return (await this.load()).render(status);
  }
}
