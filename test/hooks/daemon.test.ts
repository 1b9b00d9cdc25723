// Hooks and alerts in a real daemon: a crashing service's own `on: failed` command hook, tend.yaml's
// webhook on the crash_loop alert (fired once, resolved once), the alert in status and /metrics,
// and a broken tend.yaml reported with file:line while the last good one stays in force.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { specDir, waitFor } from '../helpers/index.js';
import { startDaemon } from '../helpers/daemon.js';
import { ok, startReceiver } from './receivers.js';
import type { TendEvent } from '../../src/api/types.js';

const CRASH = `command: ["sh", "-c", "exit 3"]
backoff: { initial: 10ms, max: 20ms }
max_restarts: 2
restart_window: 1m
on:
  failed:
    - command: ["sh", "-c", "cat > failed-$TEND_SERVICE-$TEND_REPLICA.json"]
      cwd: ..
`;

test('a crash loop runs the service\'s failed hook and tend.yaml\'s crash_loop webhook; the alert shows in status and /metrics and resolves once', async (t) => {
  const r = await startReceiver(t, ok);
  const { root, dir, state } = specDir(t, { 'crash.yaml': CRASH, 'calm.yaml': 'command: ["sleep", "1000"]\n' });
  writeFileSync(join(root, 'tend.yaml'), `on:\n  crash_loop: [ { url: "${r.url}", services: [crash] } ]\n  failed: [ { url: "${r.url}", services: [calm] } ]\n`);
  const d = await startDaemon(t, dir, state);

  const out = join(root, 'failed-crash-0.json');
  await waitFor(() => existsSync(out) && readFileSync(out, 'utf8').length > 0, { what: 'failed hook wrote its file', timeoutMs: 30_000 });
  const event = JSON.parse(readFileSync(out, 'utf8')) as TendEvent;
  assert.equal(event.type, 'replica.failed');
  assert.equal(event.service, 'crash');
  assert.equal(event.exit_code, 3);

  const firing = await waitFor(() => r.received.find((x) => (x.body as { event: TendEvent }).event.type === 'alert.firing'), { what: 'alert webhook', timeoutMs: 30_000 });
  const fe = (firing.body as { text: string; event: TendEvent }).event;
  assert.equal(fe.alert, 'crash_loop');
  assert.equal(fe.service, 'crash');
  assert.equal(fe.replica, 0);
  assert.match(fe.message!, /^crash\/0 is failed: crash loop: /);

  const s = await d.status();
  assert.deepEqual(s.alerts?.map((a) => [a.alert, a.service, a.replica]), [['crash_loop', 'crash', 0]]);
  assert.match(await d.api.metrics(), /^tend_alerts_firing\{alert="crash_loop",service="crash",replica="0"\} 1$/m);

  // Fixed: the replica runs again, and the alert resolves (once).
  writeFileSync(join(dir, 'crash.yaml'), CRASH.replace('["sh", "-c", "exit 3"]', '["sleep", "1000"]'));
  await waitFor(() => r.received.some((x) => (x.body as { event: TendEvent }).event.type === 'alert.resolved'), { what: 'resolved webhook', timeoutMs: 30_000 });
  await waitFor(async () => (await d.status()).alerts?.length === 0, { what: 'no alert in status' });
  const types = r.received.map((x) => (x.body as { event: TendEvent }).event.type);
  assert.deepEqual(types.filter((x) => x.startsWith('alert.')), ['alert.firing', 'alert.resolved']);
  assert.ok(!types.includes('replica.failed'), 'the calm service never failed, and crash is not in that hook\'s services');
  assert.doesNotMatch(await d.api.metrics(), /^tend_alerts_firing\{/m);
});

test('a broken tend.yaml is reported with file:line in status; its last good hooks stay in force; services run on', async (t) => {
  const r = await startReceiver(t, ok);
  const { root, dir, state } = specDir(t, { 'w.yaml': 'command: ["sleep", "1000"]\n' });
  writeFileSync(join(root, 'tend.yaml'), `on:\n  scaled: [ { url: "${r.url}" } ]\n`);
  const d = await startDaemon(t, dir, state);
  const before = (await d.converged()).services[0]!.replicas[0]!.pid;
  writeFileSync(join(root, 'tend.yaml'), `on:\n  scaled: [ { url: "${r.url}" } ]\n  crashed: [ { command: ["true"] } ]\nalerts:\n  cpu_high: { above: 90, for: 1m }\n`);
  const s = await waitFor(async () => {
    const st = await d.status();
    return st.errors.length >= 2 ? st : undefined;
  }, { what: 'tend.yaml errors in status', timeoutMs: 10_000 });
  const lines = s.errors.map((e) => `${e.file.split('/').pop()}:${e.line}:${e.column}: ${e.message}`);
  assert.ok(lines.some((l) => l.startsWith('tend.yaml:3:3: unknown event "crashed" in on')), lines.join('\n'));
  assert.ok(lines.includes('tend.yaml:5:22: alerts.cpu_high.above must be a percentage with its unit, like 90% (100% = one core), got 90'), lines.join('\n'));
  assert.equal(s.services[0]!.replicas[0]!.pid, before, 'the service runs on');
  // The last good tend.yaml is in force: scaling still reaches the webhook.
  writeFileSync(join(dir, 'w.yaml'), 'command: ["sleep", "1000"]\nreplicas: 2\n');
  await waitFor(() => r.received.some((x) => (x.body as { event: TendEvent }).event.type === 'service.scaled'), { what: 'scaled webhook', timeoutMs: 30_000 });
});

test('a FIFO (or a device) where tend.yaml should be is reported like a spec file, never waited on: the daemon answers and runs the services', { timeout: 60_000 }, async (t) => {
  const { root, dir, state } = specDir(t, { 'w.yaml': 'command: ["sleep", "1000"]\n' });
  const fifo = join(root, 'tend.fifo');
  execFileSync('mkfifo', [fifo]);
  // The daemon hung in open() of the FIFO before its socket was bound: nothing could reach or stop it.
  const d = await startDaemon(t, dir, state, { env: { TEND_CONFIG: fifo } });
  const s = await waitFor(async () => {
    const r = await d.status();
    return r.services[0]?.ready === 1 && r.errors.length > 0 ? r : undefined;
  }, { what: 'w ready, tend.yaml reported' });
  assert.deepEqual(s.errors.map((e) => `${e.file}: ${e.message}`), [`${fifo}: the file is a FIFO (named pipe), not a regular file`]);
});
