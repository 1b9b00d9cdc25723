// The hook runner: subscribes to the event log, matches each event against the hooks in force and
// runs them off the reconcile loop — a bounded queue, a bounded number at once. The listener only
// matches and enqueues (no spawn, no I/O), and the queue is drained on a later turn of the event
// loop, so a hook can never delay a restart or a stop. Every failure becomes a `hook.failed` event
// (exit code, output tail) and a metric; a full queue drops runs, counts them and reports them.

import type { TendEvent } from '../api/types.js';
import type { EventBody } from '../reconcile/events.js';
import type { HookExecutor } from './executor.js';
import type { HookAction, HookSpec } from '../spec/hook-types.js';
import type { HookOutcome } from './types.js';
import { HOOK_DEFAULTS } from '../spec/hook-types.js';

/** The part of the event log the runner needs. */
export interface EventSource {
  subscribe(listener: (e: TendEvent) => void): () => void;
  emit(e: EventBody): TendEvent;
}

/** Where the runner counts what it did (TendMetrics implements it). */
export interface HookMetricsSink {
  hookRun(kind: HookAction['kind'], ok: boolean): void;
  hookDropped(n: number): void;
}

export interface HookRunnerOptions {
  events: EventSource;
  concurrency?: number;
  queueSize?: number;
  metrics?: HookMetricsSink;
  /** Where runs execute: a HookHost (the daemon), or inProcessExecutor (executor.ts). Not a default
   *  here: the in-process executor loads execa, ~140 modules the daemon's start-up does not need. */
  executor: HookExecutor;
  /** A full queue is reported at most this often (one `hook.failed` per burst, not per run). */
  overflowReportMs?: number;
}

export interface HookRunnerStats {
  matched: number;
  succeeded: number;
  failed: number;
  dropped: number;
  queued: number;
  running: number;
}

interface Job {
  hook: HookSpec;
  event: TendEvent;
}

/** How long tend's shutdown waits for the hooks it set off (each replica's `stopped`, an alert
 *  resolved) before it exits: docs/hooks.md, "How hooks run". */
export const SHUTDOWN_DRAIN_MS = 10_000;

export class HookRunner {
  private hooks: readonly HookSpec[] = [];
  private readonly queue: Job[] = [];
  private running = 0;
  private unsubscribe?: () => void;
  private scheduled = false;
  private droppedSinceReport = 0;
  private overflowTimer?: NodeJS.Timeout;
  /** Set while the runner emits an event no hook may run on (a report about hooks on hook.failed). */
  private quiet = false;
  private idleWaiters: (() => void)[] = [];
  private concurrency: number;
  private queueSize: number;
  readonly stats: HookRunnerStats = { matched: 0, succeeded: 0, failed: 0, dropped: 0, queued: 0, running: 0 };

  private readonly executor: HookExecutor;

  constructor(private readonly opts: HookRunnerOptions) {
    this.executor = opts.executor;
    this.concurrency = Math.max(1, opts.concurrency ?? HOOK_DEFAULTS.concurrency);
    this.queueSize = Math.max(0, opts.queueSize ?? HOOK_DEFAULTS.queueSize);
  }

  /** Replaces the hooks in force (after a spec or tend.yaml load); runs already queued go on. */
  setHooks(hooks: readonly HookSpec[]): void {
    this.hooks = hooks;
  }

  /** New limits (tend.yaml changed); runs in flight and queued are kept. */
  setLimits(concurrency: number, queueSize: number): void {
    this.concurrency = Math.max(1, concurrency);
    this.queueSize = Math.max(0, queueSize);
    if (this.queue.length > 0) this.pump();
  }

  start(): void {
    this.unsubscribe ??= this.opts.events.subscribe((e) => this.onEvent(e));
  }

  /** Stops listening. Runs still queued are reported as not run (one event); those in flight go
   *  on in the hook host until they end or their timeout kills them, and are reported as not
   *  finished. */
  stop(): void {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    const left = this.queue.length;
    this.queue.length = 0;
    this.stats.queued = 0;
    if (this.overflowTimer) {
      clearTimeout(this.overflowTimer);
      this.overflowTimer = undefined;
      this.reportOverflow();
    }
    if (left > 0) {
      this.emitQuietly(true, { type: 'hook.failed', hook: 'queue', event: '*', message: `tend stopped with ${left} hook run${left === 1 ? '' : 's'} not started` });
    }
    this.executor.close();
  }

  /** Resolves once nothing is queued or running (tests and the benchmark). */
  idle(): Promise<void> {
    if (this.running === 0 && this.queue.length === 0) return Promise.resolve();
    return new Promise((r) => this.idleWaiters.push(r));
  }

  /** Lets what is queued and running finish, for at most `ms` or until `cut` settles: true when
   *  nothing is left. tend's shutdown waits so, for the hooks the stop itself set off. */
  async drain(ms: number, cut?: Promise<unknown>): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
    try {
      return await Promise.race([this.idle().then(() => true), late, ...(cut ? [cut.then(() => false)] : [])]);
    } finally {
      clearTimeout(timer);
    }
  }

  // Called synchronously inside EventLog.emit, i.e. inside the controller: match and enqueue only.
  private onEvent(e: TendEvent): void {
    if (this.quiet) return;
    for (const hook of this.hooks) {
      if (!matches(hook, e)) continue;
      this.stats.matched++;
      if (this.queue.length >= this.queueSize) {
        this.drop();
        continue;
      }
      this.queue.push({ hook, event: e });
    }
    this.stats.queued = this.queue.length;
    if (this.queue.length > 0 && !this.scheduled) {
      this.scheduled = true;
      setImmediate(() => {
        this.scheduled = false;
        this.pump();
      });
    }
  }

  private pump(): void {
    while (this.running < this.concurrency && this.queue.length > 0) {
      const job = this.queue.shift()!;
      this.running++;
      this.stats.running = this.running;
      void this.run(job).finally(() => {
        this.running--;
        this.stats.running = this.running;
        this.stats.queued = this.queue.length;
        this.pump();
        if (this.running === 0 && this.queue.length === 0) for (const w of this.idleWaiters.splice(0)) w();
      });
    }
    this.stats.queued = this.queue.length;
  }

  private async run({ hook, event }: Job): Promise<void> {
    let outcome: HookOutcome;
    try {
      outcome = await this.executor.run(hook.action, event);
    } catch (err) {
      // Both runners promise not to throw; a bug there is still only a failed hook.
      outcome = { ok: false, attempts: 1, exitCode: null, output: '', timedOut: false, reason: String(err) };
    }
    this.opts.metrics?.hookRun(hook.action.kind, outcome.ok);
    if (outcome.ok) {
      this.stats.succeeded++;
      return;
    }
    this.stats.failed++;
    this.emitQuietly(event.type === 'hook.failed', {
      type: 'hook.failed',
      ...(event.service !== undefined ? { service: event.service } : {}),
      ...(event.replica !== undefined ? { replica: event.replica } : {}),
      exit_code: outcome.exitCode,
      hook: describeHook(hook),
      event: event.type,
      message: `hook on ${event.type}: ${outcome.reason}`,
      ...(outcome.output ? { output: outcome.output } : {}),
    });
  }

  private drop(): void {
    this.stats.dropped++;
    this.droppedSinceReport++;
    this.opts.metrics?.hookDropped(1);
    this.overflowTimer ??= setTimeout(() => {
      this.overflowTimer = undefined;
      this.reportOverflow();
    }, this.opts.overflowReportMs ?? 1000);
    this.overflowTimer.unref?.();
  }

  private reportOverflow(): void {
    const n = this.droppedSinceReport;
    if (n === 0) return;
    this.droppedSinceReport = 0;
    // Not run as hooks itself: a hook on hook.failed would only add to the queue that is full.
    this.emitQuietly(true, {
      type: 'hook.failed',
      hook: 'queue',
      event: '*',
      message: `hook queue full (${this.queueSize} waiting, ${this.concurrency} running): dropped ${n} hook run${n === 1 ? '' : 's'}`,
    });
  }

  private emitQuietly(quiet: boolean, e: EventBody): void {
    const was = this.quiet;
    this.quiet = was || quiet;
    try {
      this.opts.events.emit(e);
    } finally {
      this.quiet = was;
    }
  }
}

// Whether `hook` runs on `e`.
export function matches(hook: HookSpec, e: TendEvent): boolean {
  if (!hook.selector.types.includes(e.type)) return false;
  if (hook.selector.alert !== undefined && e.alert !== hook.selector.alert) return false;
  if (hook.services !== undefined && (e.service === undefined || !hook.services.includes(e.service))) return false;
  return true;
}

/** How a hook is named in reports: what it runs and where it was declared. */
export function describeHook(hook: HookSpec): string {
  const what = hook.action.kind === 'command' ? `command ${hook.action.command.join(' ')}` : `webhook ${hook.action.url.replace(/^(https?:\/\/[^/]*).*$/i, '$1/…')}`;
  return `${hook.on}: ${what} (${hook.origin})`;
}
