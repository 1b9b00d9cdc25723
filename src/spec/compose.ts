// Pure: the docker compose spellings a compose user types first, rewritten to tend's keys before
// the schema sees the document, when they mean the same thing; a spelling that looks the same but
// means something else (list-form `ports`, container keys) is refused with tend's key named.
// The table is in docs/spec.md ("Coming from docker compose"). Problems found later on a rewritten
// key are pointed back at what the user wrote by `userPath`.

import type { PathProblem, YamlPath } from './located.js';

type Raw = Record<string, unknown>;

export interface ComposeResult {
  /** The document with compose spellings replaced by tend's (a shallow copy; the input is kept). */
  value: Raw;
  problems: PathProblem[];
  /** Where a path of the rewritten document was written by the user. */
  userPath(path: YamlPath): YamlPath;
}

const CONDITIONS: Record<string, string> = {
  service_started: 'started',
  service_healthy: 'healthy',
  service_completed_successfully: 'completed',
};

/** Keys that only make sense for containers: refused with a word on what tend does instead. */
const CONTAINER_KEYS: Record<string, string> = {
  image: 'tend runs a process, not a container image: set `command:` to the program to run',
  build: 'tend runs a process and builds nothing: set `command:`',
  container_name: 'the service name is the file name or `name:`',
  volumes: 'tend runs processes on this machine, which see its files directly',
  networks: 'tend runs processes on this machine; use `ports:` for per-replica port variables',
  expose: 'use `ports:` (a mapping of variable name to base port)',
  entrypoint: 'use `command:` (a list is run without a shell)',
};

/** Compose spellings the published schema lists (for editors), never suggested over tend's own keys. */
export const COMPOSE_KEYS: ReadonlySet<string> = new Set(['environment', 'working_dir', 'stop_grace_period', 'healthcheck', 'deploy']);

const SIMPLE_RENAMES: [string, string][] = [
  ['environment', 'env'],
  ['working_dir', 'cwd'],
  ['stop_grace_period', 'stop_timeout'],
];

// Rewrites `input`; never throws on any value.
export function composeSpellings(input: Raw): ComposeResult {
  const value: Raw = { ...input };
  const problems: PathProblem[] = [];
  // tend path prefix → user path prefix, longest first when looked up.
  const mapped: [YamlPath, YamlPath][] = [];
  const fail = (path: YamlPath, message: string, at: 'key' | 'value' = 'value') => problems.push({ path, at, message, code: 'SPEC_INVALID' });

  for (const [key, hint] of Object.entries(CONTAINER_KEYS)) {
    if (!Object.hasOwn(value, key)) continue;
    fail([key], `"${key}" is a docker compose key that tend does not use: ${hint}`, 'key');
    delete value[key];
  }

  for (const [compose, tend] of SIMPLE_RENAMES) {
    if (!Object.hasOwn(value, compose)) continue;
    if (Object.hasOwn(value, tend)) {
      fail([compose], `${compose} and ${tend} mean the same; keep one of them`, 'key');
      delete value[compose];
      continue;
    }
    value[tend] = value[compose];
    delete value[compose];
    mapped.push([[tend], [compose]]);
  }

  // env / environment as a compose list: `- KEY=VALUE`; a bare `- KEY` passes tend's own value
  // through, which every replica gets anyway.
  if (Array.isArray(value.env)) {
    const userKey = mapped.find(([t]) => t[0] === 'env')?.[1][0] ?? 'env';
    const env: Raw = {};
    value.env.forEach((item, i) => {
      if (typeof item !== 'string') {
        fail([userKey, i], `${userKey}[${i}] must be a string KEY=VALUE, got ${item === null ? 'nothing' : typeof item === 'object' ? 'a mapping' : JSON.stringify(item)}`);
        return;
      }
      const eq = item.indexOf('=');
      const name = eq === -1 ? item : item.slice(0, eq);
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
        fail([userKey, i], `${userKey}[${i}] must be KEY=VALUE with a variable name as KEY, got ${JSON.stringify(item)}`);
        return;
      }
      if (Object.hasOwn(env, name)) fail([userKey, i], `${userKey}[${i}] sets ${name} a second time`);
      if (eq === -1) return;
      Object.defineProperty(env, name, { value: item.slice(eq + 1), enumerable: true, writable: true, configurable: true });
      mapped.push([['env', name], [userKey, i]]);
    });
    value.env = env;
  }

  // depends_on: { db: { condition: service_healthy } } or { db: service_healthy }.
  const deps = value.depends_on;
  if (deps !== null && typeof deps === 'object' && !Array.isArray(deps)) {
    const out: Raw = {};
    for (const [name, c] of Object.entries(deps as Raw)) {
      let condition = c;
      let at: YamlPath = ['depends_on', name];
      if (c !== null && typeof c === 'object' && !Array.isArray(c)) {
        const extra = Object.keys(c).filter((k) => k !== 'condition');
        if (extra.length > 0) fail(['depends_on', name, extra[0]!], `depends_on.${name}.${extra[0]} is not read by tend; only condition is (started, healthy or completed)`, 'key');
        condition = (c as Raw).condition ?? 'started';
        at = ['depends_on', name, 'condition'];
        mapped.push([['depends_on', name], at]);
      }
      if (typeof condition === 'string' && Object.hasOwn(CONDITIONS, condition)) condition = CONDITIONS[condition];
      Object.defineProperty(out, name, { value: condition, enumerable: true, writable: true, configurable: true });
    }
    value.depends_on = out;
  }

  // healthcheck → readiness: it gates `service_healthy` dependents and restarts nothing, as in compose.
  if (Object.hasOwn(value, 'healthcheck')) {
    const h = value.healthcheck;
    delete value.healthcheck;
    if (Object.hasOwn(value, 'readiness')) fail(['healthcheck'], 'healthcheck and readiness mean the same here; keep readiness', 'key');
    else if (h === null || typeof h !== 'object' || Array.isArray(h)) fail(['healthcheck'], 'healthcheck must be a mapping with test, interval, timeout, retries and start_period');
    else {
      const r: Raw = {};
      const hc = h as Raw;
      // Where exec[i] was written in test: after "CMD", or the script of a "CMD-SHELL" or string.
      let testAt: (i: number) => YamlPath = () => ['healthcheck', 'test'];
      for (const [k, v] of Object.entries(hc)) {
        switch (k) {
          case 'test': {
            // ["CMD", argv...], ["CMD-SHELL", script], or a string (a script).
            if (typeof v === 'string') {
              r.exec = ['/bin/sh', '-c', v];
            } else if (Array.isArray(v) && v[0] === 'CMD') {
              r.exec = v.slice(1);
              testAt = (i) => ['healthcheck', 'test', i + 1];
            } else if (Array.isArray(v) && v[0] === 'CMD-SHELL' && v.length === 2) {
              r.exec = ['/bin/sh', '-c', v[1]];
              testAt = () => ['healthcheck', 'test', 1];
            } else if (Array.isArray(v) && v[0] === 'NONE') {
              fail(['healthcheck', 'test'], 'healthcheck.test NONE: leave healthcheck out instead');
            } else {
              fail(['healthcheck', 'test'], 'healthcheck.test must be ["CMD", program, args...], ["CMD-SHELL", script] or a script string');
            }
            break;
          }
          case 'interval':
          case 'timeout':
          case 'start_period':
            r[k] = v;
            mapped.push([['readiness', k], ['healthcheck', k]]);
            break;
          case 'retries':
            r.failure_threshold = v;
            mapped.push([['readiness', 'failure_threshold'], ['healthcheck', 'retries']]);
            break;
          case 'disable':
            if (v === true) fail(['healthcheck', 'disable'], 'healthcheck.disable: leave healthcheck out instead', 'key');
            break;
          default:
            fail(['healthcheck', k], `healthcheck.${k} is not read by tend (it reads test, interval, timeout, retries and start_period)`, 'key');
        }
      }
      if (r.exec === undefined && !problems.some((p) => p.path[0] === 'healthcheck' && p.path[1] === 'test')) {
        fail(['healthcheck'], 'healthcheck needs a test', 'key');
      }
      if (r.exec !== undefined) {
        value.readiness = r;
        const exec = r.exec as unknown[];
        for (let i = 0; i < exec.length; i++) mapped.push([['readiness', 'exec', i], testAt(i)]);
        mapped.push([['readiness', 'exec'], ['healthcheck', 'test']]);
        mapped.push([['readiness'], ['healthcheck']]);
      }
    }
  }

  // deploy.replicas → replicas; the rest of deploy is for swarm.
  if (Object.hasOwn(value, 'deploy')) {
    const d = value.deploy;
    delete value.deploy;
    if (d === null || typeof d !== 'object' || Array.isArray(d)) fail(['deploy'], 'deploy must be a mapping; tend reads only deploy.replicas (or write replicas:)');
    else {
      for (const k of Object.keys(d)) {
        if (k !== 'replicas') fail(['deploy', k], `deploy.${k} is not read by tend; only deploy.replicas is (tend's own keys: limits, update, restart)`, 'key');
      }
      if (Object.hasOwn(d, 'replicas')) {
        if (Object.hasOwn(value, 'replicas')) fail(['deploy', 'replicas'], 'deploy.replicas and replicas mean the same; keep replicas', 'key');
        else {
          value.replicas = (d as Raw).replicas;
          mapped.push([['replicas'], ['deploy', 'replicas']]);
        }
      }
    }
  }

  // Compose's ports list publishes container ports on the host: a different meaning.
  if (Array.isArray(value.ports)) {
    fail(['ports'], 'ports in tend is a mapping of variable name to base port, e.g. ports: { PORT: 8080 } (replica i gets PORT=8080+i); the compose list "HOST:CONTAINER" publishes container ports, which tend has none of');
    delete value.ports;
  }

  // restart: "no" is compose's never; unless-stopped has no equivalent (tend's own stop is a file edit).
  if (value.restart === 'no') {
    value.restart = 'never';
  } else if (value.restart === 'unless-stopped') {
    fail(['restart'], 'restart: unless-stopped is a docker compose value; in tend use always (a service removed from services.d stops and stays stopped)');
    delete value.restart;
  }

  const userPath = (path: YamlPath): YamlPath => {
    let best: [YamlPath, YamlPath] | undefined;
    for (const m of mapped) {
      const [from] = m;
      if (from.length <= path.length && from.every((seg, i) => seg === path[i]) && (!best || from.length > best[0].length)) best = m;
    }
    return best ? [...best[1], ...path.slice(best[0].length)] : path;
  };
  return { value, problems, userPath };
}
