// The contract of probes: results in, one folded health state out. Probes observe; they never
// restart anything (the planner decides that from the folded state).

/** The result of one probe run. `output` is short and human-readable: the first line or two of an
 *  exec probe's output, `HTTP 500`, `connect ECONNREFUSED 127.0.0.1:8081`, `timed out after 1000 ms`. */
export interface ProbeOutcome {
  ok: boolean;
  output: string;
  at: number;
}

/** A probe's thresholds folded over its outcomes. `unknown` until the first verdict. */
export interface ProbeState {
  status: 'unknown' | 'success' | 'failure';
  consecutiveSuccesses: number;
  consecutiveFailures: number;
  lastOutput: string;
  lastAt: number;
}

export const INITIAL_PROBE_STATE: ProbeState = {
  status: 'unknown',
  consecutiveSuccesses: 0,
  consecutiveFailures: 0,
  lastOutput: '',
  lastAt: 0,
};
