// Builders for planner tests: a known-good spec and instances in any state, so each table case
// states only what differs (the kubelet's TestComputePodActions style).

import type { DesiredState, Instance, ObservedState, ReplicaState } from '../../src/reconcile/types.js';
import type { ServiceSpec } from '../../src/spec/types.js';

export function spec(name: string, over: Partial<ServiceSpec> = {}): ServiceSpec {
  return {
    name,
    file: `/srv/services.d/${name}.yaml`,
    line: 1,
    command: ['sleep', '1000'],
    cwd: '/srv/services.d',
    env: {},
    envFiles: [],
    replicas: 1,
    ports: {},
    dependsOn: {},
    restart: 'always',
    backoff: { initialMs: 100, maxMs: 30_000, factor: 2, resetAfterMs: 60_000 },
    maxRestarts: 10,
    restartWindowMs: 300_000,
    stopSignal: 'SIGTERM',
    stopTimeoutMs: 10_000,
    stopEscaped: 'keep',
    oneshot: false,
    update: { strategy: 'rolling', maxUnavailable: 1, maxSurge: 0 },
    limits: { memoryBytes: 0, cpuPercent: 0, maxRuntimeMs: 0 },
    logs: { maxSizeBytes: 10 * 1024 * 1024, maxFiles: 5 },
    labels: {},
    hash: `${name}-v1`,
    ...over,
  };
}

let seq = 0;

export function inst(s: ServiceSpec, index: number, state: ReplicaState, over: Partial<Instance> = {}): Instance {
  const live = state === 'running' || state === 'starting' || state === 'paused' || state === 'stopping';
  return {
    id: `${s.name}/${index}#${++seq}`,
    service: s.name,
    index,
    state,
    spec: s,
    ready: state === 'running',
    restarts: 0,
    deaths: [],
    streak: 0,
    ...(live ? { pid: 1000 + seq, pgid: 1000 + seq, procStart: 1, startedAt: 0 } : {}),
    ...over,
  };
}

/** `running` replicas 0..n-1 of a spec, all ready. */
export function runningSet(s: ServiceSpec, n = s.replicas, over: Partial<Instance> = {}): Instance[] {
  return Array.from({ length: n }, (_, i) => inst(s, i, 'running', over));
}

export function desired(specs: ServiceSpec[], blocked: Record<string, string> = {}, shuttingDown = false): DesiredState {
  return { services: new Map(specs.map((s) => [s.name, s])), blocked: new Map(Object.entries(blocked)), shuttingDown };
}

export function observed(instances: Instance[]): ObservedState {
  return { instances: new Map(instances.map((i) => [i.id, i])) };
}
