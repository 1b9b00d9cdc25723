// Explanations for `tend plan`: which fields of a spec changed, named as in YAML. What a change
// *does* is decided by the planner (preview.ts simulates it); this only says why.

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
  ['stopEscaped', 'stop_escaped'],
  ['oneshot', 'oneshot'],
  ['update', 'update'],
  ['limits', 'limits'],
  ['logs', 'logs'],
  ['labels', 'labels'],
  ['hooks', 'on'],
  ['alerts', 'alerts'],
];

// A service missing from the new load is not removed when its file is broken: the last good spec
// stays in force (DESIGN §1). Returns the first problem's location, or undefined when it was removed.
export function problemKeeping(name: string, cur: ServiceSpec, next: LoadResult): string | undefined {
  const p = next.problems.find(
    (p) => p.service === name || p.file === cur.file || (next.files.get(p.file) ?? []).includes(name),
  );
  return p ? `${p.file}:${p.line}:${p.column}: ${p.message}` : undefined;
}

/** The process-shaping fields that differ, named as in YAML (`env.LOG_LEVEL`, `ports.PORT`). */
export function processFieldChanges(a: ServiceSpec, b: ServiceSpec): string[] {
  const out: string[] = [];
  if (!same(a.command, b.command)) out.push('command');
  if (a.cwd !== b.cwd) out.push('cwd');
  out.push(...keyChanges('env', a.env, b.env));
  if (!same(a.envFiles, b.envFiles)) out.push('env_file');
  out.push(...keyChanges('ports', a.ports, b.ports));
  if ((a.user ?? null) !== (b.user ?? null)) out.push('user');
  return out;
}

export function liveFieldChanges(a: ServiceSpec, b: ServiceSpec): string[] {
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

export function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
