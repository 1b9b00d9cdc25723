// Thresholds folded over probe outcomes. Pure: the verdict depends only on its arguments, so every
// transition is a row in a table test and the runner holds no logic of its own.

import type { ProbeSpec } from '../spec/types.js';
import type { ProbeOutcome, ProbeState } from './types.js';

// The next state of a probe after one outcome.
//  - `successThreshold` consecutive successes give `success`; `failureThreshold` consecutive
//    failures give `failure`; short of a threshold the status stays what it was.
//  - A failure inside the start period (`outcome.at < startedAt + startPeriodMs`) is not counted,
//    but it does break a run of successes. As in Docker (and so docker compose), the start period
//    ends early once the probe has succeeded: from then on every failure counts.
export function foldProbe(prev: ProbeState, outcome: ProbeOutcome, spec: ProbeSpec, startedAt: number): ProbeState {
  const seen = { lastOutput: outcome.output, lastAt: outcome.at };
  if (outcome.ok) {
    const consecutiveSuccesses = prev.consecutiveSuccesses + 1;
    const status = consecutiveSuccesses >= spec.successThreshold ? 'success' : prev.status;
    return { status, consecutiveSuccesses, consecutiveFailures: 0, ...seen };
  }
  const inStartPeriod = outcome.at < startedAt + spec.startPeriodMs && prev.status !== 'success';
  if (inStartPeriod) {
    return { status: prev.status, consecutiveSuccesses: 0, consecutiveFailures: prev.consecutiveFailures, ...seen };
  }
  const consecutiveFailures = prev.consecutiveFailures + 1;
  const status = consecutiveFailures >= spec.failureThreshold ? 'failure' : prev.status;
  return { status, consecutiveSuccesses: 0, consecutiveFailures, ...seen };
}
