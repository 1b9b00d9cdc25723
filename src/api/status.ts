// The status report (DESIGN §5): observed state summarised per service for the API and CLI.
// Pure: built from the desired state, the instances and the last usage samples.

import type { ReplicaStatus, ServiceStatus, StatusReport } from './types.js';
import type { SpecProblem } from '../errors.js';
import type { GroupUsage } from '../runtime/types.js';
import type { ServiceSpec } from '../spec/types.js';
import { isAvailable, isLive } from '../reconcile/plan.js';
import type { DesiredState, Instance } from '../reconcile/types.js';
import { wallTime } from '../util/clock.js';

export interface StatusInput {
  /** The specs have been read at least once: before that, nothing can be converged. */
  loaded: boolean;
  desired: DesiredState;
  instances: Iterable<Readonly<Instance>>;
  waiting: ReadonlyMap<string, string>;
  problems: readonly SpecProblem[];
  usage: (id: string) => GroupUsage | undefined;
  source: string;
  pid: number;
}

export function buildStatus(input: StatusInput): StatusReport {
  const byService = new Map<string, Readonly<Instance>[]>();
  for (const i of input.instances) {
    const list = byService.get(i.service) ?? [];
    list.push(i);
    byService.set(i.service, list);
  }
  const names = new Set([...input.desired.services.keys(), ...byService.keys()]);
  const services = [...names].sort().map((name) =>
    serviceStatus(name, input.desired.services.get(name), byService.get(name) ?? [], input),
  );
  const errors = input.problems.map(({ file, line, column, message }) => ({ file, line, column, message }));
  const converged =
    input.loaded &&
    !input.desired.shuttingDown &&
    errors.length === 0 &&
    services.every((s) => s.blocked === null && (s.state === 'running' || s.state === 'completed' || s.state === 'stopped' || s.state === 'held'));
  return { services, errors, converged, source: input.source, pid: input.pid };
}

function serviceStatus(
  name: string,
  spec: ServiceSpec | undefined,
  insts: Readonly<Instance>[],
  input: StatusInput,
): ServiceStatus {
  const desired = spec && !input.desired.shuttingDown && !input.desired.held?.has(name) ? spec.replicas : 0;
  // One row per wanted index (its newest instance), then whatever is leaving.
  const newest = new Map<number, Readonly<Instance>>();
  for (const i of insts) {
    const cur = newest.get(i.index);
    if (!cur || seqOf(i.id) > seqOf(cur.id)) newest.set(i.index, i);
  }
  const replicas: ReplicaStatus[] = [];
  const waitingFor = input.waiting.get(name) ?? null;
  // Computed once: in the loop's condition it made a report of 5000 replicas quadratic (~0.75 s).
  let rows = desired;
  for (const k of newest.keys()) rows = Math.max(rows, k + 1);
  for (let index = 0; index < rows; index++) {
    const i = newest.get(index);
    if (i) replicas.push(replicaStatus(i, input.usage(i.id)));
    else if (index < desired) replicas.push(pendingReplica(index, spec!, waitingFor));
  }
  const live = insts.filter(isLive);
  // READY n/m: for a job, how many replicas have completed.
  const counts = (i: Readonly<Instance>) => (spec?.oneshot ? i.state === 'completed' && i.spec.hash === spec.hash : isAvailable(i));
  const ready = new Set(insts.filter((i) => counts(i) && i.index < desired).map((i) => i.index)).size;
  const cpu = sum(live.map((i) => input.usage(i.id)?.cpu));
  const memory = sum(live.map((i) => input.usage(i.id)?.memory));
  const blocked = spec ? input.desired.blocked.get(name) ?? null : null;
  const outdated = spec !== undefined && insts.some((i) => isLive(i) && i.spec.hash !== spec.hash);
  const startedAt = live.map((i) => i.startedAt).filter((t): t is number => t !== undefined);
  return {
    name,
    file: spec?.file ?? insts[0]?.spec.file ?? '',
    replicas_desired: desired,
    ready,
    state: input.desired.held?.has(name) && spec ? (live.length > 0 ? 'stopping' : 'held') : summarise(spec, desired, ready, replicas, blocked, outdated),
    waiting_for: blocked ?? waitingFor,
    blocked,
    restarts: insts.reduce((n, i) => n + i.restarts, 0),
    cpu,
    memory,
    started_at: startedAt.length > 0 ? new Date(wallTime(startedAt.reduce((a, b) => Math.min(a, b)))).toISOString() : null,
    hash: spec?.hash ?? insts[0]?.spec.hash ?? '',
    oneshot: spec?.oneshot ?? false,
    held: input.desired.held?.has(name) ?? false,
    depends_on: Object.entries(spec?.dependsOn ?? {}).map(([service, condition]) => ({ service, condition })),
    labels: { ...(spec?.labels ?? insts[0]?.spec.labels ?? {}) },
    ports: { ...(spec?.ports ?? insts[0]?.spec.ports ?? {}) },
    replicas,
  };
}

/** One word for a service, worst first: what a person scanning `tend status` needs to see. */
function summarise(
  spec: ServiceSpec | undefined,
  desired: number,
  ready: number,
  replicas: ReplicaStatus[],
  blocked: string | null,
  outdated: boolean,
): string {
  const states = new Set(replicas.map((r) => r.state));
  if (!spec) return states.size === 0 ? 'stopped' : 'stopping';
  if (blocked) return 'blocked';
  if (states.has('failed')) return 'failed';
  if (states.has('backoff')) return 'backoff';
  if (outdated) return 'updating';
  if (states.has('stopping')) return 'stopping';
  if (states.has('paused')) return 'paused';
  if (desired === 0) return 'stopped';
  if (spec.oneshot && replicas.length > 0 && replicas.every((r) => r.state === 'completed')) return 'completed';
  if (ready >= desired && replicas.every((r) => r.state === 'running')) return 'running';
  if (replicas.every((r) => r.state === 'stopped' || r.state === 'completed')) return 'stopped';
  if (states.has('starting') || states.has('running')) return 'starting';
  return 'pending';
}

function replicaStatus(i: Readonly<Instance>, usage: GroupUsage | undefined): ReplicaStatus {
  return {
    index: i.index,
    state: i.state,
    pid: i.pid ?? null,
    ready: i.ready,
    restarts: i.restarts,
    started_at: i.startedAt !== undefined ? new Date(wallTime(i.startedAt)).toISOString() : null,
    exit_code: i.exitCode ?? null,
    signal: i.signal ?? null,
    reason: i.reason ?? null,
    next_start_at: i.state === 'backoff' && i.nextStartAt !== undefined ? new Date(wallTime(i.nextStartAt)).toISOString() : null,
    cpu: usage ? usage.cpu : null,
    memory: usage ? usage.memory : null,
    hash: i.spec.hash,
    status_text: i.statusText ?? null, // notify (DESIGN §9)
    cpu_seconds: usage?.cpuSeconds ?? null,
  };
}

function pendingReplica(index: number, spec: ServiceSpec, waitingFor: string | null): ReplicaStatus {
  return {
    index,
    state: 'pending',
    pid: null,
    ready: false,
    restarts: 0,
    started_at: null,
    exit_code: null,
    signal: null,
    reason: waitingFor ? `waiting for ${waitingFor}` : null,
    next_start_at: null,
    cpu: null,
    memory: null,
    hash: spec.hash,
    status_text: null,
  };
}

function seqOf(id: string): number {
  return Number(id.slice(id.lastIndexOf('#') + 1));
}

function sum(values: (number | undefined)[]): number | null {
  const known = values.filter((v): v is number => v !== undefined);
  return known.length === 0 ? null : known.reduce((a, b) => a + b, 0);
}
