// /metrics of a real daemon as Prometheus reads it: promtool accepts it, restarts are a counter
// that never goes down, replica CPU is exported as seconds, the daemon's CPU counts from its start.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { specDir, waitFor } from '../helpers/index.js';
import { startDaemon } from '../helpers/daemon.js';
import { promtool } from '../helpers/promtool.js';

function value(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

/** CPU seconds (user + system) of a process from /proc. */
function procCpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;
}

test('promtool check metrics accepts /metrics; restarts are a counter that survives a spec change; CPU in seconds', async (t) => {
  const crashy = 'command: ["sh", "-c", "sleep 0.05; exit 1"]\nbackoff: { initial: 10ms, max: 20ms }\nmax_restarts: 0\n';
  const { dir, state } = specDir(t, {
    'crashy.yaml': crashy,
    'busy.yaml': 'command: ["sh", "-c", "while :; do :; done"]\nstop_timeout: 1s\n',
  });
  const d = await startDaemon(t, dir, state);
  // The first scrape: the daemon's CPU counter already holds what it used to start (tsx, ajv, ...).
  const before = procCpuSeconds(d.pid);
  const first = await d.api.metrics();
  const daemonCpu = value(first, 'tend_process_cpu_seconds_total')!;
  assert.ok(daemonCpu >= before - 0.05, `tend_process_cpu_seconds_total ${daemonCpu} counts from the process start (/proc says ${before})`);

  const restarts = async () => value(await d.api.metrics(), 'tend_service_restarts_total{service="crashy"}') ?? 0;
  await waitFor(async () => (await restarts()) >= 3, { what: 'three restarts counted', timeoutMs: 15_000 });
  const counted = await restarts();
  // A spec change resets the status' restart count; the counter goes on.
  writeFileSync(join(dir, 'crashy.yaml'), `${crashy}env: { CHANGED: "1" }\n`);
  await waitFor(async () => (await d.status()).services.find((s) => s.name === 'crashy')!.restarts < counted, { what: 'status count reset', timeoutMs: 15_000 });
  assert.ok((await restarts()) >= counted, 'the counter never goes down');

  const text = await waitFor(async () => {
    const m = await d.api.metrics();
    return (value(m, 'tend_service_cpu_seconds_total{service="busy"}') ?? 0) > 0.2 ? m : undefined;
  }, { what: 'busy service CPU seconds', timeoutMs: 15_000 });
  assert.match(text, /^# TYPE tend_service_cpu_seconds_total counter$/m);
  assert.match(text, /^# TYPE tend_service_restarts_total counter$/m);
  const check = promtool(['check', 'metrics'], text);
  assert.equal(check.status, 0, `promtool check metrics:\n${check.out}`);
  assert.equal(check.out.trim(), '', 'no lint warnings either');
});

test("node's process metrics, loaded at the first scrape, are in every answer, also of two scrapes at once", async () => {
  const { TendMetrics } = await import('../../src/api/metrics.js');
  const metrics = new TendMetrics();
  const status = { services: [], errors: [], converged: true, source: '/specs', pid: process.pid };
  const [a, b] = await Promise.all([metrics.render(status), metrics.render(status)]);
  for (const text of [a, b, await metrics.render(status)]) {
    assert.ok(value(text, 'tend_nodejs_heap_size_total_bytes')! > 0, 'a default metric');
    assert.ok(value(text, 'tend_process_cpu_seconds_total')! > 0, "tend's own CPU counter");
    assert.equal(value(text, 'tend_converged'), 1);
  }
});

test('what is counted before prom-client loads is in the first scrape, and counting goes on after it', async () => {
  const { TendMetrics } = await import('../../src/api/metrics.js');
  const metrics = new TendMetrics();
  metrics.hookQueueLength = () => 3;
  metrics.readNotifyFrom(() => ({ messages: { ready: 2 }, dropped: {} }));
  metrics.observeEvent({ type: 'replica.restarting', service: 'web', replica: 0, reason: 'Exited', message: 'exited' } as never);
  metrics.observeEvent({ type: 'replica.starting', service: 'web', replica: 1, reason: 'Created', message: 'created' } as never);
  metrics.hookRun('webhook', false);
  metrics.hookDropped(4);
  metrics.observePass(0.002);
  metrics.probeFailure('web', 'liveness');
  const status = { services: [], errors: [], converged: false, source: '/specs', pid: process.pid };
  const first = await metrics.render(status);
  assert.equal(value(first, 'tend_service_restarts_total{service="web"}'), 1, 'a restart, not a start');
  assert.equal(value(first, 'tend_hook_runs_total{kind="webhook",result="failed"}'), 1);
  assert.equal(value(first, 'tend_hook_dropped_total'), 4);
  assert.equal(value(first, 'tend_reconcile_pass_duration_seconds_count'), 1);
  assert.equal(value(first, 'tend_reconcile_pass_duration_seconds_bucket{le="0.0025"}'), 1);
  assert.equal(value(first, 'tend_reconcile_pass_duration_seconds_bucket{le="0.001"}'), 0);
  assert.equal(value(first, 'tend_probe_failures_total{service="web",probe="liveness"}'), 1);
  assert.equal(value(first, 'tend_hook_queue_length'), 3);
  assert.equal(value(first, 'tend_notify_messages_total{kind="ready"}'), 2);
  metrics.observeEvent({ type: 'replica.restarting', service: 'web', replica: 0, reason: 'Exited', message: 'exited' } as never);
  metrics.observePass(0.5);
  const second = await metrics.render(status);
  assert.equal(value(second, 'tend_service_restarts_total{service="web"}'), 2);
  assert.equal(value(second, 'tend_reconcile_pass_duration_seconds_count'), 2);
});

test('counted long before prom-client loads (the API waits for a free descriptor): counts whole, the last pass durations kept', async () => {
  const { TendMetrics, EARLY_PASSES } = await import('../../src/api/metrics.js');
  const metrics = new TendMetrics();
  // A pass for every probe that fails while no descriptor is free, for as long as that lasts.
  for (let i = 0; i < 100 * EARLY_PASSES; i++) {
    metrics.observePass(i < 99 * EARLY_PASSES ? 5 : 0.0001);
    metrics.observeEvent({ type: 'replica.restarting', service: `s${i % 3}`, replica: 0, reason: 'Exited', message: 'exited' } as never);
    metrics.probeFailure(`s${i % 3}`, 'liveness');
    metrics.hookRun('command', i % 2 === 0);
  }
  const text = await metrics.render({ services: [], errors: [], converged: false, source: '/specs', pid: process.pid });
  for (const [s, n] of [['s0', 33_334], ['s1', 33_333], ['s2', 33_333]] as const) {
    assert.equal(value(text, `tend_service_restarts_total{service="${s}"}`), n);
    assert.equal(value(text, `tend_probe_failures_total{service="${s}",probe="liveness"}`), n);
  }
  assert.equal(value(text, 'tend_hook_runs_total{kind="command",result="ok"}'), 50 * EARLY_PASSES);
  assert.equal(value(text, 'tend_hook_runs_total{kind="command",result="failed"}'), 50 * EARLY_PASSES);
  // The last EARLY_PASSES durations, all of them the short ones.
  assert.equal(value(text, 'tend_reconcile_pass_duration_seconds_count'), EARLY_PASSES);
  assert.equal(value(text, 'tend_reconcile_pass_duration_seconds_bucket{le="0.001"}'), EARLY_PASSES);
});
