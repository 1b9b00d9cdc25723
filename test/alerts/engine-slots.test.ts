// The alert engine evaluates the replica slots an event concerns, not the whole service: at 5000
// replicas a crash used to observe and evaluate all 5000 (7 ms), twice (the exit, the restart).
// The observations come from a table here (the engine's input is plain data); which slots the
// engine asks for is what is tested, with the alerts it announces.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AlertEngine } from '../../src/alerts/engine.js';
import type { ReplicaObservation } from '../../src/alerts/evaluate.js';
import type { EventBody, TendEvent } from '../../src/reconcile/events.js';
import { DEFAULT_ALERT_RULES } from '../../src/spec/hook-types.js';

test('alerts: an event re-evaluates its replica slot; a service event, a spec load or the clock what they concern', () => {
  let now = 1_000_000;
  const replicas = new Map([['big', 1000], ['small', 1]]);
  const failed = new Set<string>();
  const notReady = new Set<string>();
  const observed: string[] = [];
  const listeners: ((e: TendEvent) => void)[] = [];
  const emitted: EventBody[] = [];
  const deliver = (e: Omit<TendEvent, 'ts'>) => listeners.forEach((l) => l({ ...e, ts: new Date(now).toISOString() } as TendEvent));
  const engine = new AlertEngine({
    events: {
      subscribe: (l) => (listeners.push(l), () => {}),
      emit: (e) => (emitted.push(e), { ...e, ts: new Date(now).toISOString() } as TendEvent),
    },
    services: () => replicas.keys(),
    observe: (service, facts, only) => {
      observed.push(`${service}:${only ? [...only].sort((a, b) => a - b).join(',') : 'all'}`);
      const out: ReplicaObservation[] = [];
      for (let replica = 0; replica < replicas.get(service)!; replica++) {
        if (only && !only.has(replica)) continue;
        const slot = `${service}/${replica}`;
        out.push({ service, replica, failed: failed.has(slot), notReady: notReady.has(slot), restarts: facts.restarts(slot), cpu: null, memory: null, stale: facts.stale(slot) });
      }
      return out;
    },
    rulesOf: () => ({ ...DEFAULT_ALERT_RULES, unhealthy_for: { forMs: 1000 } }),
    intervalMs: 3_600_000,
    now: () => now,
  });
  engine.start();
  try {
    const step = (what: () => void) => {
      observed.length = 0;
      emitted.length = 0;
      what();
      engine.evaluate();
      return { observed: [...observed].sort(), emitted: emitted.map((e) => `${e.type} ${'alert' in e ? e.alert : ''} ${'service' in e ? e.service : ''}/${'replica' in e ? e.replica : ''}`) };
    };

    assert.deepEqual(step(() => {}).observed, ['big:all', 'small:all'], 'start-up evaluates everything');
    assert.deepEqual(step(() => {}), { observed: [], emitted: [] }, 'nothing changed: nothing observed');

    // A crash loop of big/7: its slot alone is observed; the alert fires, and resolves on restart.
    let r = step(() => {
      failed.add('big/7');
      deliver({ type: 'replica.failed', service: 'big', replica: 7, reason: 'CrashLoop', message: 'gave up' });
    });
    assert.deepEqual(r, { observed: ['big:7'], emitted: ['alert.firing crash_loop big/7'] });
    assert.deepEqual(engine.firing().map((a) => `${a.alert} ${a.service}/${a.replica}`), ['crash_loop big/7']);
    r = step(() => {
      failed.delete('big/7');
      deliver({ type: 'replica.started', service: 'big', replica: 7, pid: 4242, message: 'started' });
    });
    assert.deepEqual(r, { observed: ['big:7'], emitted: ['alert.resolved crash_loop big/7'] });
    assert.deepEqual(engine.firing(), []);

    // Two slots in one evaluation; one pending until its `for` has passed: the clock then
    // re-evaluates that slot alone.
    r = step(() => {
      notReady.add('big/9');
      deliver({ type: 'replica.unready', service: 'big', replica: 9, message: 'probe failed' });
      deliver({ type: 'replica.started', service: 'big', replica: 12, pid: 4243, message: 'started' });
    });
    assert.deepEqual(r, { observed: ['big:9,12'], emitted: [] }, 'pending, not firing yet');
    now += 999;
    assert.deepEqual(step(() => {}), { observed: [], emitted: [] }, 'not due yet');
    now += 1;
    assert.deepEqual(step(() => {}), { observed: ['big:9'], emitted: ['alert.firing unhealthy_for big/9'] });
    // Two slots whose `for` runs out at the same moment: the clock re-evaluates both.
    step(() => {
      for (const replica of [20, 21]) {
        notReady.add(`big/${replica}`);
        deliver({ type: 'replica.unready', service: 'big', replica, message: 'probe failed' });
      }
    });
    now += 1000;
    assert.deepEqual(step(() => {}), { observed: ['big:20,21'], emitted: ['alert.firing unhealthy_for big/20', 'alert.firing unhealthy_for big/21'] });
    for (const replica of [20, 21]) {
      notReady.delete(`big/${replica}`);
      deliver({ type: 'replica.ready', service: 'big', replica, message: 'probe passed' });
    }
    engine.evaluate();

    // An event about the service as a whole (a scale) re-evaluates all of its slots: scaled down
    // to 5 replicas, big/9 is no longer observed and its alert resolves.
    r = step(() => {
      replicas.set('big', 5);
      deliver({ type: 'service.scaled', service: 'big', message: '1000 → 5', from: 1000, to: 5 });
    });
    assert.deepEqual(r, { observed: ['big:all'], emitted: ['alert.resolved unhealthy_for big/9'] });
    assert.deepEqual(engine.firing(), []);

    // A spec load re-evaluates every service.
    assert.deepEqual(step(() => deliver({ type: 'spec.loaded', reason: 'SpecLoaded', message: '2 services' })).observed, ['big:all', 'small:all']);
    // The engine's own events change no observation.
    assert.deepEqual(step(() => deliver({ type: 'alert.firing', service: 'small', replica: 0, alert: 'crash_loop', message: 'x' })).observed, []);
  } finally {
    engine.stop();
  }
});
