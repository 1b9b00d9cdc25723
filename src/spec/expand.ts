// Per-replica expansion: a function of (spec, index) that gives the exact argv, cwd and
// environment one replica is launched with. Kept apart from normalisation because one spec
// yields many replicas and because ports and TEND_* differ per replica.
//
// Environment, lowest precedence first:
//   1. baseEnv (tend's own environment)
//   1b. account: HOME, USER, LOGNAME and SHELL of the spec's `user:` (runtime/user.ts accountEnv),
//      replacing tend's own, as a login as that user would
//   2. spec.env (env_file entries, then env), each value `${VAR}`-expanded in order against
//      everything defined so far, so a value can use an earlier entry
//   3. ports (NAME = base + index) and TEND_SERVICE, TEND_REPLICA, TEND_REPLICAS: always win
//   4. PWD: the replica's working directory, as `cd` in a shell and Go's exec.Cmd set it (make's
//      $(PWD) and scripts read it as the directory they run in), unless env sets PWD itself.
//      `${PWD}` in the spec still means tend's own, as in a compose file.
// The step-3 variables are visible to interpolation from the start, so `${PORT}` and
// `${TEND_REPLICA}` work in env values. (Validation refuses env keys that collide with ports or
// TEND_*, so step 3 only ever overrides tend's own environment.)
// command, cwd and probe fields are then expanded against the replica's final environment.

import { dirname, resolve } from 'node:path';
import { interpolate, shellInterpolate } from './template.js';
import type { ProbeCheck, ProbeSpec, ReplicaLaunch, ServiceSpec } from './types.js';

/** Prefix of the variables that carry `${...}` values into a `/bin/sh -c` script (see shellArgv). */
export const SHELL_VALUE_PREFIX = 'TEND_SH_';

// The launch parameters of replica `index` of `spec`, every `${VAR}` resolved.
export function expandReplica(
  spec: ServiceSpec,
  index: number,
  baseEnv: Record<string, string | undefined> = process.env,
  account: Record<string, string> = {},
): ReplicaLaunch {
  // Maps, not objects: user keys such as `constructor` or `__proto__` are plain names here.
  const own = new Map<string, string>();
  for (const [name, base] of Object.entries(spec.ports)) own.set(name, String(base + index));
  own.set('TEND_SERVICE', spec.name);
  own.set('TEND_REPLICA', String(index));
  own.set('TEND_REPLICAS', String(spec.replicas));

  const env = new Map<string, string>();
  for (const [k, v] of Object.entries(baseEnv)) if (v !== undefined) env.set(k, v);
  for (const [k, v] of Object.entries(account)) env.set(k, v);
  const scoped = (name: string): string | undefined => own.get(name) ?? env.get(name);
  for (const [k, v] of Object.entries(spec.env)) env.set(k, interpolate(v, scoped));
  for (const [k, v] of own) env.set(k, v);

  const lookup = (name: string): string | undefined => env.get(name);
  const x = (s: string): string => interpolate(s, lookup);
  // Values bound for shell scripts; added to the environment once every field is expanded.
  const shellValues: [string, string][] = [];
  const bind = (value: string): string => {
    const name = `${SHELL_VALUE_PREFIX}${shellValues.length + 1}`;
    shellValues.push([name, value]);
    return name;
  };
  const argv = shellArgv(spec.command, lookup, bind) ?? spec.command.map(x);
  const readiness = spec.readiness ? expandProbe(spec.readiness, x, lookup, bind) : undefined;
  const liveness = spec.liveness ? expandProbe(spec.liveness, x, lookup, bind) : undefined;
  for (const [k, v] of shellValues) env.set(k, v);
  // A cwd written as ${VAR}/... may expand to a relative path: it is relative to the spec file.
  const cwd = resolve(dirname(spec.file), x(spec.cwd));
  if (!Object.hasOwn(spec.env, 'PWD')) env.set('PWD', cwd);
  return {
    service: spec.name,
    index,
    argv,
    cwd,
    // fromEntries defines own properties, so even `__proto__` is an ordinary key.
    env: Object.fromEntries(env),
    ...(readiness ? { readiness } : {}),
    ...(liveness ? { liveness } : {}),
  };
}

// A `[/bin/sh, -c, script, ...]` command (what a string command becomes, or the same list written
// out): the script gets references to environment variables instead of the values themselves, so
// a value can never be run as shell code. Other arguments expand as usual. Undefined otherwise.
function shellArgv(argv: string[], lookup: (name: string) => string | undefined, bind: (value: string) => string): string[] | undefined {
  if (argv.length < 3 || argv[1] !== '-c' || !/^(\/usr)?\/bin\/(sh|bash|dash)$/.test(argv[0]!)) return undefined;
  return [argv[0]!, '-c', shellInterpolate(argv[2]!, lookup, bind), ...argv.slice(3).map((a) => interpolate(a, lookup))];
}

function expandProbe(p: ProbeSpec, x: (s: string) => string, lookup: (name: string) => string | undefined, bind: (value: string) => string): ProbeSpec {
  let check: ProbeCheck;
  switch (p.check.kind) {
    case 'exec':
      check = { kind: 'exec', command: shellArgv(p.check.command, lookup, bind) ?? p.check.command.map(x) };
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
