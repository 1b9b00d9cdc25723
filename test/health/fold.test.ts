// Table tests for foldProbe: one known-good base, one change per case, every transition.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { foldProbe } from '../../src/health/fold.js';
import { INITIAL_PROBE_STATE, type ProbeState } from '../../src/health/types.js';
import type { ProbeSpec } from '../../src/spec/types.js';

const STARTED_AT = 10_000;
const AFTER_START_PERIOD = 20_000;
const IN_START_PERIOD = 10_500;

const baseSpec: ProbeSpec = {
  check: { kind: 'tcp', host: '127.0.0.1', port: '1' },
  intervalMs: 1000,
  timeoutMs: 500,
  failureThreshold: 3,
  successThreshold: 2,
  startPeriodMs: 1000,
};

function state(s: Partial<ProbeState>): ProbeState {
  return { ...INITIAL_PROBE_STATE, ...s };
}

interface Case {
  prev: Partial<ProbeState>;
  ok: boolean;
  at?: number;
  spec?: Partial<ProbeSpec>;
  want: Partial<ProbeState>;
}

const cases: Record<string, Case> = {
  'steady success; a success keeps it and counts': {
    prev: { status: 'success', consecutiveSuccesses: 5 },
    ok: true,
    want: { status: 'success', consecutiveSuccesses: 6 },
  },
  'unknown; one success short of the threshold stays unknown': {
    prev: {},
    ok: true,
    want: { status: 'unknown', consecutiveSuccesses: 1 },
  },
  'unknown; the threshold-th success gives success': {
    prev: { consecutiveSuccesses: 1 },
    ok: true,
    want: { status: 'success', consecutiveSuccesses: 2 },
  },
  'unknown; a failure short of the threshold stays unknown': {
    prev: { consecutiveFailures: 1 },
    ok: false,
    want: { status: 'unknown', consecutiveFailures: 2 },
  },
  'unknown; the threshold-th failure gives failure': {
    prev: { consecutiveFailures: 2 },
    ok: false,
    want: { status: 'failure', consecutiveFailures: 3 },
  },
  'success; failures short of the threshold keep success and reset the successes': {
    prev: { status: 'success', consecutiveSuccesses: 4, consecutiveFailures: 1 },
    ok: false,
    want: { status: 'success', consecutiveFailures: 2 },
  },
  'success; the threshold-th failure gives failure': {
    prev: { status: 'success', consecutiveFailures: 2 },
    ok: false,
    want: { status: 'failure', consecutiveFailures: 3 },
  },
  'failure; a failure keeps it and counts': {
    prev: { status: 'failure', consecutiveFailures: 3 },
    ok: false,
    want: { status: 'failure', consecutiveFailures: 4 },
  },
  'failure; a success short of the threshold keeps failure and resets the failures': {
    prev: { status: 'failure', consecutiveFailures: 7 },
    ok: true,
    want: { status: 'failure', consecutiveSuccesses: 1 },
  },
  'failure; the threshold-th success gives success': {
    prev: { status: 'failure', consecutiveSuccesses: 1 },
    ok: true,
    want: { status: 'success', consecutiveSuccesses: 2 },
  },
  'thresholds of 1: one success decides': {
    prev: { status: 'failure', consecutiveFailures: 1 },
    ok: true,
    spec: { successThreshold: 1, failureThreshold: 1 },
    want: { status: 'success', consecutiveSuccesses: 1 },
  },
  'thresholds of 1: one failure decides': {
    prev: { status: 'success', consecutiveSuccesses: 9 },
    ok: false,
    spec: { successThreshold: 1, failureThreshold: 1 },
    want: { status: 'failure', consecutiveFailures: 1 },
  },
  'start period; a failure is not counted': {
    prev: { consecutiveFailures: 0 },
    ok: false,
    at: IN_START_PERIOD,
    spec: { failureThreshold: 1 },
    want: { status: 'unknown', consecutiveFailures: 0 },
  },
  'start period; a failure breaks a run of successes': {
    prev: { consecutiveSuccesses: 1 },
    ok: false,
    at: IN_START_PERIOD,
    want: { status: 'unknown', consecutiveSuccesses: 0, consecutiveFailures: 0 },
  },
  'start period; successes count': {
    prev: { consecutiveSuccesses: 1 },
    ok: true,
    at: IN_START_PERIOD,
    want: { status: 'success', consecutiveSuccesses: 2 },
  },
  'start period; once succeeded, failures count (as in Docker)': {
    prev: { status: 'success', consecutiveSuccesses: 2 },
    ok: false,
    at: IN_START_PERIOD,
    spec: { failureThreshold: 1 },
    want: { status: 'failure', consecutiveFailures: 1 },
  },
  'start period; a failure at its very end counts': {
    prev: { consecutiveFailures: 2 },
    ok: false,
    at: STARTED_AT + 1000,
    want: { status: 'failure', consecutiveFailures: 3 },
  },
  'no start period; a failure right at the start counts': {
    prev: {},
    ok: false,
    at: STARTED_AT,
    spec: { startPeriodMs: 0, failureThreshold: 1 },
    want: { status: 'failure', consecutiveFailures: 1 },
  },
};

for (const [name, c] of Object.entries(cases)) {
  test(name, () => {
    const at = c.at ?? AFTER_START_PERIOD;
    const output = c.ok ? 'fine' : 'broken';
    const prev = state({ lastOutput: 'earlier', lastAt: at - 1000, ...c.prev });
    const next = foldProbe(prev, { ok: c.ok, output, at }, { ...baseSpec, ...c.spec }, STARTED_AT);
    assert.deepEqual(next, state({ consecutiveSuccesses: 0, consecutiveFailures: 0, ...c.want, lastOutput: output, lastAt: at }));
  });
}

test('the previous state is not mutated', () => {
  const prev = state({ consecutiveSuccesses: 1 });
  const copy = { ...prev };
  foldProbe(prev, { ok: true, output: '', at: AFTER_START_PERIOD }, baseSpec, STARTED_AT);
  assert.deepEqual(prev, copy);
});
