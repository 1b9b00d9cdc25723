// Table tests of restart policy, back-off and crash-loop detection (pure functions).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { backoffDelay, judgeCrash } from '../../src/reconcile/backoff.js';
import { exited, livenessChanged, readinessChanged, spawned, spawnFailed } from '../../src/reconcile/transitions.js';
import type { Instance } from '../../src/reconcile/types.js';
import { INITIAL_PROBE_STATE } from '../../src/health/types.js';
import { inst, spec } from '../helpers/world.js';

const JITTER_NONE = 0.5; // 0.5 maps to a factor of exactly 1.0

test('backoff: delays grow by the factor and stop at the cap', () => {
  const s = spec('w', { backoff: { initialMs: 100, maxMs: 1000, factor: 2, resetAfterMs: 60_000 } });
  assert.deepEqual([0, 1, 2, 3, 4, 5].map((n) => backoffDelay(s, n, JITTER_NONE)), [100, 200, 400, 800, 1000, 1000]);
});

test('backoff: jitter stays within ±10% and never passes the cap', () => {
  const s = spec('w', { backoff: { initialMs: 1000, maxMs: 1000, factor: 2, resetAfterMs: 60_000 } });
  assert.equal(backoffDelay(s, 0, 0), 900);
  assert.equal(backoffDelay(s, 0, 0.999), 1000);
  const t = spec('w', { backoff: { initialMs: 1000, maxMs: 5000, factor: 2, resetAfterMs: 60_000 } });
  assert.equal(backoffDelay(t, 0, 0.999), 1100);
});

test('backoff: initial 0 restarts at once', () => {
  const s = spec('w', { backoff: { initialMs: 0, maxMs: 1000, factor: 2, resetAfterMs: 60_000 } });
  assert.equal(backoffDelay(s, 3, 0.9), 0);
});

const crashCases: Record<string, { history: { deaths: number[]; streak: number; startedAt?: number }; now: number; expect: string }> = {
  'first crash: initial delay, streak 1': { history: { deaths: [], streak: 0, startedAt: 900 }, now: 1000, expect: 'restart 100 streak=1 deaths=1' },
  'third quick crash: delay doubled twice': { history: { deaths: [100, 500], streak: 2, startedAt: 900 }, now: 1000, expect: 'restart 400 streak=3 deaths=3' },
  'a stable run resets the back-off': { history: { deaths: [100, 500], streak: 5, startedAt: 0 }, now: 70_000, expect: 'restart 100 streak=1 deaths=3' },
  'deaths outside the window are dropped': { history: { deaths: [1, 2, 3], streak: 1, startedAt: 399_000 }, now: 400_000, expect: 'restart 200 streak=2 deaths=1' },
  'more than max_restarts in the window: crash loop': {
    history: { deaths: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10], streak: 10, startedAt: 999 },
    now: 1000,
    expect: 'give-up crash loop: 10 restarts in 5m, last exit code 1',
  },
};

for (const [name, c] of Object.entries(crashCases)) {
  test(`judgeCrash: ${name}`, () => {
    const s = spec('w');
    const v = judgeCrash(s, c.history, 'exit code 1', c.now, JITTER_NONE);
    const got = v.kind === 'restart' ? `restart ${v.delayMs} streak=${v.streak} deaths=${v.deaths.length}` : `give-up ${v.reason}`;
    assert.equal(got, c.expect);
  });
}

test('judgeCrash: max_restarts 0 never gives up', () => {
  const s = spec('w', { maxRestarts: 0 });
  const v = judgeCrash(s, { deaths: Array.from({ length: 500 }, (_, i) => i), streak: 50 }, 'exit code 1', 600, JITTER_NONE);
  assert.equal(v.kind, 'restart');
});

function running(over: Partial<Instance> = {}, specOver = {}): Instance {
  return inst(spec('w', specOver), 0, 'running', { startedAt: 1000, ...over });
}
const exit = (code: number | null, signal: NodeJS.Signals | null = null, at = 2000) => ({ code, signal, at });

const exitCases: Record<string, { i: Instance; e: ReturnType<typeof exit>; state: string; reason?: string | RegExp }> = {
  'restart always: any exit backs off': { i: running(), e: exit(0), state: 'backoff', reason: 'exit code 0' },
  'restart always: killed by a signal backs off': { i: running(), e: exit(null, 'SIGKILL'), state: 'backoff', reason: 'signal SIGKILL' },
  'on-failure: exit 0 stays stopped': { i: running({}, { restart: 'on-failure' }), e: exit(0), state: 'stopped', reason: 'exited with exit code 0 (restart: on-failure)' },
  'on-failure: exit 1 backs off': { i: running({}, { restart: 'on-failure' }), e: exit(1), state: 'backoff' },
  'never: exit 0 is stopped': { i: running({}, { restart: 'never' }), e: exit(0), state: 'stopped' },
  'never: exit 2 is failed': { i: running({}, { restart: 'never' }), e: exit(2), state: 'failed', reason: 'exited with exit code 2 (restart: never)' },
  'oneshot exit 0 is completed': { i: running({}, { oneshot: true, restart: 'on-failure' }), e: exit(0), state: 'completed' },
  'oneshot exit 1 follows its policy': { i: running({}, { oneshot: true, restart: 'on-failure' }), e: exit(1), state: 'backoff' },
  'stopped by tend for a scale-down: stopped': { i: running({ state: 'stopping', stopIntent: 'scale' }), e: exit(null, 'SIGTERM'), state: 'stopped', reason: 'scaled down' },
  'stopped by tend to restart after liveness failed: backs off as a restart': {
    i: running({ state: 'stopping', stopIntent: 'restart', restartRequested: 'liveness: x answered 500 (3 times)' }),
    e: exit(null, 'SIGTERM'),
    state: 'backoff',
    reason: 'liveness: x answered 500 (3 times)',
  },
  'crash loop ends failed with its reason': {
    i: running({ deaths: [1991, 1992, 1993, 1994, 1995, 1996, 1997, 1998, 1999, 2000], streak: 10 }),
    e: exit(1),
    state: 'failed',
    reason: /^crash loop: 10 restarts in 5m, last exit code 1$/,
  },
};

for (const [name, c] of Object.entries(exitCases)) {
  test(`exited: ${name}`, () => {
    const next = exited(c.i, c.e, JITTER_NONE);
    assert.equal(next.state, c.state);
    assert.equal(next.pid, undefined);
    assert.equal(next.ready, false);
    if (typeof c.reason === 'string') assert.equal(next.reason, c.reason);
    else if (c.reason) assert.match(next.reason ?? '', c.reason);
    if (next.state === 'backoff') assert.ok((next.nextStartAt ?? 0) >= c.e.at, 'back-off is scheduled after the exit');
  });
}

test('spawned: without readiness a replica is running, and ready only once it stayed up (plan.ts)', () => {
  const i = spawned(inst(spec('w'), 0, 'starting', { pid: undefined }), { pid: 5, pgid: 5, startTime: 7, startedAt: 100 });
  assert.equal(i.state, 'running');
  assert.equal(i.ready, false);
  assert.equal(i.pid, 5);
});

test('spawned: with readiness it is starting, not ready, until the probe passes', () => {
  const s = spec('w', { readiness: { check: { kind: 'tcp', host: '127.0.0.1', port: '1' }, intervalMs: 10, timeoutMs: 10, failureThreshold: 1, successThreshold: 1, startPeriodMs: 0 } });
  let i = spawned(inst(s, 0, 'starting', { pid: undefined }), { pid: 5, pgid: 5, startTime: 7, startedAt: 100 });
  assert.deepEqual([i.state, i.ready], ['starting', false]);
  i = readinessChanged(i, { ...INITIAL_PROBE_STATE, status: 'success' });
  assert.deepEqual([i.state, i.ready], ['running', true]);
  i = readinessChanged(i, { ...INITIAL_PROBE_STATE, status: 'failure' });
  assert.deepEqual([i.state, i.ready], ['running', false], 'an unready replica is still running');
});

test('spawned, adopted: ready as the earlier tend recorded it, probe or not; never a job; a fresh spawn never', () => {
  const probe = { readiness: { check: { kind: 'tcp' as const, host: '127.0.0.1', port: '1' }, intervalMs: 10, timeoutMs: 10, failureThreshold: 1, successThreshold: 1, startPeriodMs: 0 } };
  const h = { pid: 5, pgid: 5, startTime: 7, startedAt: 100 };
  const cases: [string, Instance, boolean, [string, boolean]][] = [
    ['adopted, recorded ready, no probe', inst(spec('w'), 0, 'starting', { ready: true }), true, ['running', true]],
    ['adopted, recorded ready, a readiness probe', inst(spec('w', probe), 0, 'starting', { ready: true }), true, ['running', true]],
    ['adopted, not recorded ready, a readiness probe', inst(spec('w', probe), 0, 'starting', { ready: false }), true, ['starting', false]],
    ['adopted, not recorded ready, no probe', inst(spec('w'), 0, 'starting', { ready: false }), true, ['running', false]],
    ['adopted job, recorded ready', inst(spec('j', { oneshot: true }), 0, 'starting', { ready: true }), true, ['running', false]],
    ['a new spawn of an instance that was ready', inst(spec('w', probe), 0, 'starting', { ready: true }), false, ['starting', false]],
  ];
  for (const [name, before, adopted, expected] of cases) {
    const after = spawned(before, h, adopted);
    assert.deepEqual([after.state, after.ready], expected, name);
  }
  // Taken over ready, a failing probe still takes it out of service.
  const i = readinessChanged(spawned(inst(spec('w', probe), 0, 'starting', { ready: true }), h, true), { ...INITIAL_PROBE_STATE, status: 'failure' });
  assert.deepEqual([i.state, i.ready], ['running', false]);
});

test('spawnFailed: a permanent error fails, a passing one backs off', () => {
  const base = inst(spec('w'), 0, 'starting', { pid: undefined });
  assert.equal(spawnFailed(base, 'command not found: "x" (ENOENT)', true, 0, JITTER_NONE).state, 'failed');
  const t = spawnFailed(base, 'too many open files (EMFILE)', false, 0, JITTER_NONE);
  assert.equal(t.state, 'backoff');
  assert.match(t.reason ?? '', /EMFILE/);
});

test('livenessChanged: a failure asks for a restart with the probe output; a second one does not repeat it', () => {
  const i = running();
  const failed = livenessChanged(i, { ...INITIAL_PROBE_STATE, status: 'failure', consecutiveFailures: 3, lastOutput: 'http://127.0.0.1:8081/healthz answered 500' });
  assert.equal(failed.restartRequested, 'liveness: http://127.0.0.1:8081/healthz answered 500 (3 times)');
  const again = livenessChanged(failed, { ...INITIAL_PROBE_STATE, status: 'failure', consecutiveFailures: 4, lastOutput: 'x' });
  assert.equal(again.restartRequested, failed.restartRequested);
  const ok = livenessChanged(i, { ...INITIAL_PROBE_STATE, status: 'success' });
  assert.equal(ok.restartRequested, undefined);
});

test('an adopted process whose exit status is unknown: a job or a never/on-failure service is not run again; always restarts', () => {
  const unknown = { code: null, signal: null, at: 1000, unknown: true as const };
  const job = exited(inst(spec('job', { oneshot: true, restart: 'on-failure' }), 0, 'running'), unknown, JITTER_NONE);
  assert.equal(job.state, 'failed');
  assert.match(job.reason ?? '', /exit status unknown.*not run again \(oneshot\); `tend restart job` runs it again/);
  for (const restart of ['never', 'on-failure'] as const) {
    const i = exited(inst(spec('w', { restart }), 0, 'running'), unknown, JITTER_NONE);
    assert.equal(i.state, 'failed', restart);
  }
  assert.equal(exited(inst(spec('w'), 0, 'running'), unknown, JITTER_NONE).state, 'backoff');
  const done = exited(inst(spec('job', { oneshot: true, restart: 'on-failure' }), 0, 'running'), { code: 0, signal: null, at: 1234 }, JITTER_NONE);
  assert.deepEqual([done.state, done.completedAt], ['completed', 1234]);
});
