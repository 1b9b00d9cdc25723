// ProbeRunner against real servers and processes: verdicts reach onChange, thresholds, the start
// period, live spec changes and no pile-up.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { ProbeRunner } from '../../src/health/probe-runner.js';
import { INITIAL_PROBE_STATE, type ProbeOutcome, type ProbeState } from '../../src/health/types.js';
import type { ProbeCheck, ProbeSpec } from '../../src/spec/types.js';
import { cleanup, fixture, tempDir, waitFor } from '../helpers/index.js';
import { closedPort, startFlipServer } from './servers.js';

interface Change {
  state: ProbeState;
  prev: ProbeState;
  outcome: ProbeOutcome;
}

function spec(check: ProbeCheck, over: Partial<ProbeSpec> = {}): ProbeSpec {
  return { check, intervalMs: 30, timeoutMs: 1000, failureThreshold: 1, successThreshold: 1, startPeriodMs: 0, ...over };
}

/** A started runner that records every onChange call and is stopped after the test. */
function runner(t: TestContext, probe: ProbeSpec, startedAt = Date.now()): { runner: ProbeRunner; changes: Change[] } {
  const changes: Change[] = [];
  const r = new ProbeRunner(probe, { cwd: process.cwd(), env: {} }, (state, prev, outcome) => changes.push({ state, prev, outcome }));
  cleanup(t, () => r.stop());
  r.start(startedAt);
  return { runner: r, changes };
}

const transitions = (changes: Change[]): string[] => changes.map((c) => `${c.prev.status}->${c.state.status}`);

test('readiness follows the flip file and each transition reaches onChange', async (t) => {
  const server = await startFlipServer(t, false);
  const { runner: r, changes } = runner(t, spec({ kind: 'http', url: `${server.base}/healthz` }));
  await waitFor(() => r.state.status === 'failure', { what: 'not ready' });
  server.setHealthy(true);
  await waitFor(() => r.state.status === 'success', { what: 'ready' });
  server.setHealthy(false);
  await waitFor(() => r.state.status === 'failure', { what: 'not ready again' });
  assert.deepEqual(transitions(changes), ['unknown->failure', 'failure->success', 'success->failure']);
  assert.deepEqual(changes[1]?.outcome.ok, true);
  assert.equal(changes[1]?.outcome.output, `${server.base}/healthz answered 200`);
});

test('liveness-style: failure only after failure_threshold, with the output in the state', async (t) => {
  const server = await startFlipServer(t, true);
  const url = `${server.base}/healthz`;
  const { runner: r, changes } = runner(t, spec({ kind: 'http', url }, { failureThreshold: 3 }));
  await waitFor(() => r.state.status === 'success', { what: 'healthy' });
  server.setHealthy(false);
  await waitFor(() => r.state.status === 'failure', { what: 'unhealthy' });
  assert.deepEqual(transitions(changes), ['unknown->success', 'success->failure']);
  const { state, prev, outcome } = changes[1] ?? assert.fail('no failure transition');
  assert.deepEqual(
    { status: state.status, consecutiveFailures: state.consecutiveFailures, lastOutput: state.lastOutput },
    { status: 'failure', consecutiveFailures: 3, lastOutput: `${url} answered 500` },
  );
  assert.equal(prev.consecutiveFailures, 2, 'the two failures before it did not change the status');
  assert.equal(outcome.output, `${url} answered 500`);
});

test('start_period: failures inside it do not count', async (t) => {
  const port = await closedPort();
  const startedAt = Date.now();
  const startPeriodMs = 1000;
  const { runner: r, changes } = runner(t, spec({ kind: 'tcp', host: '127.0.0.1', port: String(port) }, { startPeriodMs }), startedAt);
  const early = await waitFor(
    () => {
      const s = r.state;
      return s.lastAt > 0 && s.lastAt < startedAt + startPeriodMs ? s : undefined;
    },
    { what: 'a probe inside the start period' },
  );
  assert.deepEqual([early.status, early.consecutiveFailures], ['unknown', 0]);
  assert.match(early.lastOutput, /ECONNREFUSED/);
  await waitFor(() => r.state.status === 'failure', { what: 'failure after the start period' });
  assert.deepEqual(transitions(changes), ['unknown->failure']);
  assert.ok((changes[0]?.outcome.at ?? 0) >= startedAt + startPeriodMs, 'the counted failure is after the start period');
});

test('update: a new interval and thresholds keep the state; a new url resets it', async (t) => {
  const server = await startFlipServer(t, true);
  const first = spec({ kind: 'http', url: `${server.base}/healthz` }, { intervalMs: 60_000 });
  const { runner: r, changes } = runner(t, first);
  await waitFor(() => r.state.status === 'success', { what: 'healthy' });
  const before = r.state;

  // From one probe a minute to one every 30 ms: the next run comes soon, the verdict stays.
  r.update({ ...first, intervalMs: 30, failureThreshold: 5 });
  assert.equal(r.state, before);
  await waitFor(() => r.state.lastAt > before.lastAt, { what: 'a probe at the new interval' });
  assert.equal(r.state.status, 'success');
  assert.ok(r.state.consecutiveSuccesses > before.consecutiveSuccesses, 'the counters carried on');

  const port = await closedPort();
  r.update({ ...first, intervalMs: 30, check: { kind: 'http', url: `http://127.0.0.1:${port}/healthz` } });
  assert.deepEqual(r.state, INITIAL_PROBE_STATE);
  await waitFor(() => r.state.status === 'failure', { what: 'the new url to fail' });
  assert.deepEqual(transitions(changes), ['unknown->success', 'unknown->failure']);
});

test('no pile-up: a probe slower than its interval never overlaps the next', async (t) => {
  const log = join(tempDir(t), 'runs');
  const { runner: r } = runner(t, spec({ kind: 'exec', command: fixture('probe-slow.mjs', 150, log) }, { intervalMs: 10 }));
  await waitFor(() => readFileSync(log, 'utf8').split('start').length > 4, { what: 'four runs', timeoutMs: 10_000 });
  r.stop();
  const runs = readFileSync(log, 'utf8');
  assert.match(runs, /^(start\nend\n)+(start\n)?$/, 'each run ended before the next started');
  assert.equal(r.state.status, 'success');
});
