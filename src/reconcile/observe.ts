// The one inlet of observed state: everything tend learns about a replica (its spawn, its exit, a
// probe verdict, a usage sample, an operator's command, a stop it asked for) is an Observed event,
// folded into the instance by `fold`, which is pure and returns the typed events to emit. The
// controller is the only caller; the planner then reads the result. Restart policy, back-off and
// crash loops are the primitives of transitions.ts; limit policy lives here, next to them.

import type { ProbeState } from '../health/types.js';
import type { ExitStatus, GroupUsage, ProcessHandle } from '../runtime/types.js';
import { describeExit } from './backoff.js';
import { Reason, type EventBody } from './events.js';
import * as tr from './transitions.js';
import type { Instance, StopIntent } from './types.js';
import { formatBytes } from '../util/units.js';
import { steadyNow, wallTime } from '../util/clock.js';

export type Observed =
  | { kind: 'spawned'; handle: ProcessHandle; adopted?: boolean }
  | { kind: 'spawn-failed'; reason: string; permanent: boolean }
  /** The leader exited; during a stop the group may still have members. `shutdown`: while tend
   *  stops everything (the controller says so). */
  | { kind: 'exited'; exit: ExitStatus; away?: boolean; shutdown?: boolean }
  /** A stop tend asked for finished: the whole group is gone. */
  | { kind: 'stopped'; killed: boolean; at: number }
  | { kind: 'stop-failed'; error: string }
  | { kind: 'stopping'; intent: StopIntent; reason: Reason; message: string }
  /** Without a readiness probe: it stayed up for STABLE_START_MS. */
  | { kind: 'stable' }
  | { kind: 'probe'; probe: 'readiness' | 'liveness'; state: ProbeState; prev: ProbeState }
  | { kind: 'usage'; usage: GroupUsage }
  | { kind: 'paused' }
  | { kind: 'resumed' }
  | { kind: 'signalled'; signal: NodeJS.Signals }
  /** `tend restart`: replace by the update strategy, clearing the crash-loop counters. */
  | { kind: 'restart-requested' }
  /** A replica's own report (notify, src/notify/wire.ts): readiness, status text, a stale
   *  watchdog, no READY in time, a typed event (or one refused), STOPPING/RELOADING/ERRNO. */
  | NotifyReport;

export type NotifyReport =
  | { kind: 'notify-ready' }
  | { kind: 'status-text'; text: string }
  | { kind: 'stale'; message: string }
  | { kind: 'ready-timeout'; message: string }
  | { kind: 'notify-event'; name: string; data: unknown }
  | { kind: 'notify-event-invalid'; name: string; reason: 'EventUnknown' | 'EventInvalid'; message: string }
  | { kind: 'notify-state'; reason: 'NotifyStopping' | 'NotifyReloading' | 'NotifyErrno'; message: string }
  /** WATCHDOG_USEC= from the replica: its own watchdog period (the hub times it). */
  | { kind: 'watchdog-period'; ms: number };

export interface Folded {
  next: Instance;
  events: EventBody[];
}

/** Samples in a row over a memory or CPU limit before the replica is restarted. */
export const LIMIT_SAMPLES = 3;

export function fold(i: Instance, ev: Observed, now: number, jitter: number): Folded {
  const who = { service: i.service, replica: i.index, ...(i.pid !== undefined ? { pid: i.pid } : {}) };
  const same = (): Folded => ({ next: i, events: [] });
  switch (ev.kind) {
    case 'spawned': {
      const next = tr.spawned(i, ev.handle, ev.adopted);
      const events: EventBody[] = ev.adopted
        ? [{ type: 'replica.adopted', service: i.service, replica: i.index, pid: ev.handle.pid, reason: Reason.Adopted, message: 'taken over from an earlier tend' }]
        : [{ type: 'replica.started', service: i.service, replica: i.index, pid: ev.handle.pid }];
      // notify: READY that came before the spawn returned.
      if (next.ready && !ev.adopted) events.push({ type: 'replica.ready', service: i.service, replica: i.index, pid: ev.handle.pid, reason: Reason.NotifyReady, message: 'the replica reported READY' });
      return { next, events };
    }
    case 'spawn-failed': {
      if (i.state === 'stopping') return { next: { ...i, state: 'stopped', reason: ev.reason }, events: [] };
      const next = tr.spawnFailed(i, ev.reason, ev.permanent, now, jitter);
      return { next, events: exitEvents(i, next, { code: null, signal: null, at: now }, Reason.SpawnFailed, ev.reason) };
    }
    case 'exited': {
      // A late exit of a process already accounted for changes nothing; `away`: a recorded
      // replica that exited while no tend watched it.
      if (i.pid === undefined && !ev.away) return same();
      // During a stop the leader's exit is kept until the whole group is gone.
      if (i.state === 'stopping') return { next: { ...i, pendingExit: ev.exit }, events: [] };
      // While tend stops everything, a replica that exits before its turn (systemd's default
      // KillMode=control-group signals every process of the unit at once) is stopped with the
      // rest: a back-off that said "restarting in 100 ms" was untrue, and fed crash alerts at
      // every `systemctl stop`.
      // A job that finished meanwhile still completed.
      const finished = i.spec.oneshot && ev.exit.code === 0 && !ev.exit.signal;
      const next = tr.exited(ev.shutdown && i.stopIntent === undefined && !finished ? { ...i, stopIntent: 'shutdown' } : i, ev.exit, jitter);
      return { next, events: exitEvents(i, next, ev.exit) };
    }
    case 'stopped': {
      if (i.state !== 'stopping') return same();
      const exit = i.pendingExit ?? { code: null, signal: ev.killed ? 'SIGKILL' : null, at: ev.at };
      const next = tr.exited(i, { ...exit, at: ev.at }, jitter);
      return { next, events: exitEvents(i, next, exit, undefined, ev.killed ? 'SIGKILL after stop_timeout' : undefined) };
    }
    case 'stop-failed': {
      if (i.state !== 'stopping') return same();
      // It must not stay `stopping` for ever (`tend down` would hang): failed, saying why.
      const message = `cannot stop process group ${i.pgid}: ${ev.error}; it may still run`;
      return { next: { ...i, state: 'failed', ready: false, reason: message }, events: [{ type: 'replica.failed', ...who, reason: Reason.StopFailed, message }] };
    }
    case 'stopping': {
      if (i.state === 'stopping') return same();
      const next: Instance = { ...i, state: 'stopping', stopIntent: ev.intent, reason: ev.message, ready: false };
      return { next, events: [{ type: 'replica.stopping', ...who, reason: ev.reason, message: ev.message }] };
    }
    case 'stable':
      if (i.state !== 'running' || i.ready) return same();
      return { next: { ...i, ready: true }, events: [{ type: 'replica.ready', ...who, reason: Reason.StayedUp, message: 'stayed up (no readiness probe)' }] };
    case 'notify-ready': {
      // Remembered (and persisted) whatever the spec says; it is the readiness signal only with
      // `readiness: { notify: true }`. Said before the spawn returned, `spawned` applies it.
      const remembered: Instance = i.notify?.ready ? i : { ...i, notify: { ...i.notify, token: i.notify?.token ?? '', ready: true } };
      const becomesReady = tr.readyByNotify(i) && i.pid !== undefined && (i.state === 'starting' || (i.state === 'running' && !i.ready));
      if (!becomesReady) return { next: remembered, events: [] };
      return { next: { ...remembered, state: 'running', ready: true }, events: [{ type: 'replica.ready', ...who, reason: Reason.NotifyReady, message: 'the replica reported READY' }] };
    }
    case 'status-text':
      // Said again unchanged (a client reconnecting to a new tend), it is not news.
      if (i.statusText === ev.text) return same();
      return { next: { ...i, statusText: ev.text }, events: [{ type: 'replica.status', ...who, reason: Reason.NotifyStatus, message: ev.text }] };
    case 'stale': {
      if (i.restartRequested || (i.state !== 'running' && i.state !== 'starting')) return same();
      return {
        next: { ...i, restartRequested: ev.message, restartReason: Reason.WatchdogStale },
        events: [{ type: 'replica.stale', ...who, reason: Reason.WatchdogStale, message: ev.message }],
      };
    }
    case 'ready-timeout': {
      // No READY within readiness.timeout: the same path as a failed liveness probe.
      if (i.restartRequested || i.ready || (i.state !== 'running' && i.state !== 'starting')) return same();
      return {
        next: { ...i, restartRequested: ev.message, restartReason: Reason.NotifyReadyTimeout },
        events: [{ type: 'replica.unhealthy', ...who, reason: Reason.NotifyReadyTimeout, message: ev.message }],
      };
    }
    case 'notify-event':
      return { next: i, events: [{ type: 'replica.event', ...who, name: ev.name, data: ev.data }] };
    case 'notify-event-invalid':
      return { next: i, events: [{ type: 'replica.event.invalid', ...who, name: ev.name, reason: ev.reason, message: ev.message }] };
    case 'notify-state':
      return { next: i, events: [{ type: 'replica.status', ...who, reason: ev.reason, message: ev.message }] };
    case 'watchdog-period':
      // Kept (and persisted) with its session, so that a tend that adopts it times it the same way.
      if (i.notify?.watchdogMs === ev.ms) return same();
      return { next: { ...i, notify: { token: i.notify?.token ?? '', ready: i.notify?.ready ?? false, watchdogMs: ev.ms } }, events: [] };
    case 'probe':
      return foldProbe(i, ev.probe, ev.state, who);
    case 'usage':
      return foldUsage(i, ev.usage, who);
    case 'paused':
      if (i.state !== 'running' && i.state !== 'starting') return same();
      return { next: { ...i, state: 'paused', ready: false }, events: [{ type: 'replica.paused', ...who, reason: Reason.Paused, message: 'SIGSTOP by `tend pause`' }] };
    case 'resumed': {
      if (i.state !== 'paused') return same();
      const byNotify = tr.readyByNotify(i);
      const ready = i.spec.readiness ? i.readiness?.status === 'success' : byNotify ? i.notify?.ready === true : !i.spec.oneshot;
      return {
        next: { ...i, state: ready || !(i.spec.readiness || byNotify) ? 'running' : 'starting', ready },
        events: [{ type: 'replica.resumed', ...who, reason: Reason.Resumed, message: 'SIGCONT by `tend resume`' }],
      };
    }
    case 'signalled':
      return { next: i, events: [{ type: 'replica.signalled', ...who, reason: Reason.Signalled, message: `${ev.signal} by \`tend kill\``, signal: ev.signal }] };
    case 'restart-requested':
      return { next: { ...i, replaceRequested: true, deaths: [], streak: 0 }, events: [] };
  }
}

function foldProbe(i: Instance, kind: 'readiness' | 'liveness', state: ProbeState, who: { service: string; replica: number; pid?: number }): Folded {
  const events: EventBody[] = [];
  if (kind === 'readiness') {
    const next = tr.readinessChanged(i, state);
    if (next.ready && !i.ready) events.push({ type: 'replica.ready', ...who, reason: Reason.ProbeSucceeded, message: 'readiness passed', ...(state.lastOutput ? { detail: state.lastOutput } : {}) });
    if (!next.ready && i.ready) events.push({ type: 'replica.unready', ...who, reason: Reason.ProbeFailed, message: `readiness: ${state.lastOutput}`, detail: state.lastOutput });
    return { next, events };
  }
  const next = tr.livenessChanged(i, state);
  if (next.restartRequested && !i.restartRequested) {
    events.push({ type: 'replica.unhealthy', ...who, reason: Reason.LivenessFailed, message: next.restartRequested, detail: state.lastOutput });
    return { next: { ...next, restartReason: Reason.LivenessFailed }, events };
  }
  return { next, events };
}

function foldUsage(i: Instance, u: GroupUsage, who: { service: string; replica: number; pid?: number }): Folded {
  const limits = i.spec.limits;
  const memoryOver = limits.memoryBytes > 0 && u.memory > limits.memoryBytes ? (i.usage?.memoryOver ?? 0) + 1 : 0;
  const cpuOver = limits.cpuPercent > 0 && u.cpu > limits.cpuPercent ? (i.usage?.cpuOver ?? 0) + 1 : 0;
  const next: Instance = { ...i, usage: { ...u, memoryOver, cpuOver } };
  if (i.restartRequested || (i.state !== 'running' && i.state !== 'starting')) return { next, events: [] };
  let why: { reason: Reason; message: string } | undefined;
  if (memoryOver >= LIMIT_SAMPLES) why = { reason: Reason.MemoryLimit, message: `limit: memory ${formatBytes(u.memory)} over ${formatBytes(limits.memoryBytes)} for ${memoryOver} samples` };
  else if (cpuOver >= LIMIT_SAMPLES) why = { reason: Reason.CpuLimit, message: `limit: cpu ${Math.round(u.cpu)}% over ${limits.cpuPercent}% for ${cpuOver} samples` };
  if (!why) return { next, events: [] };
  return { next: { ...next, restartRequested: why.message, restartReason: why.reason }, events: [{ type: 'replica.limit', ...who, ...why }] };
}

/** replica.exited, then what it led to: backoff, stopped, completed or failed. */
function exitEvents(before: Instance, after: Instance, exit: Omit<ExitStatus, 'at'> & { at?: number }, reasonOverride?: Reason, whyOverride?: string): EventBody[] {
  const base = {
    service: before.service,
    replica: before.index,
    ...(before.pid !== undefined ? { pid: before.pid } : {}),
    ...(exit.code !== null && exit.code !== undefined ? { exit_code: exit.code } : {}),
    ...(exit.signal ? { signal: exit.signal } : {}),
  };
  const how = whyOverride ?? (exit.unknown ? 'exit status unknown' : describeExit(exit.code, exit.signal));
  const exitReason = reasonOverride ?? (exit.signal ? Reason.Killed : exit.unknown ? Reason.ExitUnknown : Reason.Exited);
  const events: EventBody[] = [];
  if (before.pid !== undefined) events.push({ type: 'replica.exited', ...base, reason: exitReason, message: how });
  const message = after.reason ?? how;
  switch (after.state) {
    case 'stopped':
      events.push({ type: 'replica.stopped', ...base, reason: stopReason(before), message });
      break;
    case 'completed':
      events.push({ type: 'replica.completed', ...base, reason: Reason.Completed, message: 'exited 0' });
      break;
    case 'failed':
      events.push({ type: 'replica.failed', ...base, reason: failReason(after, exitReason), message });
      break;
    case 'backoff': {
      const at = after.nextStartAt ?? steadyNow();
      // Whole milliseconds: the jittered delay on a fractional clock read "93.343017578125 ms".
      const delay = Math.max(0, Math.round(at - (exit.at ?? at)));
      events.push({ type: 'replica.backoff', ...base, reason: before.restartReason ?? exitReason, message: `${message}; restarting in ${delay} ms`, next_start_at: new Date(wallTime(at)).toISOString() });
      break;
    }
    default:
      break;
  }
  return events;
}

function stopReason(i: Instance): Reason {
  switch (i.stopIntent) {
    case 'scale':
      return Reason.ScaledDown;
    case 'replace':
      return i.replaceRequested ? Reason.RestartRequested : Reason.SpecChanged;
    case 'remove':
      return Reason.ServiceRemoved;
    case 'shutdown':
      return Reason.Shutdown;
    case 'hold':
      return Reason.Held;
    default:
      return Reason.Exited;
  }
}

function failReason(after: Instance, exitReason: Reason): Reason {
  if (after.reason?.startsWith('crash loop')) return Reason.CrashLoop;
  if (after.reason?.startsWith('exit status unknown')) return Reason.ExitUnknown;
  return exitReason;
}

