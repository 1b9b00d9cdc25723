// Hooks and alerts, assembled for the daemon: tend.yaml (watched), the hook runner fed with the
// hooks of tend.yaml and of every service spec, and the alert engine over the controller's
// replicas. The daemon creates one, starts it, reads firing alerts and tend.yaml problems for
// status, and stops it; nothing here can hold up the reconcile loop.

import type { Logger } from 'pino';
import type { AlertStatus, StatusReport, TendEvent } from '../api/types.js';
import type { EventBody } from '../reconcile/events.js';
import { AlertEngine } from '../alerts/engine.js';
import type { FiringAlert } from '../alerts/evaluate.js';
import { observeReplicas } from '../alerts/observe.js';
import type { SpecProblem } from '../errors.js';
import type { DesiredState, Instance } from '../reconcile/types.js';
import type { GroupUsage } from '../runtime/types.js';
import { effectiveRules, type AlertRules, type HookSpec } from '../spec/hook-types.js';
import type { ServiceSpec } from '../spec/types.js';
import { ConfigFile, configPath, type DaemonConfig } from './config.js';
import { HookHost } from './host-client.js';
import { HookRunner, type HookMetricsSink } from './runner.js';
import { wallTime } from '../util/clock.js';

/** The controller as seen from here: read-only. */
export interface ControllerView {
  readonly desiredState: DesiredState;
  /** The instances of one service, live and terminal alike (not a copy). */
  instancesOf(service: string): Iterable<Readonly<Instance>>;
  usageOf(id: string): GroupUsage | undefined;
  readonly usageVersion: number;
  setUsageWanted(wanted: (service: string) => boolean): void;
}

export interface HooksOptions {
  events: { subscribe(l: (e: TendEvent) => void): () => void; emit(e: EventBody): TendEvent };
  controller: ControllerView;
  /** The services directory as given (tend.yaml is looked for beside it). */
  servicesDir: string;
  log: Logger;
  metrics?: HookMetricsSink;
  /** tend.yaml's path (default: configPath(servicesDir)). */
  config?: string;
  env?: NodeJS.ProcessEnv;
  alertIntervalMs?: number;
  watchIntervalMs?: number;
}


export class Hooks {
  readonly config: ConfigFile;
  readonly runner: HookRunner;
  readonly alerts: AlertEngine;
  private cache?: { services: ReadonlyMap<string, ServiceSpec>; config: DaemonConfig; hooks: HookSpec[] };
  private reported = new Set<string>();
  private unsubscribe?: () => void;

  constructor(private readonly opts: HooksOptions) {
    this.config = new ConfigFile(opts.config ?? configPath(opts.servicesDir, opts.env));
    // Runs execute in a helper process of their own (host.ts), forked on the first run.
    this.runner = new HookRunner({ events: opts.events, executor: new HookHost(opts.env ?? process.env), ...(opts.metrics ? { metrics: opts.metrics } : {}) });
    this.alerts = new AlertEngine({
      events: opts.events,
      services: () => opts.controller.desiredState.services.keys(),
      observe: (service, facts, only) => observeReplicas({ desired: opts.controller.desiredState, instances: opts.controller.instancesOf(service), usage: (id) => opts.controller.usageOf(id) }, facts, only),
      rulesOf: (service) => this.rulesOf(service),
      usageVersion: () => opts.controller.usageVersion,
      ...(opts.alertIntervalMs !== undefined ? { intervalMs: opts.alertIntervalMs } : {}),
    });
  }

  async start(): Promise<void> {
    await this.reloadConfig();
    // The hooks in force follow every spec load (a spec.loaded event) and every tend.yaml change.
    this.unsubscribe = this.opts.events.subscribe((e) => {
      if (e.type === 'spec.loaded') {
        this.refreshHooks();
        this.wantUsage();
      }
    });
    this.refreshHooks();
    this.wantUsage();
    this.runner.start();
    this.alerts.start();
    this.config.watch(() => void this.reloadConfig(), this.opts.watchIntervalMs);
  }

  /** Lets the hook runs queued and in flight finish (see HookRunner.drain). */
  drain(ms: number, cut?: Promise<unknown>): Promise<boolean> {
    return this.runner.drain(ms, cut);
  }

  stop(): void {
    this.unsubscribe?.();
    this.config.close();
    this.alerts.stop();
    this.runner.stop();
  }

  /** Firing alerts, for status and /metrics. */
  firing(): AlertStatus[] {
    return this.alerts.firing().map((a: FiringAlert) => ({ alert: a.alert, service: a.service, replica: a.replica, since: new Date(wallTime(a.since)).toISOString(), summary: a.summary }));
  }

  /** Problems of tend.yaml (its last good version stays in force meanwhile). */
  problems(): readonly SpecProblem[] {
    return this.config.problems;
  }

  private async reloadConfig(): Promise<void> {
    let changed: boolean;
    try {
      changed = await this.config.load();
    } catch (err) {
      this.opts.log.warn({ err }, `cannot load ${this.config.path}`);
      return;
    }
    if (!changed) return;
    const now = new Set<string>();
    for (const p of this.config.problems) {
      const key = `${p.file}:${p.line}:${p.column}: ${p.message}`;
      now.add(key);
      if (this.reported.has(key)) continue;
      this.opts.log.warn(`${key} (the last good ${this.config.display} stays in force)`);
      this.opts.events.emit({ type: 'spec.invalid', reason: 'SpecInvalid', message: p.message, detail: `${p.file}:${p.line}:${p.column}` });
    }
    this.reported = now;
    this.refreshHooks();
    // tend.yaml's alert defaults may have changed every service's rules.
    this.alerts.invalidate();
    this.wantUsage();
  }

  private rulesOf(service: string): AlertRules {
    return effectiveRules(this.opts.controller.desiredState.services.get(service)?.alerts, this.config.config.alerts);
  }

  /** CPU and memory alerts need samples whether or not anybody reads them. */
  private wantUsage(): void {
    this.opts.controller.setUsageWanted((service) => {
      const r = this.rulesOf(service);
      return Boolean(r.cpu_high || r.memory_high);
    });
  }

  private refreshHooks(): void {
    const services = this.opts.controller.desiredState.services;
    const config = this.config.config;
    if (this.cache && this.cache.services === services && this.cache.config === config) return;
    const hooks = [...config.hooks];
    for (const spec of services.values()) if (spec.hooks) hooks.push(...spec.hooks);
    this.cache = { services, config, hooks };
    this.runner.setHooks(hooks);
    this.runner.setLimits(config.concurrency, config.queueSize);
  }
}

/** The status report with what hooks and alerts add: firing alerts, and tend.yaml's problems
 *  among the spec errors (a broken tend.yaml is not converged, like a broken spec file). */
export function withHooks(status: StatusReport, hooks: Hooks | undefined): StatusReport {
  if (!hooks) return status;
  const problems = hooks.problems().map(({ file, line, column, message }) => ({ file, line, column, message }));
  return { ...status, errors: [...status.errors, ...problems], converged: status.converged && problems.length === 0, alerts: hooks.firing() };
}
