// Pure: one schema-checked document → the normalised ServiceSpec. Defaults are written down once,
// here; durations become ms, sizes bytes, a string command `/bin/sh -c`, paths absolute. The rules
// a JSON Schema cannot express (signal names, port ranges over replicas, cross-field limits,
// template syntax) are checked here too, and every problem is reported, not only the first.

import { isAbsolute, resolve } from 'node:path';
import type { ErrorCode } from '../errors.js';
import type { PathProblem, YamlPath } from './located.js';
import { label, describeValue } from './schema.js';
import { didYouMean } from './suggest.js';
import { stableHash } from './hash.js';
import { normalizeAlerts, normalizeHooks } from './hooks.js';
import { templateError } from './template.js';
import { machineLimits, replicaLimit, type MachineLimits } from './limits.js';
import { normalizeNotify, notifyHashPart } from '../notify/spec.js';
import { DURATION_HINT, SIGNAL_NAMES, SIZE_HINT, formatDuration, parseDuration, parseSignal, parseSize } from './units.js';
import type { BackoffSpec, Condition, ProbeCheck, ProbeSpec, RestartPolicy, ServiceSpec } from './types.js';

/** Every default of the spec, in one place (docs/spec.md states the same values). */
export const DEFAULTS = {
  replicas: 1,
  restart: 'always' as RestartPolicy,
  restartOneshot: 'on-failure' as RestartPolicy,
  backoff: { initialMs: 100, maxMs: 30_000, factor: 2, resetAfterMs: 60_000 },
  maxRestarts: 10,
  restartWindowMs: 5 * 60_000,
  stopSignal: 'SIGTERM' as NodeJS.Signals,
  stopTimeoutMs: 10_000,
  stopEscaped: 'keep' as 'keep' | 'kill',
  update: { strategy: 'rolling' as const, maxUnavailable: 1, maxSurge: 0 },
  limits: { memoryBytes: 0, cpuPercent: 0, maxRuntimeMs: 0 },
  logs: { maxSizeBytes: 10 * 1024 * 1024, maxFiles: 5 },
  readinessIntervalMs: 2000,
  livenessIntervalMs: 10_000,
  probe: { timeoutMs: 1000, failureThreshold: 3, successThreshold: 1, startPeriodMs: 0 },
  tcpHost: '127.0.0.1',
} as const;

/** Variables tend sets itself in every replica's environment. */
export const RESERVED_ENV_PREFIX = 'TEND_';

export interface NormalizeInput {
  /** The document, with every top-level key the schema rejected already removed. */
  raw: Record<string, unknown>;
  name: string;
  /** Absolute path of the spec file (as found in the directory, symlinks not resolved). */
  file: string;
  /** Real directory relative paths resolve against. */
  dir: string;
  line: number;
  /** Parsed env files by absolute path; a string says why one could not be read ("does not exist"). */
  envFiles: ReadonlyMap<string, [string, string][] | string>;
  /** An explicit upper bound of `replicas` (tend validate --max-replicas); without it, what the machine allows. */
  maxReplicas?: number;
  /** The machine's limits, read once per load (default: read now). */
  machine?: MachineLimits;
}

export interface NormalizeResult {
  /** Present only when there is no problem. */
  spec?: ServiceSpec;
  problems: PathProblem[];
}

type Raw = Record<string, unknown>;

/** One env_file entry: its absolute path, where it is written, and how it was written. */
export interface EnvFileRef {
  path: string;
  at: YamlPath;
  given: string;
}

// The env_file entries of a document as absolute paths, so the loader can read them first. Each
// keeps its own index, so a problem points at the entry even when an earlier one is not a string.
export function envFileRefs(raw: Raw, dir: string): EnvFileRef[] {
  const v = raw.env_file;
  if (typeof v === 'string') return v.includes('\0') ? [] : [{ path: resolve(dir, v), at: ['env_file'], given: v }];
  if (!Array.isArray(v)) return [];
  const out: EnvFileRef[] = [];
  v.forEach((x, i) => {
    if (typeof x === 'string' && x !== '' && !x.includes('\0')) out.push({ path: resolve(dir, x), at: ['env_file', i], given: x });
  });
  return out;
}

/** Characters that cannot reach a process: exec(2) takes C strings, so a NUL would cut them. */
function hasNul(s: string): boolean {
  return s.includes('\0');
}

/** The longest string Linux passes a program in one argument or one variable (`NAME=value`), in
 *  bytes: MAX_ARG_STRLEN (32 pages of 4 KiB) less its NUL. Above it exec(2) fails with E2BIG, and
 *  the replica could never start (measured: test/spec/hostile.test.ts). */
export const MAX_EXEC_STRING_BYTES = 131_071;

/** Why a string of `bytes` cannot reach a program, after what it is (`what(size)`, the size
 *  written out); undefined when it can. The message is made only then: toLocaleString loads ICU's
 *  number formats, which cost a daemon ~650 pages and ~20 ms on the way to its first replica. */
function execTooLong(bytes: number, what: (size: string) => string): string | undefined {
  if (bytes <= MAX_EXEC_STRING_BYTES) return undefined;
  const size = (n: number) => n.toLocaleString('en-US');
  return `${what(size(bytes))}: Linux passes a program at most ${size(MAX_EXEC_STRING_BYTES)} bytes in one (MAX_ARG_STRLEN), and starting it would fail with E2BIG; pass the path of a file that holds it instead`;
}

const byteLength = (s: string): number => Buffer.byteLength(s, 'utf8');
/** A variable as a program gets it: `NAME=value`. */
const variableBytes = (name: string, value: string): number => byteLength(name) + 1 + byteLength(value);

// Builds the ServiceSpec of one document, or says everything that is wrong with it.
export function normalizeService(input: NormalizeInput): NormalizeResult {
  const { raw, dir } = input;
  const problems: PathProblem[] = [];
  const fail = (path: YamlPath, message: string, at: 'key' | 'value' = 'value', code: ErrorCode = 'SPEC_INVALID') =>
    problems.push({ path, at, message, code });

  const duration = (path: YamlPath, fallback: number, opts: { positive?: boolean } = {}): number => {
    const v = get(raw, path);
    if (v === undefined) return fallback;
    const ms = parseDuration(v);
    if (ms === null) {
      fail(path, `${label(path)} must be ${DURATION_HINT}, got ${describeValue(v)}`);
      return fallback;
    }
    if (opts.positive && ms === 0) fail(path, `${label(path)} must be longer than 0, got ${describeValue(v)}`);
    return ms;
  };
  const size = (path: YamlPath, fallback: number, opts: { positive?: boolean } = {}): number => {
    const v = get(raw, path);
    if (v === undefined) return fallback;
    const bytes = parseSize(v);
    if (bytes === null) {
      fail(path, `${label(path)} must be ${SIZE_HINT}, got ${describeValue(v)}`);
      return fallback;
    }
    if (opts.positive && bytes === 0) fail(path, `${label(path)} must be larger than 0, got ${describeValue(v)}`);
    return bytes;
  };
  const template = (path: YamlPath, text: string): void => {
    if (hasNul(text)) {
      fail(path, `${label(path)} contains a NUL character (\\0), which no program can receive`);
      return;
    }
    const err = templateError(text);
    if (err) fail(path, `${label(path)}: ${err} (write $$ for a literal $)`);
  };

  // command
  let command: string[] = [];
  if (typeof raw.command === 'string') {
    if (raw.command.trim() === '') fail(['command'], 'command must not be empty');
    template(['command'], raw.command);
    const long = execTooLong(byteLength(raw.command), (size) => `command is ${size} bytes, which /bin/sh -c gets as one argument`);
    if (long) fail(['command'], long);
    command = ['/bin/sh', '-c', raw.command];
  } else if (Array.isArray(raw.command)) {
    command = raw.command.map(String);
    if (command.length > 0 && command[0]!.trim() === '') fail(['command', 0], 'command[0] (the program) must not be empty');
    command.forEach((arg, i) => {
      template(['command', i], arg);
      const long = execTooLong(byteLength(arg), (size) => `command[${i}] is ${size} bytes`);
      if (long) fail(['command', i], long);
    });
  }

  // cwd: relative to the file's directory, unless it starts with a ${VAR} (expanded per replica).
  let cwd = dir;
  if (typeof raw.cwd === 'string') {
    template(['cwd'], raw.cwd);
    cwd = raw.cwd.startsWith('${') || isAbsolute(raw.cwd) ? raw.cwd : resolve(dir, raw.cwd);
  }

  // ports
  const replicas = typeof raw.replicas === 'number' ? raw.replicas : DEFAULTS.replicas;
  if (input.maxReplicas !== undefined) {
    if (replicas > input.maxReplicas) fail(['replicas'], `replicas must be at most ${input.maxReplicas}, got ${replicas}`);
  } else {
    const probed = raw.readiness !== undefined || raw.liveness !== undefined;
    const limit = replicaLimit(probed, input.machine ?? machineLimits());
    if (replicas > limit.max) fail(['replicas'], `replicas must be at most ${limit.max} on this machine, got ${replicas}: ${limit.reason}`);
  }
  // Maps while building: a user key such as `constructor` must not meet Object.prototype.
  const ports = new Map<string, number>();
  const portRanges: [string, number, number][] = [];
  for (const [key, base] of Object.entries(asRecord(raw.ports))) {
    if (typeof base !== 'number') continue;
    ports.set(key, base);
    const last = base + Math.max(replicas, 1) - 1;
    if (last > 65535) {
      fail(['ports', key], `ports.${key}: replica ${replicas - 1} would get port ${last}, above 65535 (base ${base} + ${replicas} replicas)`);
    }
    if (key.startsWith(RESERVED_ENV_PREFIX)) fail(['ports', key], `ports.${key}: names starting with ${RESERVED_ENV_PREFIX} are set by tend`, 'key');
    for (const [other, from, to] of portRanges) {
      if (base <= to && last >= from) {
        fail(['ports', key], `ports.${key} (${base}-${last}) overlaps ports.${other} (${from}-${to}) over ${replicas} replicas`);
      }
    }
    portRanges.push([key, base, last]);
  }

  // env: env_file entries first, then env (env wins). ports and TEND_* are set per replica and win.
  const env = new Map<string, string>();
  const rawEnvFiles = typeof raw.env_file === 'string' ? [raw.env_file] : Array.isArray(raw.env_file) ? raw.env_file : [];
  rawEnvFiles.forEach((f, i) => {
    if (typeof f === 'string' && hasNul(f)) fail(typeof raw.env_file === 'string' ? ['env_file'] : ['env_file', i], 'env_file contains a NUL character (\\0), which no path can hold');
  });
  const envFileRefList = envFileRefs(raw, dir);
  const envFiles = envFileRefList.map((r) => r.path);
  for (const ref of envFileRefList) {
    const entries = input.envFiles.get(ref.path);
    if (entries === undefined || typeof entries === 'string') {
      fail(ref.at, `env_file ${JSON.stringify(ref.given)} ${entries ?? 'was not read'} (looked for ${ref.path})`);
      continue;
    }
    for (const [k, v] of entries) {
      if (ports.has(k) || k.startsWith(RESERVED_ENV_PREFIX)) continue;
      if (hasNul(v)) {
        fail(ref.at, `env_file ${JSON.stringify(ref.given)}: the value of ${k} contains a NUL character (\\0), which no program can receive`);
        continue;
      }
      const long = execTooLong(variableBytes(k, v), (size) => `env_file ${JSON.stringify(ref.given)}: ${k} is ${size} bytes as ${k}=value`);
      if (long) {
        fail(ref.at, long);
        continue;
      }
      env.set(k, v);
    }
  }
  for (const [key, value] of Object.entries(asRecord(raw.env))) {
    if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') continue;
    if (ports.has(key)) fail(['env', key], `env.${key} is also in ports, which sets it per replica; keep one of them`, 'key');
    else if (key.startsWith(RESERVED_ENV_PREFIX)) fail(['env', key], `env.${key}: names starting with ${RESERVED_ENV_PREFIX} are set by tend`, 'key');
    const text = String(value);
    template(['env', key], text);
    const long = execTooLong(variableBytes(key, text), (size) => `env.${key} is ${size} bytes as ${key}=value`);
    if (long) fail(['env', key], long);
    env.set(key, text);
  }

  // depends_on: a list is short for `started`.
  const dependsOn = new Map<string, Condition>();
  if (Array.isArray(raw.depends_on)) for (const d of raw.depends_on) dependsOn.set(String(d), 'started');
  else for (const [d, c] of Object.entries(asRecord(raw.depends_on))) dependsOn.set(d, c as Condition);

  const probe = (key: 'readiness' | 'liveness', intervalDefault: number): ProbeSpec | undefined => {
    const p = raw[key];
    if (p === undefined || p === null || typeof p !== 'object') return undefined;
    const r = p as Raw;
    let check: ProbeCheck | undefined;
    if (Array.isArray(r.exec)) {
      const argv = r.exec.map(String);
      if (argv[0]?.trim() === '') fail([key, 'exec', 0], `${key}.exec[0] (the program) must not be empty`);
      argv.forEach((a, i) => template([key, 'exec', i], a));
      check = { kind: 'exec', command: argv };
    } else if (r.http && typeof r.http === 'object') {
      const url = String((r.http as Raw).url);
      template([key, 'http', 'url'], url);
      check = { kind: 'http', url };
    } else if (r.tcp && typeof r.tcp === 'object') {
      const t = r.tcp as Raw;
      const host = typeof t.host === 'string' ? t.host : DEFAULTS.tcpHost;
      const port = String(t.port);
      if (typeof t.host === 'string') template([key, 'tcp', 'host'], t.host);
      if (typeof t.port === 'string') {
        template([key, 'tcp', 'port'], t.port);
        if (!t.port.includes('${') && !/^\d+$/.test(t.port)) {
          fail([key, 'tcp', 'port'], `${key}.tcp.port must be a port number or a \${VAR} such as \${PORT}, got ${describeValue(t.port)}`);
        } else if (/^\d+$/.test(t.port) && (Number(t.port) < 1 || Number(t.port) > 65535)) {
          fail([key, 'tcp', 'port'], `${key}.tcp.port must be a port number from 1 to 65535, got ${describeValue(t.port)}`);
        }
      }
      check = { kind: 'tcp', host, port };
    }
    const spec: ProbeSpec = {
      check: check ?? { kind: 'exec', command: [] },
      intervalMs: duration([key, 'interval'], intervalDefault, { positive: true }),
      timeoutMs: duration([key, 'timeout'], DEFAULTS.probe.timeoutMs, { positive: true }),
      failureThreshold: typeof r.failure_threshold === 'number' ? r.failure_threshold : DEFAULTS.probe.failureThreshold,
      successThreshold: typeof r.success_threshold === 'number' ? r.success_threshold : DEFAULTS.probe.successThreshold,
      startPeriodMs: duration([key, 'start_period'], DEFAULTS.probe.startPeriodMs),
    };
    return check ? spec : undefined;
  };
  const readiness = probe('readiness', DEFAULTS.readinessIntervalMs);
  const liveness = probe('liveness', DEFAULTS.livenessIntervalMs);

  const oneshot = raw.oneshot === true;
  const restart = (raw.restart as RestartPolicy | undefined) ?? (oneshot ? DEFAULTS.restartOneshot : DEFAULTS.restart);
  if (oneshot && raw.restart === 'always') {
    fail(['restart'], 'restart: always does not fit a oneshot (it would run again each time it completes); use on-failure or never');
  }

  const b = asRecord(raw.backoff);
  const backoff: BackoffSpec = {
    initialMs: duration(['backoff', 'initial'], DEFAULTS.backoff.initialMs),
    maxMs: duration(['backoff', 'max'], DEFAULTS.backoff.maxMs),
    factor: typeof b.factor === 'number' ? b.factor : DEFAULTS.backoff.factor,
    resetAfterMs: duration(['backoff', 'reset_after'], DEFAULTS.backoff.resetAfterMs),
  };
  if (backoff.maxMs < backoff.initialMs) {
    fail(['backoff', b.max === undefined ? 'initial' : 'max'], `backoff.max (${formatDuration(backoff.maxMs)}) must not be shorter than backoff.initial (${formatDuration(backoff.initialMs)})`);
  }

  let stopSignal: NodeJS.Signals = DEFAULTS.stopSignal;
  if (typeof raw.stop_signal === 'string') {
    const sig = parseSignal(raw.stop_signal);
    if (sig === null) {
      fail(['stop_signal'], `stop_signal must be a signal name such as SIGTERM, got ${describeValue(raw.stop_signal)}${didYouMean(raw.stop_signal, SIGNAL_NAMES)}`);
    } else if (sig === 'SIGSTOP' || sig === 'SIGTSTP' || sig === 'SIGCONT') {
      fail(['stop_signal'], `stop_signal ${sig} does not stop a process; use SIGTERM, SIGINT, SIGQUIT or SIGKILL`);
    } else stopSignal = sig;
  }

  const u = asRecord(raw.update);
  const update = {
    strategy: (u.strategy as 'rolling' | 'recreate' | undefined) ?? DEFAULTS.update.strategy,
    maxUnavailable: typeof u.max_unavailable === 'number' ? u.max_unavailable : DEFAULTS.update.maxUnavailable,
    maxSurge: typeof u.max_surge === 'number' ? u.max_surge : DEFAULTS.update.maxSurge,
  };
  if (update.strategy === 'rolling' && update.maxUnavailable === 0 && update.maxSurge === 0) {
    fail(['update'], 'update.max_unavailable and update.max_surge are both 0, so a rolling update could never replace a replica; set one of them to 1 or more');
  }

  const l = asRecord(raw.limits);
  const limits = {
    memoryBytes: size(['limits', 'memory'], DEFAULTS.limits.memoryBytes),
    cpuPercent: typeof l.cpu_percent === 'number' ? l.cpu_percent : DEFAULTS.limits.cpuPercent,
    maxRuntimeMs: duration(['limits', 'max_runtime'], DEFAULTS.limits.maxRuntimeMs),
  };
  const lg = asRecord(raw.logs);
  const logs = {
    maxSizeBytes: size(['logs', 'max_size'], DEFAULTS.logs.maxSizeBytes, { positive: true }),
    maxFiles: typeof lg.max_files === 'number' ? lg.max_files : DEFAULTS.logs.maxFiles,
  };

  const labels = new Map<string, string>();
  for (const [k, v] of Object.entries(asRecord(raw.labels))) labels.set(k, String(v));
  const restartWindowMs = duration(['restart_window'], DEFAULTS.restartWindowMs, { positive: true });
  const stopTimeoutMs = duration(['stop_timeout'], DEFAULTS.stopTimeoutMs);
  const user = typeof raw.user === 'string' || typeof raw.user === 'number' ? String(raw.user) : undefined;

  // ---- on: and alerts: (hooks and alerts; spec/hooks.ts) ----
  const on = normalizeHooks(raw.on, ['on'], { dir, file: input.file, service: input.name });
  const alertRules = normalizeAlerts(raw.alerts, ['alerts']);
  problems.push(...on.problems, ...alertRules.problems);
  // ---- notify (DESIGN §9): notify, readiness.notify, watchdog, events, metadata ----
  const notify = normalizeNotify(raw, fail, duration);

  // Without a valid command (already reported by the schema) there is no spec to build.
  if (problems.length > 0 || command.length === 0) return { problems };
  const spec: ServiceSpec = {
    name: input.name,
    file: input.file,
    line: input.line,
    command,
    cwd,
    // fromEntries defines own properties, so `__proto__` or `constructor` are ordinary keys.
    env: Object.fromEntries(env),
    envFiles,
    replicas,
    ports: Object.fromEntries(ports),
    dependsOn: Object.fromEntries(dependsOn),
    ...(readiness ? { readiness } : {}),
    ...(liveness ? { liveness } : {}),
    restart,
    backoff,
    maxRestarts: typeof raw.max_restarts === 'number' ? raw.max_restarts : DEFAULTS.maxRestarts,
    restartWindowMs,
    stopSignal,
    stopTimeoutMs,
    stopEscaped: raw.stop_escaped === 'kill' ? 'kill' : DEFAULTS.stopEscaped,
    oneshot,
    update,
    limits,
    logs,
    ...(user === undefined ? {} : { user }),
    labels: Object.fromEntries(labels),
    ...(notify ? { notify } : {}),
    hash: '',
    ...(on.hooks.length > 0 ? { hooks: on.hooks } : {}),
    ...(Object.keys(alertRules.alerts).length > 0 ? { alerts: alertRules.alerts } : {}),
  };
  spec.hash = processHash(spec);
  return { spec, problems };
}

// Hash of what shapes the process: a change replaces replicas, anything else applies live.
// env already holds the env_file entries that take effect, so an edit to a comment in an env
// file, or to a variable that env overrides, does not restart anything.
export function processHash(spec: Pick<ServiceSpec, 'command' | 'cwd' | 'env' | 'ports' | 'user' | 'notify'>): string {
  const notify = notifyHashPart(spec.notify); // only when set: other specs keep their hash
  return stableHash({ command: spec.command, cwd: spec.cwd, env: spec.env, ports: spec.ports, user: spec.user ?? null, ...(notify ? { notify } : {}) });
}

function get(raw: Raw, path: YamlPath): unknown {
  let v: unknown = raw;
  for (const seg of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string | number, unknown>)[seg];
  }
  return v;
}

function asRecord(v: unknown): Raw {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Raw) : {};
}
