// The engine through its runtime seam: a recording fake Runtime (no processes), so that the loop,
// the queue and the observe inlet are tested on their own: what each event costs, what a stop that
// cannot be done leads to, and what a oneshot dependency means over time.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import { Controller } from '../../src/reconcile/controller.js';
import type { EventBody } from '../../src/reconcile/events.js';
import type { ExitStatus, ProcessHandle, Runtime, StartRequest, StartResult, StopResult } from '../../src/runtime/types.js';
import type { SpecSource } from '../../src/spec/source.js';
import type { LoadResult, ServiceSpec } from '../../src/spec/types.js';
import { cleanup, waitFor } from '../helpers/index.js';
import { spec } from '../helpers/world.js';

class FakeRuntime implements Runtime {
  readonly calls: string[] = [];
  private pid = 1000;
  private readonly exits = new Map<number, (s: ExitStatus) => void>();
  stopError?: NodeJS.ErrnoException;
  /** Each start holds the loop this long (ms), as a fork in process does. */
  startCostMs = 0;

  async start(req: StartRequest, onExit: (s: ExitStatus) => void): Promise<StartResult> {
    for (const until = performance.now() + this.startCostMs; performance.now() < until; );
    const pid = ++this.pid;
    this.calls.push(`start ${req.launch.service}/${req.launch.index}`);
    this.exits.set(pid, onExit);
    return { ok: true, handle: { pid, pgid: pid, startTime: pid, startedAt: Date.now() } };
  }
  adopt(): boolean {
    return false;
  }
  signal(h: ProcessHandle, sig: NodeJS.Signals): void {
    this.calls.push(`signal ${h.pid} ${sig}`);
  }
  async stop(h: ProcessHandle): Promise<StopResult> {
    this.calls.push(`stop ${h.pid}`);
    if (this.stopError) throw this.stopError;
    this.exit(h.pid, { code: null, signal: 'SIGTERM' });
    return { killed: false };
  }
  close(): void {}
  /** The process exits by itself. */
  exit(pid: number, s: { code: number | null; signal: NodeJS.Signals | null }): void {
    const f = this.exits.get(pid);
    this.exits.delete(pid);
    f?.({ ...s, at: Date.now() });
  }
}

class MemorySource implements SpecSource {
  private n = 0;
  constructor(public services: ServiceSpec[]) {}
  describe(): string {
    return 'memory';
  }
  async load(): Promise<LoadResult> {
    return { services: this.services, problems: [], files: new Map(), fingerprint: `v${++this.n}` };
  }
}

function engine(services: ServiceSpec[], extra: Partial<ConstructorParameters<typeof Controller>[0]> = {}) {
  const runtime = new FakeRuntime();
  const source = new MemorySource(services);
  const events: EventBody[] = [];
  const reconciled: string[] = [];
  const c = new Controller({
    source,
    runtime,
    emit: (e) => events.push(e),
    log: pino({ level: 'silent' }),
    logDir: '/nonexistent',
    baseEnv: {},
    statsIntervalMs: 0,
    onReconcile: (s) => reconciled.push(s),
    ...extra,
  });
  c.start();
  return { c, runtime, source, events, reconciled, running: (svc: string) => c.select(svc).filter((i) => i.state === 'running') };
}

const fast = { backoff: { initialMs: 0, maxMs: 0, factor: 2, resetAfterMs: 60_000 } };

test('engine: a crash reconciles its own service (and its dependents), not the fleet', async (t) => {
  const services = Array.from({ length: 50 }, (_, n) => spec(`s${n}`, fast));
  services.push(spec('dependent', { dependsOn: { s7: 'started' } }));
  const e = engine(services);
  cleanup(t, () => e.c.close());
  await waitFor(() => services.every((s) => e.running(s.name).length === 1), { what: 'all running' });
  // Every replica's stable-start timer must have fired first: each one is a reconcile of its own
  // service, and on a slow machine they land after s7's.
  await waitFor(() => services.every((s) => e.c.select(s.name)[0]?.ready), { what: 'all ready (stable start)', timeoutMs: 10_000 });
  // And every reconcile those set off has run (on a loaded machine one of s27 came after the
  // crash): the loop is quiet.
  await waitFor(() => e.c.queued === 0, { what: 'a quiet loop', timeoutMs: 10_000 });
  await new Promise((r) => setImmediate(r));
  e.reconciled.length = 0;
  const victim = e.running('s7')[0]!;
  e.runtime.exit(victim.pid!, { code: 1, signal: null });
  await waitFor(() => e.running('s7').some((i) => i.pid !== victim.pid), { what: 's7 restarted' });
  const touched = new Set(e.reconciled);
  assert.ok(touched.has('s7'));
  assert.deepEqual([...touched].filter((s) => s !== 's7' && s !== 'dependent'), [], `reconciled ${[...touched]}`);
  const types = e.events.filter((x) => 'service' in x && x.service === 's7').map((x) => x.type);
  assert.deepEqual(types.slice(-4), ['replica.exited', 'replica.backoff', 'replica.restarting', 'replica.started']);
});

test('engine: a stop rejected with EPERM fails the replica with the reason; shutdown does not hang', async (t) => {
  const e = engine([spec('w')]);
  cleanup(t, () => e.c.close());
  await waitFor(() => e.running('w').length === 1, { what: 'running' });
  e.runtime.stopError = Object.assign(new Error('kill EPERM'), { code: 'EPERM' });
  await e.c.shutdown(); // resolves: a replica that cannot be stopped does not stay `stopping`
  const failed = e.events.find((x) => x.type === 'replica.failed');
  assert.ok(failed && failed.type === 'replica.failed');
  assert.equal(failed.reason, 'StopFailed');
  assert.match(failed.message, /^cannot stop process group \d+: kill EPERM; it may still run$/);
});

test('engine: depends_on [job] holds once the job completed — a later scale-up and an env change of the dependent converge', async (t) => {
  const m = spec('m', { oneshot: true, restart: 'on-failure' });
  const w = spec('w', { dependsOn: { m: 'started' } });
  const e = engine([m, w]);
  cleanup(t, () => e.c.close());
  await waitFor(() => e.running('m').length === 1, { what: 'job runs' });
  e.runtime.exit(e.running('m')[0]!.pid!, { code: 0, signal: null });
  await waitFor(() => e.c.select('m')[0]?.state === 'completed' && e.running('w').length === 1, { what: 'job done, w runs' });
  assert.ok(!e.events.some((x) => x.type === 'replica.ready' && x.service === 'm'), 'a job is never "ready"');

  e.source.services = [m, { ...w, replicas: 3 }];
  e.c.markSpecDirty();
  await waitFor(() => e.running('w').length === 3, { what: 'scaled up though the job is no longer running' });
  e.source.services = [m, { ...w, replicas: 3, env: { V: '2' }, hash: 'w-v2' }];
  e.c.markSpecDirty();
  await waitFor(() => e.running('w').length === 3 && e.running('w').every((i) => i.spec.hash === 'w-v2'), { what: 'rolled to v2', timeoutMs: 10_000 });
  assert.equal(e.c.waitingFor.get('w'), undefined);
});

test('engine: tend stop / tend start hold and release a service without touching its spec', async (t) => {
  const e = engine([spec('w', { replicas: 2 })]);
  cleanup(t, () => e.c.close());
  await waitFor(() => e.running('w').length === 2, { what: 'running' });
  e.c.hold('w', true);
  await waitFor(() => e.c.select('w').every((i) => i.state === 'stopped'), { what: 'held' });
  assert.deepEqual(e.c.select('w').map((i) => i.reason), ['stopped by `tend stop`', 'stopped by `tend stop`']);
  e.c.hold('w', false);
  await waitFor(() => e.running('w').length === 2, { what: 'released' });
  assert.deepEqual(e.events.filter((x) => x.type.startsWith('service.')).map((x) => x.type), ['service.held', 'service.released']);
});

test('engine: a scale keeps the running replicas as they are; a live change still reaches them', async (t) => {
  const w = spec('w', { replicas: 3 });
  const e = engine([w]);
  cleanup(t, () => e.c.close());
  await waitFor(() => e.running('w').length === 3, { what: 'running' });
  const before = e.c.select('w');
  // Only `replicas` differs: the instances are not rewritten (at 5000 replicas rewriting them cost
  // 7 ms, and 20 ms more to serialise their state records again, for one added replica).
  e.source.services = [{ ...w, replicas: 4 }];
  e.c.markSpecDirty();
  await waitFor(() => e.running('w').length === 4, { what: 'scaled to 4' });
  for (const i of before) assert.equal(e.c.select('w').find((x) => x.id === i.id), i, `${i.id} rewritten by a scale`);
  // A live setting (the stop signal) with the scale: every running replica takes it.
  e.source.services = [{ ...w, replicas: 5, stopSignal: 'SIGINT' }];
  e.c.markSpecDirty();
  await waitFor(() => e.running('w').length === 5 && e.running('w').every((i) => i.spec.stopSignal === 'SIGINT'), { what: 'scaled to 5 with SIGINT' });
  assert.deepEqual(e.c.select('w').map((i) => i.pid).slice(0, 3), before.map((i) => i.pid));
});

test('engine: a service whose plan is costly is planned again only after a pause in proportion; every crash of a burst is still restarted', async (t) => {
  // The clock stands still until the test moves it (from now: the fake runtime stamps exits with
  // the real time): the pause after a plan is on that clock. Every
  // plan counts as costly here (paceMinCostMs 0); by default only one that takes 0.2 ms does (a
  // service of thousands of replicas), whose 1450 plans were most of the daemon's CPU during a
  // cold start of 5000.
  let clock = Date.now();
  const e = engine([spec('big', { ...fast, replicas: 300 })], { now: () => clock, paceMinCostMs: 0 });
  cleanup(t, () => e.c.close());
  await waitFor(() => e.running('big').length === 300, { what: 'all running' });
  e.reconciled.length = 0;
  const victims = e.running('big').slice(0, 50);
  for (const v of victims) {
    e.runtime.exit(v.pid!, { code: 1, signal: null });
    await new Promise((r) => setImmediate(r)); // one exit per turn of the loop, as helpers report them
  }
  // The loop's turn for the last exit comes before this one (setImmediate runs in order).
  await new Promise((r) => setImmediate(r));
  assert.equal(e.reconciled.length, 0, 'planned again before its pause was over');
  assert.equal(e.running('big').length, 250);
  clock += 60_000;
  await waitFor(() => e.running('big').length === 300, { what: 'the 50 restarted', timeoutMs: 10_000 });
  assert.ok(e.reconciled.length <= 2, `50 exits, ${e.reconciled.length} plans`);
});

test('engine: a plan cut short by the pass budget goes on at once, not paced (a cold start continues)', async (t) => {
  // Starts that take 0.2 ms each: 1000 of them cannot fit one 50 ms pass. The clock stands still,
  // so a continuation held back by pacing would never come.
  const clock = Date.now();
  const e = engine([], { now: () => clock, paceMinCostMs: 0 });
  cleanup(t, () => e.c.close());
  e.runtime.startCostMs = 0.2;
  e.source.services = [spec('big', { ...fast, replicas: 1000 })];
  e.c.markSpecDirty();
  await waitFor(() => e.running('big').length === 1000, { what: 'all 1000 started', timeoutMs: 20_000 });
  assert.ok(e.reconciled.filter((s) => s === 'big').length > 1, 'the start took more than one pass');
});
