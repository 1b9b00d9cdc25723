// Pure: alert evaluation, Prometheus-style. Each rule is a condition on one replica held for a
// duration: it is *pending* from the first evaluation that sees it true, *fires* once it has held
// for the rule's `for`, and *resolves* the first time it is false again (or the replica is gone).
// evaluateAlerts(state, observations, rules, now) → next state + the transitions to announce; the
// caller does the clock, the events and the I/O.

import { ALERT_NAMES, type AlertName } from '../spec/hook-events.js';
import type { AlertRules } from '../spec/hook-types.js';
import { formatDuration } from '../spec/units.js';
import { formatBytes } from '../util/units.js';

/** What the evaluator needs to know about one replica slot at `now`. */
export interface ReplicaObservation {
  service: string;
  replica: number;
  /** In state `failed` (crash loop, or it cannot be spawned); with its reason. */
  failed: boolean;
  reason?: string;
  /** Wanted running but not ready (starting, running unready, or in back-off). */
  notReady: boolean;
  /** Times (ms) it was restarted; the evaluator counts those inside the window. */
  restarts: readonly number[];
  /** CPU percent (100 = one core) and resident bytes of its group; null before a sample. */
  cpu: number | null;
  memory: number | null;
  /** Its watchdog reported it stale and it has not started again since. */
  stale: boolean;
}

interface Entry {
  alert: AlertName;
  service: string;
  replica: number;
  pendingSince: number;
  firing: boolean;
  /** The summary it fired with (a resolution repeats it). */
  summary: string;
}

export interface AlertState {
  readonly entries: ReadonlyMap<string, Readonly<Entry>>;
}

export const EMPTY_ALERT_STATE: AlertState = { entries: new Map() };

export interface AlertTransition {
  kind: 'firing' | 'resolved';
  alert: AlertName;
  service: string;
  replica: number;
  /** A sentence for a person: what is wrong (or was, for a resolution). */
  summary: string;
  /** When the condition started to hold. */
  since: number;
}

export interface FiringAlert {
  alert: AlertName;
  service: string;
  replica: number;
  since: number;
  summary: string;
}

function keyOf(alert: string, service: string, replica: number): string {
  return `${alert}\0${service}\0${replica}`;
}

/** Whether `alert`'s condition holds for `o`, and a summary if it does. */
function condition(alert: AlertName, rules: AlertRules, o: ReplicaObservation, now: number): string | undefined {
  const who = `${o.service}/${o.replica}`;
  switch (alert) {
    case 'crash_loop':
      // The reason says which failure it is ("crash loop: 10 restarts in 5m, …", "command not
      // found: …"): a replica that cannot be spawned is failed too, without a loop.
      return rules.crash_loop && o.failed ? `${who} is failed${o.reason ? `: ${o.reason}` : ''}` : undefined;
    case 'restart_rate': {
      const r = rules.restart_rate;
      if (!r) return undefined;
      const n = o.restarts.filter((t) => t > now - r.windowMs && t <= now).length;
      return n > r.max ? `${who} restarted ${n} times in ${formatDuration(r.windowMs)} (more than ${r.max})` : undefined;
    }
    case 'unhealthy_for':
      return rules.unhealthy_for && o.notReady ? `${who} has not been ready for ${formatDuration(rules.unhealthy_for.forMs)}` : undefined;
    case 'cpu_high': {
      const r = rules.cpu_high;
      return r && o.cpu !== null && o.cpu > r.percent ? `${who} uses ${Math.round(o.cpu)}% CPU, above ${r.percent}% for ${formatDuration(r.forMs)}` : undefined;
    }
    case 'memory_high': {
      const r = rules.memory_high;
      return r && o.memory !== null && o.memory > r.bytes ? `${who} uses ${formatBytes(o.memory)} of memory, above ${formatBytes(r.bytes)} for ${formatDuration(r.forMs)}` : undefined;
    }
    case 'watchdog_stale':
      return rules.watchdog_stale && o.stale ? `${who} stopped sending watchdog heartbeats` : undefined;
  }
}

function forMs(alert: AlertName, rules: AlertRules): number {
  const r = rules[alert];
  if (!r) return 0;
  // A restart rate is already measured over its window: it fires as soon as it is exceeded.
  return 'forMs' in r ? r.forMs : 0;
}

/** The next state and what changed, from the last state, what is observed now and each service's rules. */
export function evaluateAlerts(
  prev: AlertState,
  observations: readonly ReplicaObservation[],
  rulesOf: (service: string) => AlertRules,
  now: number,
): { state: AlertState; transitions: AlertTransition[]; firing: FiringAlert[]; nextAt?: number } {
  const entries = new Map<string, Entry>();
  const transitions: AlertTransition[] = [];
  // The earliest time at which the same observations could give another answer by the clock alone:
  // a pending condition reaching its `for`, or a restart leaving a rate window. Until then, and
  // until the observations change, evaluating again would find nothing new (issue 13: an idle
  // daemon does no work per replica).
  let nextAt = Number.POSITIVE_INFINITY;
  for (const o of observations) {
    const rules = rulesOf(o.service);
    const rate = rules.restart_rate;
    if (rate) for (const t of o.restarts) if (t > now - rate.windowMs && t <= now) nextAt = Math.min(nextAt, t + rate.windowMs);
    for (const alert of ALERT_NAMES) {
      const summary = condition(alert, rules, o, now);
      if (summary === undefined) continue;
      const key = keyOf(alert, o.service, o.replica);
      const old = prev.entries.get(key);
      const pendingSince = old?.pendingSince ?? now;
      const holds = now - pendingSince >= forMs(alert, rules);
      const firing = old?.firing || holds;
      if (!firing) nextAt = Math.min(nextAt, pendingSince + forMs(alert, rules));
      if (firing && !old?.firing) transitions.push({ kind: 'firing', alert, service: o.service, replica: o.replica, summary, since: pendingSince });
      entries.set(key, { alert, service: o.service, replica: o.replica, pendingSince, firing, summary: old?.firing ? old.summary : summary });
    }
  }
  for (const [key, old] of prev.entries) {
    if (entries.has(key) || !old.firing) continue;
    transitions.push({ kind: 'resolved', alert: old.alert, service: old.service, replica: old.replica, summary: `resolved: ${old.summary}`, since: old.pendingSince });
  }
  const firing = [...entries.values()]
    .filter((e) => e.firing)
    .map(({ alert, service, replica, pendingSince, summary }) => ({ alert, service, replica, since: pendingSince, summary }))
    .sort((a, b) => a.service.localeCompare(b.service) || a.replica - b.replica || a.alert.localeCompare(b.alert));
  return { state: { entries }, transitions, firing, ...(Number.isFinite(nextAt) ? { nextAt } : {}) };
}

