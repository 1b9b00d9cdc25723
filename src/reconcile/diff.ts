// What applying a newly loaded spec would do to the services in force, service by service: the
// data behind `tend plan`. Pure: the daemon passes its current specs, the CLI passes an empty map
// when no daemon runs. It follows DESIGN §2 "What a change does": a change to a process-shaping
// field replaces the replicas, `replicas` alone scales, everything else applies live.

import type { PlanChange } from '../api/types.js';
import type { LoadResult, ServiceSpec } from '../spec/types.js';

/** Fields applied to running replicas without a restart, by their YAML names. */
const LIVE_FIELDS: [keyof ServiceSpec, string][] = [
  ['dependsOn', 'depends_on'],
  ['readiness', 'readiness'],
  ['liveness', 'liveness'],
  ['restart', 'restart'],
  ['backoff', 'backoff'],
  ['maxRestarts', 'max_restarts'],
  ['restartWindowMs', 'restart_window'],
  ['stopSignal', 'stop_signal'],
  ['stopTimeoutMs', 'stop_timeout'],
  ['oneshot', 'oneshot'],
  ['update', 'update'],
  ['limits', 'limits'],
  ['logs', 'logs'],
  ['labels', 'labels'],
  ['hooks', 'on'],
  ['alerts', 'alerts'],
];

const OP_ORDER: Record<PlanChange['op'], number> = { '!': 0, '-': 1, '~': 2, '=': 3, '+': 4 };

/** The plan lines for going from `current` to `next`, sorted by service, then removals before additions. */
export function diffSpecs(current: ReadonlyMap<string, ServiceSpec>, next: LoadResult): PlanChange[] {
  const changes: PlanChange[] = [];
  const nextByName = new Map(next.services.map((s) => [s.name, s]));

  for (const [name, cur] of current) {
    if (nextByName.has(name)) continue;
    const problem = problemKeeping(name, cur, next);
    if (problem) {
      changes.push({ op: '!', service: name, text: `! ${name} keeps its last good spec (${problem})` });
    } else {
      changes.push({ op: '-', service: name, text: `- ${name} stop` });
    }
  }

  for (const svc of next.services) {
    const cur = current.get(svc.name);
    if (!cur) {
      if (svc.replicas === 0) changes.push({ op: '+', service: svc.name, text: `+ ${svc.name} add (0 replicas)` });
      for (let i = 0; i < svc.replicas; i++) {
        changes.push({ op: '+', service: svc.name, index: i, text: `+ ${svc.name}/${i} start` });
      }
      continue;
    }
    if (cur.hash !== svc.hash) {
      const fields = processFieldChanges(cur, svc);
      const what = fields.length > 0 ? `${fields.join(', ')} changed` : 'spec changed';
      changes.push({ op: '~', service: svc.name, text: `~ ${svc.name} replace (${what})` });
    } else {
      const live = liveFieldChanges(cur, svc);
      if (live.length > 0) {
        changes.push({ op: '~', service: svc.name, text: `~ ${svc.name} update (${live.join(', ')}) — no restart` });
      }
    }
    if (cur.replicas !== svc.replicas) {
      changes.push({ op: '=', service: svc.name, text: `= ${svc.name} scale ${cur.replicas} → ${svc.replicas}` });
    }
  }

  return changes.sort(
    (a, b) => cmp(a.service, b.service) || OP_ORDER[a.op] - OP_ORDER[b.op] || (a.index ?? -1) - (b.index ?? -1),
  );
}

// A service missing from the new load is not removed when its file is broken: the last good spec
// stays in force (DESIGN §1). Returns the first problem's location, or undefined when it was removed.
function problemKeeping(name: string, cur: ServiceSpec, next: LoadResult): string | undefined {
  const p = next.problems.find(
    (p) => p.service === name || p.file === cur.file || (next.files.get(p.file) ?? []).includes(name),
  );
  return p ? `${p.file}:${p.line}:${p.column}: ${p.message}` : undefined;
}

/** The process-shaping fields that differ, named as in YAML (`env.LOG_LEVEL`, `ports.PORT`). */
function processFieldChanges(a: ServiceSpec, b: ServiceSpec): string[] {
  const out: string[] = [];
  if (!same(a.command, b.command)) out.push('command');
  if (a.cwd !== b.cwd) out.push('cwd');
  out.push(...keyChanges('env', a.env, b.env));
  if (!same(a.envFiles, b.envFiles)) out.push('env_file');
  out.push(...keyChanges('ports', a.ports, b.ports));
  if ((a.user ?? null) !== (b.user ?? null)) out.push('user');
  return out;
}

function liveFieldChanges(a: ServiceSpec, b: ServiceSpec): string[] {
  return LIVE_FIELDS.filter(([key]) => !same(a[key], b[key])).map(([, yaml]) => yaml);
}

// Keys only, never values: env values may be secrets and plan output lands in CI logs.
function keyChanges(prefix: string, a: Record<string, unknown>, b: Record<string, unknown>): string[] {
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])];
  return keys.filter((k) => !same(a[k], b[k])).map((k) => `${prefix}.${k}`);
}

/** Structural equality that ignores object key order (normalised specs are plain JSON data). */
function same(a: unknown, b: unknown): boolean {
  return canonical(a) === canonical(b);
}

function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    const entries = Object.entries(v as Record<string, unknown>)
      .filter(([, x]) => x !== undefined)
      .sort(([x], [y]) => cmp(x, y));
    return `{${entries.map(([k, x]) => `${JSON.stringify(k)}:${canonical(x)}`).join(',')}}`;
  }
  return JSON.stringify(v) ?? 'undefined';
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
