// The alert evaluator as a table: each case is a sequence of observations of one replica over
// time, with the transitions each step must produce. First case: all is well, nothing happens.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EMPTY_ALERT_STATE, evaluateAlerts, type AlertState, type ReplicaObservation } from '../../src/alerts/evaluate.js';
import { DEFAULT_ALERT_RULES, effectiveRules, type AlertRules } from '../../src/spec/hook-types.js';

const healthy: ReplicaObservation = { service: 'web', replica: 0, failed: false, notReady: false, restarts: [], cpu: 10, memory: 50 * 1024 ** 2, stale: false };
const MiB = 1024 ** 2;

const ALL: AlertRules = {
  crash_loop: { forMs: 0 },
  restart_rate: { max: 2, windowMs: 60_000 },
  unhealthy_for: { forMs: 30_000 },
  cpu_high: { percent: 90, forMs: 10_000 },
  memory_high: { bytes: 100 * MiB, forMs: 10_000 },
  watchdog_stale: { forMs: 0 },
};

interface Step {
  at: number;
  obs?: Partial<ReplicaObservation> | null; // null: the replica is gone
  expect: string[]; // `firing crash_loop web/0: summary` ...
  /** When the clock alone could change the answer (nextAt); checked where given, null for never. */
  next?: number | null;
}

const cases: Record<string, { rules?: AlertRules; steps: Step[] }> = {
  'a healthy replica: nothing fires, ever': { steps: [{ at: 0, expect: [], next: null }, { at: 600_000, expect: [], next: null }] },
  'a crash loop fires at once, once, and resolves once when the replica runs again': {
    steps: [
      { at: 0, obs: { failed: true, reason: 'exited 10 times in 5m' }, expect: ['firing crash_loop web/0: web/0 is failed: exited 10 times in 5m'] },
      { at: 1000, obs: { failed: true, reason: 'exited 10 times in 5m' }, expect: [] },
      { at: 2000, obs: {}, expect: ['resolved crash_loop web/0: resolved: web/0 is failed: exited 10 times in 5m'] },
      { at: 3000, obs: {}, expect: [] },
    ],
  },
  'crash loop with a duration: pending first, fires once held': {
    rules: { ...ALL, crash_loop: { forMs: 5000 } },
    steps: [
      { at: 0, obs: { failed: true }, expect: [], next: 5000 },
      { at: 4999, obs: { failed: true }, expect: [], next: 5000 },
      { at: 5000, obs: { failed: true }, expect: ['firing crash_loop web/0: web/0 is failed'], next: null },
    ],
  },
  'a condition that clears while pending never fires nor resolves': {
    rules: { ...ALL, crash_loop: { forMs: 5000 } },
    steps: [
      { at: 0, obs: { failed: true }, expect: [] },
      { at: 3000, obs: {}, expect: [] },
      { at: 4000, obs: { failed: true }, expect: [] },
      { at: 8999, obs: { failed: true }, expect: [] },
      { at: 9000, obs: { failed: true }, expect: ['firing crash_loop web/0: web/0 is failed'] },
    ],
  },
  'more than N restarts in the window fires; it resolves when old restarts leave the window': {
    steps: [
      { at: 10_000, obs: { restarts: [1000, 5000] }, expect: [], next: 61_000 },
      { at: 11_000, obs: { restarts: [1000, 5000, 11_000] }, expect: ['firing restart_rate web/0: web/0 restarted 3 times in 1m (more than 2)'], next: 61_000 },
      { at: 30_000, obs: { restarts: [1000, 5000, 11_000] }, expect: [], next: 61_000 },
      { at: 61_000, obs: { restarts: [1000, 5000, 11_000] }, expect: ['resolved restart_rate web/0: resolved: web/0 restarted 3 times in 1m (more than 2)'], next: 65_000 },
      { at: 71_000, obs: { restarts: [1000, 5000, 11_000] }, expect: [], next: null },
    ],
  },
  'unhealthy for D: fires after D of not being ready, resolves when ready': {
    steps: [
      { at: 0, obs: { notReady: true }, expect: [], next: 30_000 },
      { at: 29_999, obs: { notReady: true }, expect: [], next: 30_000 },
      { at: 30_000, obs: { notReady: true }, expect: ['firing unhealthy_for web/0: web/0 has not been ready for 30s'] },
      { at: 31_000, obs: {}, expect: ['resolved unhealthy_for web/0: resolved: web/0 has not been ready for 30s'] },
    ],
  },
  'CPU above the threshold for D fires; a dip below restarts the clock': {
    steps: [
      { at: 0, obs: { cpu: 95 }, expect: [] },
      { at: 5000, obs: { cpu: 80 }, expect: [] },
      { at: 6000, obs: { cpu: 95 }, expect: [] },
      { at: 15_999, obs: { cpu: 99 }, expect: [] },
      { at: 16_000, obs: { cpu: 99 }, expect: ['firing cpu_high web/0: web/0 uses 99% CPU, above 90% for 10s'] },
      { at: 17_000, obs: { cpu: 90 }, expect: ['resolved cpu_high web/0: resolved: web/0 uses 99% CPU, above 90% for 10s'] },
    ],
  },
  'memory above the threshold for D fires; no sample is not above': {
    steps: [
      { at: 0, obs: { memory: 200 * MiB }, expect: [] },
      { at: 10_000, obs: { memory: 200 * MiB }, expect: ['firing memory_high web/0: web/0 uses 200Mi of memory, above 100Mi for 10s'] },
      { at: 11_000, obs: { memory: null }, expect: ['resolved memory_high web/0: resolved: web/0 uses 200Mi of memory, above 100Mi for 10s'] },
    ],
  },
  'a stale watchdog fires at once and resolves when the replica is started again': {
    steps: [
      { at: 0, obs: { stale: true }, expect: ['firing watchdog_stale web/0: web/0 stopped sending watchdog heartbeats'] },
      { at: 500, obs: {}, expect: ['resolved watchdog_stale web/0: resolved: web/0 stopped sending watchdog heartbeats'] },
    ],
  },
  'a replica that goes away (scaled down, service removed) resolves what fired for it': {
    steps: [
      { at: 0, obs: { failed: true }, expect: ['firing crash_loop web/0: web/0 is failed'] },
      { at: 100, obs: null, expect: ['resolved crash_loop web/0: resolved: web/0 is failed'] },
    ],
  },
  'rules that are off never fire': {
    rules: { ...DEFAULT_ALERT_RULES, crash_loop: false },
    steps: [{ at: 0, obs: { failed: true, cpu: 400, memory: 10 * 1024 ** 3, restarts: [0, 0, 0, 0, 0], notReady: true }, expect: [] }],
  },
  'several rules at once fire independently': {
    steps: [
      { at: 0, obs: { failed: true, stale: true }, expect: ['firing crash_loop web/0: web/0 is failed', 'firing watchdog_stale web/0: web/0 stopped sending watchdog heartbeats'] },
      { at: 1, obs: { failed: true }, expect: ['resolved watchdog_stale web/0: resolved: web/0 stopped sending watchdog heartbeats'] },
    ],
  },
};

for (const [name, c] of Object.entries(cases)) {
  test(`alerts: ${name}`, () => {
    let state: AlertState = EMPTY_ALERT_STATE;
    for (const step of c.steps) {
      const obs = step.obs === null ? [] : [{ ...healthy, ...step.obs }];
      const r = evaluateAlerts(state, obs, () => c.rules ?? ALL, step.at);
      state = r.state;
      const got = r.transitions.map((t) => `${t.kind} ${t.alert} ${t.service}/${t.replica}: ${t.summary}`).sort();
      assert.deepEqual(got, [...step.expect].sort(), `at ${step.at}`);
      if (step.next !== undefined) assert.equal(r.nextAt, step.next ?? undefined, `nextAt at ${step.at}`);
      // Every firing alert is listed as firing until it resolves.
      for (const t of r.transitions) assert.equal(r.firing.some((f) => f.alert === t.alert), t.kind === 'firing');
    }
  });
}

test('rules: a service\'s own over tend.yaml\'s over the defaults (crash loop and stale watchdog on by default)', () => {
  assert.deepEqual(effectiveRules(undefined, undefined), DEFAULT_ALERT_RULES);
  assert.ok(DEFAULT_ALERT_RULES.crash_loop);
  const r = effectiveRules({ crash_loop: false }, { crash_loop: { forMs: 1000 }, cpu_high: { percent: 80, forMs: 1 } });
  assert.equal(r.crash_loop, false);
  assert.deepEqual(r.cpu_high, { percent: 80, forMs: 1 });
});
