// Table tests of what a replica's own reports do to it (the notify kinds of the pure fold,
// src/reconcile/observe.ts): READY as readiness only with `readiness: { notify: true }`, READY
// before the spawn returned, STATUS text, a stale watchdog and a missed READY deadline taking the
// liveness path, typed events, and the hub's callbacks mapped onto these reports (notify/wire.ts).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fold, type NotifyReport, type Observed } from '../../src/reconcile/observe.js';
import type { Instance } from '../../src/reconcile/types.js';
import { notifyHandlers } from '../../src/notify/wire.js';
import { inst, spec } from '../helpers/world.js';

const byNotify = spec('idx', { notify: { systemd: false, readyTimeoutMs: 5000, events: {} } });
const plain = spec('web');
const probed = spec('api', { readiness: { check: { kind: 'tcp', host: '127.0.0.1', port: '1' }, intervalMs: 1000, timeoutMs: 1000, failureThreshold: 3, successThreshold: 1, startPeriodMs: 0 } });
const handle = { pid: 4242, pgid: 4242, startTime: 7, startedAt: 1 };

const run = (i: Instance, ev: Observed) => fold(i, ev, 1000, 0.5);
const summary = (r: ReturnType<typeof run>) =>
  `${r.next.state} ready=${r.next.ready} said=${r.next.notify?.ready ?? false}${r.next.notify?.watchdogMs ? ` watchdog=${r.next.notify.watchdogMs}` : ''}${r.next.restartRequested ? ` restart=${r.next.restartReason}` : ''} | ${r.events.map((e) => `${e.type}${'reason' in e && e.reason ? `(${e.reason})` : ''}`).join(' ')}`;

const cases: Record<string, { i: () => Instance; ev: Observed; expect: string }> = {
  'READY makes a starting replica running and ready (readiness: notify)': {
    i: () => inst(byNotify, 0, 'starting', { ready: false, notify: { token: 't', ready: false } }),
    ev: { kind: 'notify-ready' },
    expect: 'running ready=true said=true | replica.ready(NotifyReady)',
  },
  'READY before the spawn returned is remembered, not applied yet': {
    i: () => inst(byNotify, 0, 'starting', { ready: false, pid: undefined, pgid: undefined, notify: { token: 't', ready: false } }),
    ev: { kind: 'notify-ready' },
    expect: 'starting ready=false said=true | ',
  },
  '... and the spawn then finds it ready': {
    i: () => inst(byNotify, 0, 'starting', { ready: false, pid: undefined, pgid: undefined, notify: { token: 't', ready: true } }),
    ev: { kind: 'spawned', handle },
    expect: 'running ready=true said=true | replica.started replica.ready(NotifyReady)',
  },
  'a spawn without READY waits in starting (readiness: notify)': {
    i: () => inst(byNotify, 0, 'starting', { ready: false, pid: undefined, pgid: undefined, notify: { token: 't', ready: false } }),
    ev: { kind: 'spawned', handle },
    expect: 'starting ready=false said=false | replica.started',
  },
  'an adopted replica that said READY under the last tend is ready at once, silently': {
    i: () => inst(byNotify, 0, 'starting', { ready: false, pid: undefined, pgid: undefined, notify: { token: 't', ready: true } }),
    ev: { kind: 'spawned', handle, adopted: true },
    expect: 'running ready=true said=true | replica.adopted(Adopted)',
  },
  'READY is not readiness when a probe decides it': {
    i: () => inst(probed, 0, 'starting', { ready: false, notify: { token: 't', ready: false } }),
    ev: { kind: 'notify-ready' },
    expect: 'starting ready=false said=true | ',
  },
  'READY without readiness: notify is only remembered': {
    i: () => inst(plain, 0, 'running', { ready: false, notify: { token: 't', ready: false } }),
    ev: { kind: 'notify-ready' },
    expect: 'running ready=false said=true | ',
  },
  'STATUS is kept and announced': {
    i: () => inst(plain, 0, 'running'),
    ev: { kind: 'status-text', text: 'indexing 3/10' },
    expect: 'running ready=true said=false | replica.status(NotifyStatus)',
  },
  'the same STATUS again (a reconnecting client) is not news': {
    i: () => inst(plain, 0, 'running', { statusText: 'serving' }),
    ev: { kind: 'status-text', text: 'serving' },
    expect: 'running ready=true said=false | ',
  },
  'a stale watchdog asks for a restart': {
    i: () => inst(plain, 0, 'running'),
    ev: { kind: 'stale', message: 'watchdog: no heartbeat for 700 ms' },
    expect: 'running ready=true said=false restart=WatchdogStale | replica.stale(WatchdogStale)',
  },
  'a stale watchdog on a stopping replica changes nothing': {
    i: () => inst(plain, 0, 'stopping'),
    ev: { kind: 'stale', message: 'watchdog: no heartbeat for 700 ms' },
    expect: 'stopping ready=false said=false | ',
  },
  'no READY in time: unhealthy, the liveness path': {
    i: () => inst(byNotify, 0, 'starting', { ready: false }),
    ev: { kind: 'ready-timeout', message: 'readiness: no READY within 5000 ms' },
    expect: 'starting ready=false said=false restart=NotifyReadyTimeout | replica.unhealthy(NotifyReadyTimeout)',
  },
  'a late deadline for a replica that is ready changes nothing': {
    i: () => inst(byNotify, 0, 'running'),
    ev: { kind: 'ready-timeout', message: 'readiness: no READY within 5000 ms' },
    expect: 'running ready=true said=false | ',
  },
  'a typed event is forwarded, the replica unchanged': {
    i: () => inst(plain, 0, 'running'),
    ev: { kind: 'notify-event', name: 'progress', data: { done: 1 } },
    expect: 'running ready=true said=false | replica.event',
  },
  'a refused event is reported with its reason': {
    i: () => inst(plain, 0, 'running'),
    ev: { kind: 'notify-event-invalid', name: 'progress', reason: 'EventInvalid', message: 'data/done must be integer' },
    expect: 'running ready=true said=false | replica.event.invalid(EventInvalid)',
  },
  'STOPPING is announced': {
    i: () => inst(plain, 0, 'running'),
    ev: { kind: 'notify-state', reason: 'NotifyStopping', message: 'STOPPING' },
    expect: 'running ready=true said=false | replica.status(NotifyStopping)',
  },
  'WATCHDOG_USEC= from the replica is kept with its session, silently': {
    i: () => inst(plain, 0, 'running', { notify: { token: 't', ready: false } }),
    ev: { kind: 'watchdog-period', ms: 8000 },
    expect: 'running ready=true said=false watchdog=8000 | ',
  },
  '... and READY after it keeps the period': {
    i: () => inst(byNotify, 0, 'starting', { ready: false, notify: { token: 't', ready: false, watchdogMs: 8000 } }),
    ev: { kind: 'notify-ready' },
    expect: 'running ready=true said=true watchdog=8000 | replica.ready(NotifyReady)',
  },
  'resume of a notify replica that had said READY: ready again': {
    i: () => inst(byNotify, 0, 'paused', { ready: false, notify: { token: 't', ready: true } }),
    ev: { kind: 'resumed' },
    expect: 'running ready=true said=true | replica.resumed(Resumed)',
  },
  'resume of a notify replica that had not: starting again': {
    i: () => inst(byNotify, 0, 'paused', { ready: false, notify: { token: 't', ready: false } }),
    ev: { kind: 'resumed' },
    expect: 'starting ready=false said=false | replica.resumed(Resumed)',
  },
};

for (const [name, c] of Object.entries(cases)) {
  test(`notify fold: ${name}`, () => {
    assert.equal(summary(run(c.i(), c.ev)), c.expect);
  });
}

test('notify fold: events carry the replica, the name, the data and the texts', () => {
  const i = inst(plain, 2, 'running');
  const ev = run(i, { kind: 'notify-event', name: 'progress', data: { done: 3, total: 10 } }).events[0];
  assert.deepEqual(ev, { type: 'replica.event', service: 'web', replica: 2, pid: i.pid, name: 'progress', data: { done: 3, total: 10 } });
  const st = run(i, { kind: 'status-text', text: 'loading' });
  assert.equal(st.next.statusText, 'loading');
  assert.deepEqual(st.events[0], { type: 'replica.status', service: 'web', replica: 2, pid: i.pid, reason: 'NotifyStatus', message: 'loading' });
});

test("the hub's callbacks become reports: every sd_notify and stream message kind, timeouts and refusals", () => {
  const got: [string, NotifyReport][] = [];
  const h = notifyHandlers((id, ev) => got.push([id, ev]));
  h.onMessage('a#1', { kind: 'ready' });
  h.onMessage('a#1', { kind: 'status', text: 'serving' });
  h.onMessage('a#1', { kind: 'event', name: 'progress', data: 1 });
  h.onMessage('a#1', { kind: 'stopping' });
  h.onMessage('a#1', { kind: 'reloading' });
  h.onMessage('a#1', { kind: 'errno', errno: 5 });
  // The hub's own deadlines: nothing for the engine.
  h.onMessage('a#1', { kind: 'heartbeat' });
  h.onMessage('a#1', { kind: 'extendTimeout', ms: 1000 });
  // Its own watchdog period: the hub times it, the engine keeps it with the replica.
  h.onMessage('a#1', { kind: 'watchdogPeriod', ms: 1000 });
  h.onTimeout!('a#1', 'watchdog', 812);
  h.onTimeout!('a#1', 'ready', 300);
  h.onRejected!('a#1', 'unknown_event', 'unknown event "nope" (declared: progress)', 'nope');
  h.onRejected!('a#1', 'invalid_event', 'event "progress": data/done must be integer', 'progress');
  assert.deepEqual(
    got.map(([id, ev]) => [id, ev]),
    [
      ['a#1', { kind: 'notify-ready' }],
      ['a#1', { kind: 'status-text', text: 'serving' }],
      ['a#1', { kind: 'notify-event', name: 'progress', data: 1 }],
      ['a#1', { kind: 'notify-state', reason: 'NotifyStopping', message: 'STOPPING' }],
      ['a#1', { kind: 'notify-state', reason: 'NotifyReloading', message: 'RELOADING' }],
      ['a#1', { kind: 'notify-state', reason: 'NotifyErrno', message: 'ERRNO=5' }],
      ['a#1', { kind: 'watchdog-period', ms: 1000 }],
      ['a#1', { kind: 'stale', message: 'watchdog: no heartbeat for 812 ms' }],
      ['a#1', { kind: 'ready-timeout', message: 'readiness: no READY within 300 ms' }],
      ['a#1', { kind: 'notify-event-invalid', name: 'nope', reason: 'EventUnknown', message: 'unknown event "nope" (declared: progress)' }],
      ['a#1', { kind: 'notify-event-invalid', name: 'progress', reason: 'EventInvalid', message: 'event "progress": data/done must be integer' }],
    ],
  );
});
