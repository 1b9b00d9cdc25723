// Per-replica expansion: a function of (spec, index) that gives the exact argv, cwd and
// environment one replica is launched with. Kept apart from normalisation because one spec
// yields many replicas and because ports and TEND_* differ per replica.
//
// Environment, lowest precedence first:
//   1. baseEnv (tend's own environment)
//   2. spec.env (env_file entries, then env), each value `${VAR}`-expanded in order against
//      everything defined so far, so a value can use an earlier entry
//   3. ports (NAME = base + index) and TEND_SERVICE, TEND_REPLICA, TEND_REPLICAS: always win
// The step-3 variables are visible to interpolation from the start, so `${PORT}` and
// `${TEND_REPLICA}` work in env values. (Validation refuses env keys that collide with ports or
// TEND_*, so step 3 only ever overrides tend's own environment.)
// command, cwd and probe fields are then expanded against the replica's final environment.

import { dirname, resolve } from 'node:path';
import { interpolate } from './template.js';
import type { ProbeCheck, ProbeSpec, ReplicaLaunch, ServiceSpec } from './types.js';

// The launch parameters of replica `index` of `spec`, every `${VAR}` resolved.
export function expandReplica(
  spec: ServiceSpec,
  index: number,
  baseEnv: Record<string, string | undefined> = process.env,
): ReplicaLaunch {
  const own: Record<string, string> = {};
  for (const [name, base] of Object.entries(spec.ports)) own[name] = String(base + index);
  own.TEND_SERVICE = spec.name;
  own.TEND_REPLICA = String(index);
  own.TEND_REPLICAS = String(spec.replicas);

  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(baseEnv)) if (v !== undefined) env[k] = v;
  const scoped = (name: string): string | undefined => own[name] ?? env[name];
  for (const [k, v] of Object.entries(spec.env)) env[k] = interpolate(v, scoped);
  Object.assign(env, own);

  const lookup = (name: string): string | undefined => env[name];
  const x = (s: string): string => interpolate(s, lookup);
  return {
    service: spec.name,
    index,
    argv: spec.command.map(x),
    // A cwd written as ${VAR}/... may expand to a relative path: it is relative to the spec file.
    cwd: resolve(dirname(spec.file), x(spec.cwd)),
    env,
    ...(spec.readiness ? { readiness: expandProbe(spec.readiness, x) } : {}),
    ...(spec.liveness ? { liveness: expandProbe(spec.liveness, x) } : {}),
  };
}

function expandProbe(p: ProbeSpec, x: (s: string) => string): ProbeSpec {
  let check: ProbeCheck;
  switch (p.check.kind) {
    case 'exec':
      check = { kind: 'exec', command: p.check.command.map(x) };
      break;
    case 'http':
      check = { kind: 'http', url: x(p.check.url) };
      break;
    case 'tcp':
      check = { kind: 'tcp', host: x(p.check.host), port: x(p.check.port) };
      break;
  }
  return { ...p, check };
}
