// How an observed event changes one instance: the state machine of DESIGN §3 as pure functions
// (instance, event) → instance. The controller applies them to its store; `plan` then reads the
// result. Keeping them pure puts restart policy and crash-loop rules under table tests.

import type { ProbeState } from '../health/types.js';
import type { ProcessHandle, ExitStatus } from '../runtime/types.js';
import { describeExit, judgeCrash } from './backoff.js';
import type { Instance } from './types.js';

/** A process was spawned for the instance (or an earlier tend's was adopted). */
export function spawned(i: Instance, h: ProcessHandle, adopted = false): Instance {
  // notify (DESIGN §9): readiness by READY, which may have come before the spawn returned (or,
  // for an adopted replica, under the previous tend: it is kept in the state file).
  const saidReady = readyByNotify(i) && i.notify?.ready === true;
  // Adopted: in service if the previous tend last recorded it so (its probes go on from there).
  // Taken as not ready, a rollout that tend was restarted into stopped every outdated replica at
  // once, "not serving anyway", before the first probe could answer.
  const wasReady = adopted && i.ready && !i.spec.oneshot;
  const ready = saidReady || wasReady;
  const hasReadiness = !ready && (i.spec.readiness !== undefined || readyByNotify(i));
  return {
    ...i,
    // Without a probe it runs at once but is ready only after STABLE_START_MS (plan.ts), and a job
    // is never "ready": its READY is its completion.
    state: hasReadiness ? 'starting' : 'running',
    ready,
    pid: h.pid,
    pgid: h.pgid,
    procStart: h.startTime,
    startedAt: h.startedAt,
    exitCode: undefined,
    signal: undefined,
    nextStartAt: undefined,
    reason: undefined,
    readiness: undefined,
    liveness: undefined,
  };
}

/** `readiness: { notify: true }`: READY from the replica is its readiness signal (no probe). */
export function readyByNotify(i: Pick<Instance, 'spec'>): boolean {
  return i.spec.readiness === undefined && i.spec.notify?.readyTimeoutMs !== undefined;
}

/** The spawn itself failed: a command that cannot run is `failed`; a passing fault backs off. */
export function spawnFailed(i: Instance, reason: string, permanent: boolean, now: number, jitter: number): Instance {
  const base = { ...i, pid: undefined, pgid: undefined, procStart: undefined, ready: false, reason };
  if (permanent) return { ...base, state: 'failed' };
  return crashed(base, `spawn failed: ${reason}`, now, jitter);
}

/** The process exited (or, for a stop, its whole group is gone). */
export function exited(i: Instance, exit: ExitStatus, jitter: number): Instance {
  const gone: Instance = {
    ...i,
    pid: undefined,
    pgid: undefined,
    procStart: undefined,
    ready: false,
    exitCode: exit.code,
    signal: exit.signal,
    readiness: undefined,
    liveness: undefined,
    pendingExit: undefined,
    usage: undefined,
  };
  const how = describeExit(exit.code, exit.signal);
  if (i.stopIntent === 'restart') return crashed(gone, i.restartRequested ?? i.reason ?? how, exit.at, jitter);
  if (i.stopIntent !== undefined) return { ...gone, state: 'stopped', reason: stopReasonText(i.stopIntent) };

  const policy = i.spec.restart;
  if (exit.unknown && (i.spec.oneshot || policy !== 'always')) {
    // An adopted process whose exit status only the previous tend could have read: running a job
    // (or a never/on-failure service) again could do harm (a migration run twice), so it is not
    // run again without a person saying so.
    return {
      ...gone,
      state: 'failed',
      reason: `exit status unknown: it exited while adopted from an earlier tend, so it is not run again (${i.spec.oneshot ? 'oneshot' : `restart: ${policy}`}); \`tend restart ${i.service}\` runs it again`,
    };
  }
  const success = exit.code === 0 && !exit.signal;
  if (i.spec.oneshot && success) return { ...gone, state: 'completed', reason: undefined, completedAt: exit.at };
  if (policy === 'never' || (policy === 'on-failure' && success)) {
    return success
      ? { ...gone, state: 'stopped', reason: `exited with ${how} (restart: ${policy})` }
      : { ...gone, state: 'failed', reason: `exited with ${how} (restart: ${policy})` };
  }
  return crashed(gone, how, exit.at, jitter);
}

/** Restart after a back-off, or give up when the crash-loop limit is passed. */
function crashed(i: Instance, what: string, now: number, jitter: number): Instance {
  const verdict = judgeCrash(i.spec, { deaths: i.deaths, streak: i.streak, startedAt: i.startedAt }, what, now, jitter);
  if (verdict.kind === 'give-up') {
    return { ...i, state: 'failed', deaths: verdict.deaths, reason: verdict.reason, stopIntent: undefined, restartRequested: undefined };
  }
  return {
    ...i,
    state: 'backoff',
    deaths: verdict.deaths,
    streak: verdict.streak,
    nextStartAt: now + verdict.delayMs,
    reason: what,
    stopIntent: undefined,
    restartRequested: undefined,
  };
}

function stopReasonText(intent: NonNullable<Instance['stopIntent']>): string {
  switch (intent) {
    case 'scale':
      return 'scaled down';
    case 'replace':
      return 'replaced';
    case 'remove':
      return 'service removed';
    case 'shutdown':
      return 'tend shut down';
    case 'hold':
      return 'stopped by `tend stop`';
    case 'restart':
      return 'restarting';
  }
}

/** A readiness verdict: sets `ready`; the first success moves `starting` to `running`. */
export function readinessChanged(i: Instance, probe: ProbeState): Instance {
  const ready = probe.status === 'success';
  if (i.state === 'starting') return { ...i, readiness: probe, ready, state: ready ? 'running' : 'starting' };
  if (i.state === 'running') return { ...i, readiness: probe, ready };
  return { ...i, readiness: probe };
}

/** A liveness verdict: a failure asks for a restart (the planner stops it, its exit restarts it).
 *  The probe's output already names its target: `http://127.0.0.1:8081/healthz answered 500`. */
export function livenessChanged(i: Instance, probe: ProbeState): Instance {
  if (probe.status !== 'failure' || i.restartRequested || (i.state !== 'running' && i.state !== 'starting')) {
    return { ...i, liveness: probe };
  }
  const times = probe.consecutiveFailures;
  return { ...i, liveness: probe, restartRequested: `liveness: ${probe.lastOutput} (${times} time${times === 1 ? '' : 's'})` };
}
