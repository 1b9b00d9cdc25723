// notify through the real daemon (a separate process): readiness by READY gating a dependent, the
// last STATUS in `status`, typed events in the event history, the watchdog restarting a silent
// replica, counters in /metrics, and a SIGKILL of tend followed by a new one: replicas reconnect
// (stream) or keep sending (datagrams to the re-created socket) and no false `stale` is seen.

import { strict as assert } from 'node:assert';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { ServiceStatus, StatusReport, TendEvent } from '../../src/api/types.js';
import { fixture, specDir, waitFor } from '../helpers/index.js';
import { runningPids, startDaemon } from '../helpers/daemon.js';

const yamlArgv = (argv: string[]) => JSON.stringify(argv);
const svc = (s: StatusReport, name: string): ServiceStatus => s.services.find((x) => x.name === name)!;
const ofType = (events: TendEvent[], type: string, service?: string) =>
  events.filter((e) => e.type === type && (service === undefined || e.service === service));

test('a library client from the npm registry (systemd-daemon 1.1.2) works unchanged: STATUS, READY, WATCHDOG', async (t) => {
  const { root, dir, state } = specDir(t, {});
  const go = join(root, 'go');
  writeFileSync(
    join(dir, 'lib.yaml'),
    [`command: ${yamlArgv(fixture('sd-daemon-client.cjs', go))}`, 'notify: systemd', 'readiness: { notify: true, timeout: 60s }', 'watchdog: 1s', 'stop_timeout: 2s'].join('\n'),
  );
  const d = await startDaemon(t, dir, state);
  const warming = await waitFor(
    async () => {
      const s = await d.status();
      return svc(s, 'lib')?.replicas[0]?.status_text === 'warming' ? s : undefined;
    },
    { what: 'lib status "warming"', timeoutMs: 15_000 },
  );
  assert.equal(svc(warming, 'lib').replicas[0]!.ready, false);
  writeFileSync(go, '');
  const s = await d.converged((x) => svc(x, 'lib').replicas[0]?.ready === true && svc(x, 'lib').replicas[0]!.status_text === 'serving');
  const pid = svc(s, 'lib').replicas[0]!.pid;
  // Heartbeats keep coming for more than three watchdog periods: no stale, no restart.
  const messages = async () => [...(await d.api.metrics()).matchAll(/^tend_notify_messages_total\{[^}]*\} (\d+)/gm)].reduce((n, m) => n + Number(m[1]), 0);
  const base = await messages();
  await waitFor(async () => (await messages()) - base >= 20, { what: '20 more notify messages (4 s of WATCHDOG=1)', timeoutMs: 30_000 });
  const h = await d.api.eventHistory(500);
  assert.deepEqual(ofType(h, 'replica.stale', 'lib'), []);
  assert.equal(svc(await d.status(), 'lib').replicas[0]!.pid, pid);
});

test('READY from systemd-notify gates a dependent; STATUS is shown; typed events are checked and recorded', async (t) => {
  const { root, dir, state } = specDir(t, {});
  const go = join(root, 'go');
  writeFileSync(
    join(dir, 'app.yaml'),
    [
      // A shell script whose start-up ends when the test says so; systemd-notify (Debian) is the sender.
      `command: 'systemd-notify --status="loading"; while [ ! -f ${go} ]; do sleep 0.05; done; systemd-notify --ready --status="serving"; exec sleep 1000'`,
      'notify: systemd',
      'readiness: { notify: true, timeout: 60s }',
      'stop_timeout: 2s',
    ].join('\n'),
  );
  writeFileSync(join(dir, 'web.yaml'), 'command: ["sleep", "1000"]\ndepends_on: { app: healthy }\nstop_timeout: 2s\n');
  writeFileSync(
    join(dir, 'worker.yaml'),
    [
      `command: ${yamlArgv(fixture('notify-client.mjs', 'ready-events', 3))}`,
      'readiness: { notify: true }',
      'events:',
      '  progress:',
      '    type: object',
      '    required: [done, total]',
      '    properties: { done: { type: integer }, total: { type: integer } }',
      'stop_timeout: 2s',
    ].join('\n'),
  );
  writeFileSync(
    join(dir, 'meta.yaml'),
    [`command: ${yamlArgv(fixture('notify-client.mjs', 'metadata'))}`, 'readiness: { notify: true }', 'metadata: { region: eu, shard: 3 }', 'stop_timeout: 2s'].join('\n'),
  );
  writeFileSync(
    join(dir, 'bad.yaml'),
    [`command: ${yamlArgv(fixture('notify-client.mjs', 'invalid'))}`, 'events:', '  progress: { type: object, required: [done], properties: { done: { type: integer } } }', 'stop_timeout: 2s'].join('\n'),
  );
  const d = await startDaemon(t, dir, state);

  // app said STATUS but not READY: it is starting, and web waits for it.
  const waiting = await waitFor(
    async () => {
      const s = await d.status();
      return svc(s, 'app')?.replicas[0]?.status_text === 'loading' ? s : undefined;
    },
    { what: 'app status "loading"', timeoutMs: 15_000 },
  );
  assert.equal(svc(waiting, 'app').replicas[0]!.ready, false);
  assert.equal(svc(waiting, 'web').waiting_for, 'app: healthy');
  assert.equal(svc(waiting, 'web').replicas[0]!.pid, null);

  writeFileSync(go, '');
  const s = await d.converged((x) => runningPids(x).length === 5 && svc(x, 'app').replicas[0]!.status_text === 'serving');
  assert.equal(svc(s, 'meta').replicas[0]!.status_text, 'metadata {"region":"eu","shard":3}');

  const events = await waitFor(
    async () => {
      const h = await d.api.eventHistory(500);
      return ofType(h, 'replica.event', 'worker').length === 3 && ofType(h, 'replica.event.invalid', 'bad').length === 2 ? h : undefined;
    },
    { what: 'events recorded' },
  );
  const readyAt = events.findIndex((e) => e.type === 'replica.ready' && e.service === 'app');
  const webAt = events.findIndex((e) => e.type === 'replica.starting' && e.service === 'web');
  assert.ok(readyAt >= 0 && webAt > readyAt, 'web started only after app said READY');
  assert.deepEqual(
    ofType(events, 'replica.event', 'worker').map((e) => e.data),
    [1, 2, 3].map((done) => ({ done, total: 3 })),
  );
  assert.equal(ofType(events, 'replica.event', 'worker')[0]!.name, 'progress');
  const invalid = ofType(events, 'replica.event.invalid', 'bad');
  assert.match(invalid[0]!.message as string, /event "progress": data\/done must be integer/);
  assert.match(invalid[1]!.message as string, /unknown event "nope"/);
  assert.deepEqual(invalid.map((e) => e.reason), ['EventInvalid', 'EventUnknown']);
  assert.equal(ofType(events, 'replica.event', 'bad').length, 0, 'invalid events are not forwarded');
  assert.deepEqual(ofType(events, 'replica.status', 'app').map((e) => e.message), ['loading', 'serving']);

  const metrics = await d.api.metrics();
  assert.match(metrics, /tend_notify_messages_total\{kind="ready"\} 3/);
  assert.match(metrics, /tend_notify_dropped_total\{reason="invalid_event"\} 1/);
  assert.match(metrics, /tend_notify_dropped_total\{reason="unknown_event"\} 1/);
  await d.api.shutdown();
  await d.exited;
});

test('watchdog: a replica whose heartbeats stop is stale and restarted; one that does not say READY in time too', async (t) => {
  const { dir, state } = specDir(t, {
    'beat.yaml': [
      `command: ${yamlArgv(fixture('notify-client.mjs', 'heartbeat-then-stop', 800))}`,
      'readiness: { notify: true }',
      'watchdog: 600ms',
      'backoff: { initial: 50ms }',
      'stop_timeout: 2s',
    ].join('\n'),
    'mute.yaml': ['command: ["sleep", "1000"]', 'readiness: { notify: true, timeout: 300ms }', 'backoff: { initial: 50ms }', 'stop_timeout: 2s'].join('\n'),
    // The same as beat, with a back-off long enough that the alert engine sees it stale before it
    // starts again (the watchdog_stale alert, on by default, holds until then).
    'slow.yaml': [
      `command: ${yamlArgv(fixture('notify-client.mjs', 'heartbeat-then-stop', 800))}`,
      'readiness: { notify: true }',
      'watchdog: 600ms',
      'backoff: { initial: 3s }',
      'stop_timeout: 2s',
    ].join('\n'),
  });
  const d = await startDaemon(t, dir, state);
  const alertOf = (h: TendEvent[], type: string) => h.filter((e) => e.type === type && e.alert === 'watchdog_stale' && e.service === 'slow');
  const events = await waitFor(
    async () => {
      const h = await d.api.eventHistory(1000);
      const beatRestarted = ofType(h, 'replica.stale', 'beat').length >= 1 && ofType(h, 'replica.restarting', 'beat').length >= 1;
      const muteRestarted = ofType(h, 'replica.unhealthy', 'mute').length >= 1 && ofType(h, 'replica.restarting', 'mute').length >= 1;
      const alerted = alertOf(h, 'alert.firing').length >= 1 && alertOf(h, 'alert.resolved').length >= 1;
      return beatRestarted && muteRestarted && alerted ? h : undefined;
    },
    { what: 'both restarted', timeoutMs: 45_000 },
  );
  assert.match(ofType(events, 'replica.stale', 'beat')[0]!.message as string, /^watchdog: no heartbeat for \d+ ms$/);
  assert.match(ofType(events, 'replica.unhealthy', 'mute')[0]!.message as string, /^readiness: no READY within 300 ms$/);
  // The stale replica was stopped by tend (not by itself) and started again.
  const stopping = ofType(events, 'replica.stopping', 'beat')[0]!;
  assert.match(String(stopping.message), /watchdog/);
  assert.equal(stopping.reason, 'WatchdogStale');
  // The alert fired after the stale event, and resolved once the replica started again.
  const staleAt = events.findIndex((e) => e.type === 'replica.stale' && e.service === 'slow');
  const firedAt = events.indexOf(alertOf(events, 'alert.firing')[0]!);
  const resolvedAt = events.indexOf(alertOf(events, 'alert.resolved')[0]!);
  const restartedAt = events.findIndex((e, n) => n > staleAt && e.type === 'replica.started' && e.service === 'slow');
  assert.ok(staleAt >= 0 && staleAt < firedAt && firedAt < resolvedAt && restartedAt < resolvedAt, JSON.stringify({ staleAt, firedAt, resolvedAt, restartedAt }));
  assert.equal(alertOf(events, 'alert.firing')[0]!.replica, 0);
  await d.api.shutdown();
  await d.exited;
});

test('kill -9 of tend and a new up: datagram and stream senders carry on, watchdogs resume without a false stale', async (t) => {
  const { dir, state } = specDir(t, {
    'sd.yaml': [
      `command: 'systemd-notify --ready; n=0; while :; do n=$((n+1)); systemd-notify WATCHDOG=1 "STATUS=tick $n"; sleep 0.2; done'`,
      'notify: systemd',
      'readiness: { notify: true }',
      'watchdog: 3s',
      'stop_timeout: 2s',
    ].join('\n'),
    'js.yaml': [`command: ${yamlArgv(fixture('notify-client.mjs', 'tick', 200))}`, 'readiness: { notify: true }', 'watchdog: 3s', 'stop_timeout: 2s'].join('\n'),
  });
  const d1 = await startDaemon(t, dir, state);
  // Generous deadlines: two daemons, a helper and a shell loop forking systemd-notify on a busy machine.
  let seen = '';
  const before = runningPids(
    await waitFor(
      async () => {
        const s = await d1.status();
        seen = JSON.stringify(s.services.map((x) => [x.name, x.replicas.map((r) => [r.state, r.ready, r.status_text, r.reason])]));
        return s.converged && runningPids(s).length === 2 && s.services.every((x) => x.replicas[0]!.ready) ? s : undefined;
      },
      { what: 'd1 converged', timeoutMs: 45_000 },
    ).catch((err) => {
      throw new Error(`${err.message}: ${seen}`);
    }),
  );
  d1.child.kill('SIGKILL');
  await d1.exited;

  const d2 = await startDaemon(t, dir, state);
  const ticks = (s: StatusReport, name: string) => Number(svc(s, name).replicas[0]!.status_text?.replace('tick ', '') ?? 0);
  let seen2 = '';
  const first = await waitFor(
    async () => {
      const s = await d2.status();
      seen2 = JSON.stringify([s.converged, s.services.map((x) => [x.name, x.state, x.replicas.map((r) => [r.state, r.pid, r.ready, r.status_text, r.reason])])]);
      return s.converged && runningPids(s).length === 2 && ticks(s, 'sd') > 0 && ticks(s, 'js') > 0 ? s : undefined;
    },
    { what: 'd2 converged', timeoutMs: 45_000 },
  ).catch(async (err) => {
    const h = await d2.api.eventHistory(2000);
    throw new Error(`${err.message}: ${seen2} ${JSON.stringify(h.filter((e) => e.type !== 'replica.status').map((e) => `${e.type} ${e.service} ${e.message}`))}`);
  });
  assert.deepEqual(runningPids(first), before, 'adopted, not restarted');
  assert.ok(first.services.every((x) => x.replicas[0]!.ready), 'still ready: READY was kept with the replica');
  // Both keep talking to the new tend for longer than two watchdog periods (ticks are 200 ms apart).
  await waitFor(
    async () => {
      const s = await d2.status();
      return ticks(s, 'sd') >= ticks(first, 'sd') + 30 && ticks(s, 'js') >= ticks(first, 'js') + 30;
    },
    { what: '30 more ticks from both', timeoutMs: 45_000, intervalMs: 200 },
  );
  const history = await d2.api.eventHistory(2000);
  assert.deepEqual(ofType(history, 'replica.stale'), [], 'no false stale');
  const last = await d2.status();
  assert.deepEqual(runningPids(last), before);
  assert.ok(last.services.every((x) => x.replicas[0]!.restarts === 0));
  await d2.api.shutdown();
  await d2.exited;
});
