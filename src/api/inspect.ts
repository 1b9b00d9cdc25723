// `GET /v1/services/:name/inspect`: what a service really runs — the effective spec after defaults,
// interpolation and env files, and per replica the resolved argv, cwd, ports and environment — with
// secret-looking values masked unless asked to reveal them (docs/cli.md, "tend inspect").
// Pure: built from the spec, the replicas' launches and the daemon's environment.

import type { ReplicaLaunch, ServiceSpec } from '../spec/types.js';

export const MASK = '******';

/** Names that hold secrets by convention (a word of the name, any case). */
const SECRET_NAME = /(^|_)(SECRET|SECRETS|PASSWORD|PASSWD|PASS|TOKEN|APIKEY|API_KEY|KEY|PRIVATE|CREDENTIALS?|AUTH|DSN|COOKIE|SESSION|SALT|SIGNATURE)(_|$)/i;
/** `scheme://user:password@host`: the password part of a URL. */
const URL_PASSWORD = /(\b[a-z][a-z0-9+.-]*:\/\/[^/\s:@]*:)([^@\s/]+)(@)/gi;

export interface ReplicaInspect {
  index: number;
  argv: string[];
  cwd: string;
  /** Port names and the number this replica gets (base + index). */
  ports: Record<string, number>;
  /** What the spec and tend set (env, env_file, ports, TEND_*), masked unless revealed. */
  env: Record<string, string>;
  /** Names inherited from the daemon's own environment (values not shown). */
  inherited_env_keys: string[];
  pid: number | null;
}

export interface InspectReport {
  name: string;
  file: string;
  /** The directory the file was loaded from, symlinks resolved (a release symlink's target). */
  loaded_from: string;
  /** The effective spec (snake_case, as in the YAML), env masked unless revealed. */
  spec: Record<string, unknown>;
  replicas: ReplicaInspect[];
  /** True when values that look secret were replaced by `******`. */
  masked: boolean;
}

export function isSecretName(name: string): boolean {
  return SECRET_NAME.test(name);
}

/** Masks one env value: whole when its name looks secret, else only URL passwords inside it. */
export function maskValue(name: string, value: string): string {
  if (isSecretName(name)) return value === '' ? '' : MASK;
  return value.replace(URL_PASSWORD, `$1${MASK}$3`);
}

export interface InspectInput {
  spec: ServiceSpec;
  /** The real directory of the spec file. */
  loadedFrom: string;
  launches: (ReplicaLaunch & { pid: number | null })[];
  /** The daemon's environment: what replicas inherit before their own env. */
  inherited: Record<string, string | undefined>;
  /** Keys tend adds for its own bookkeeping; not the user's business here. */
  hidden: readonly string[];
  reveal: boolean;
  /** Every variable with its value, inherited ones too (for `tend exec`; implies reveal). */
  allEnv?: boolean;
}

export function buildInspect(input: InspectInput): InspectReport {
  const { spec } = input;
  const reveal = input.reveal || input.allEnv === true;
  let masked = false;
  const mask = (name: string, value: string) => {
    if (reveal) return value;
    const m = maskValue(name, value);
    if (m !== value) masked = true;
    return m;
  };
  // Secret values spelled out inside argv (`--password=${DB_PASSWORD}`) are masked there too: the
  // values of the spec's own secret-looking variables (the daemon's environment is not the spec's).
  const secrets = (env: Record<string, string>) =>
    Object.entries(env)
      .filter(([k, v]) => Object.hasOwn(spec.env, k) && isSecretName(k) && v.length >= 4)
      .map(([, v]) => v);
  const maskText = (text: string, values: string[]) => {
    if (reveal) return text;
    let out = text.replace(URL_PASSWORD, `$1${MASK}$3`);
    for (const v of values) out = out.split(v).join(MASK);
    if (out !== text) masked = true;
    return out;
  };
  const inheritedKeys = new Set(Object.keys(input.inherited).filter((k) => input.inherited[k] !== undefined));
  const replicas = input.launches.map((l): ReplicaInspect => {
    const own: Record<string, string> = {};
    for (const [k, v] of Object.entries(l.env)) {
      if (input.hidden.includes(k)) continue;
      // Inherited and unchanged: a name only. Set by the spec or by tend: shown.
      if (!input.allEnv && inheritedKeys.has(k) && input.inherited[k] === v && !Object.hasOwn(spec.env, k)) continue;
      own[k] = mask(k, v);
    }
    const values = secrets(l.env);
    return {
      index: l.index,
      argv: l.argv.map((a) => maskText(a, values)),
      cwd: l.cwd,
      ports: Object.fromEntries(Object.entries(spec.ports).map(([k, base]) => [k, base + l.index])),
      env: own,
      inherited_env_keys: Object.keys(l.env)
        .filter((k) => !Object.hasOwn(own, k) && !input.hidden.includes(k))
        .sort(),
      pid: l.pid,
    };
  });
  const env = Object.fromEntries(Object.entries(spec.env).map(([k, v]) => [k, mask(k, v)]));
  const specValues = secrets(spec.env);
  const view = snake({ ...spec, env: undefined, hash: undefined, file: undefined, line: undefined, name: undefined }) as Record<string, unknown>;
  view['env'] = env;
  view['command'] = spec.command.map((a) => maskText(a, specValues));
  return { name: spec.name, file: spec.file, loaded_from: input.loadedFrom, spec: { name: spec.name, ...view, hash: spec.hash }, replicas, masked };
}

// camelCase keys to the spec's snake_case, except inside maps whose keys are the user's own.
const USER_MAPS = new Set(['env', 'labels', 'ports', 'dependsOn']);
function snake(value: unknown, parentKey = ''): unknown {
  if (Array.isArray(value)) return value.map((v) => snake(v));
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    if (v === undefined) continue;
    const key = USER_MAPS.has(parentKey) ? k : k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
    out[key] = USER_MAPS.has(k) ? snakeMap(v) : snake(v, k);
  }
  return out;
}
function snakeMap(v: unknown): unknown {
  if (v === null || typeof v !== 'object') return v;
  return Object.fromEntries(Object.entries(v as Record<string, unknown>).map(([k, x]) => [k, snake(x)]));
}
