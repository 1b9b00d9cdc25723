// process-compose.yaml → tend services. process-compose's own defaults differ from tend's and the
// conversion keeps the source's behaviour: no restart unless `availability.restart` says so, a
// fixed 1 s back-off, unlimited restarts, probes every 10 s, commands run by `bash -c`.

import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import type { SpecProblem } from '../errors.js';
import type { YamlPath } from '../spec/located.js';
import { Recorder, row } from './report.js';
import type { ImportResult, MappingRow, SourceReader } from './types.js';
import { escapeDollars, serviceName, signalName } from './util.js';
import { isRecord, parseYamlSource, unknownKeys, type YamlSource } from './yaml-source.js';

const LOGS = 'tend writes each replica\'s output to .tend/logs/<service>/<n>.log (rotated by logs.max_size)';

export const PROCESS_COMPOSE_MAPPING: readonly MappingRow[] = [
  row('processes.<name>', 'converted', 'the file name (service name)', 'lowercased, other characters than a-z 0-9 _ - become "-"'),
  row('command', 'converted', 'command: [bash, -c, …]', 'process-compose runs the command with its shell (bash -c, or shell.shell_command / shell_argument)'),
  row('entrypoint', 'converted', 'command (argv)', 'run directly, without a shell'),
  row('working_dir', 'converted', 'cwd', 'relative paths are taken from the directory of process-compose.yaml (process-compose uses its own working directory, usually that one)'),
  row('working_dir=absent', 'approximated', 'cwd: the directory of process-compose.yaml', 'process-compose runs a process in its own working directory', 'absent'),
  row('environment', 'converted', 'env', 'KEY=VALUE entries; the top-level environment is merged under each process\'s own'),
  row('env_file', 'converted', 'env_file', 'relative to working_dir when set, as process-compose does'),
  row('.env', 'approximated', 'env_file (first)', 'the .env beside process-compose.yaml; process-compose lets the system environment win over it, tend lets it win over its own environment', 'present'),
  row('is_dotenv_disabled', 'converted', 'no .env in env_file', 'the .env file is not read for this process'),
  row('replicas', 'converted', 'replicas', 'PC_REPLICA_NUM is set to ${TEND_REPLICA}'),
  row('disabled', 'approximated', 'replicas: 0', 'defined but not started; `tend scale NAME=1` starts it'),
  row('availability.restart=absent', 'converted', 'restart: never', 'process-compose\'s default is "no" (tend\'s default would be always)', 'absent'),
  row('availability.restart=no', 'converted', 'restart: never', '', 'no'),
  row('availability.restart=always', 'converted', 'restart: always', '', 'always'),
  row('availability.restart=on_failure', 'converted', 'restart: on-failure', 'a non-zero exit restarts', 'on_failure'),
  row('availability.restart=exit_on_failure', 'approximated', 'restart: on-failure', 'process-compose stops the whole project when it fails; tend restarts the one service', 'exit_on_failure'),
  row('availability.backoff_seconds', 'converted', 'backoff: { initial, max, factor: 1 }', 'a fixed delay of this many seconds (at least 1, as in process-compose)'),
  row('availability.backoff_seconds=absent', 'converted', 'backoff: { initial: 1s, max: 1s, factor: 1 }', 'process-compose waits a fixed 1 s between restarts', 'absent, restarting'),
  row('availability.max_restarts', 'approximated', 'max_restarts, restart_window: 24h', 'process-compose counts restarts over the process\'s whole life; tend counts them within restart_window'),
  row('availability.max_restarts=absent', 'converted', 'max_restarts: 0 (unlimited)', 'process-compose restarts without limit by default', 'absent, restarting'),
  row('availability.exit_on_end', 'dropped', '', 'tend never exits because a service ended'),
  row('availability.exit_on_skipped', 'dropped', '', 'tend never exits because a service was skipped'),
  row('depends_on=process_started', 'converted', 'depends_on: started', '', 'process_started'),
  row('depends_on=process_healthy', 'converted', 'depends_on: healthy', 'the dependency\'s readiness probe must pass', 'process_healthy'),
  row('depends_on=process_completed_successfully', 'converted', 'depends_on: completed (dependency made a oneshot)', 'tend\'s completed means exit 0', 'process_completed_successfully'),
  row('depends_on=process_completed', 'approximated', 'depends_on: completed (dependency made a oneshot)', 'process-compose accepts any exit code; tend waits for exit 0', 'process_completed, or no condition'),
  row('depends_on=process_log_ready', 'approximated', 'depends_on: started', 'tend does not watch output for ready_log_line; it waits until the dependency runs', 'process_log_ready'),
  row('depends_on=always-restarts', 'approximated', 'depends_on: started', 'tend\'s completed needs a oneshot, and a oneshot cannot restart always', 'dependency restarts always'),
  row('readiness_probe', 'converted', 'readiness', 'exec runs with bash -c; http_get becomes a URL; period_seconds is written out (process-compose\'s default 10 s, tend\'s is 2 s)'),
  row('liveness_probe', 'converted', 'liveness', 'as readiness_probe'),
  row('probe.initial_delay_seconds', 'approximated', 'start_period', 'process-compose waits before the first check; tend checks at once but failures inside start_period do not count'),
  row('probe.exec.working_dir', 'dropped', '', 'tend runs exec probes in the service\'s cwd'),
  row('probe.http_get.headers', 'dropped', '', 'tend\'s http probe sends no custom headers'),
  row('probe.http_get.status_code', 'approximated', 'http probe', 'tend passes on any 2xx or 3xx status, not one status code'),
  row('shutdown.signal', 'converted', 'stop_signal', 'signal number → name'),
  row('shutdown.timeout_seconds', 'converted', 'stop_timeout', ''),
  row('shutdown.command', 'dropped', '', 'tend stops a replica by sending stop_signal to it; it runs no stop command'),
  row('shutdown.parent_only', 'approximated', 'stop_signal to the whole process group', 'tend always signals the replica\'s whole process group'),
  row('shutdown.send_keys', 'dropped', '', 'tend has no terminal to type into'),
  row('namespace', 'approximated', 'labels.namespace', 'tend has no namespaces; kept as a label'),
  row('description', 'approximated', 'labels.description', 'kept as a label'),
  row('extends', 'converted', '(merged)', 'the extended process\'s fields are merged in; environment and depends_on by key, the extending process winning'),
  row('is_daemon', 'dropped', '', 'tend supervises processes that stay in the foreground: run the program without forking (e.g. nginx -g "daemon off;")'),
  row('log_location', 'dropped', '', LOGS),
  row('log_configuration', 'dropped', '', LOGS),
  row('disable_ansi_colors', 'dropped', '', LOGS),
  row('truncate_log', 'dropped', '', LOGS),
  row('ready_log_line', 'dropped', '', 'tend has no log-line readiness; use a readiness probe'),
  row('vars', 'dropped', '', 'Go templates ({{.VAR}}) are not rendered by tend import'),
  row('is_template_disabled', 'dropped', '', 'tend does not render templates'),
  row('is_foreground', 'dropped', '', 'tend has no foreground (TUI) processes'),
  row('is_tty', 'dropped', '', 'tend gives replicas no terminal'),
  row('is_interactive', 'dropped', '', 'tend gives replicas no terminal'),
  row('is_elevated', 'dropped', '', 'tend runs no sudo; use user: with tend running as root'),
  row('launch_timeout_seconds', 'dropped', '', 'tend has no launch timeout for foreground processes'),
  row('is_disabled', 'dropped', '', 'an expression evaluated by process-compose; set replicas: 0 by hand'),
  row('schedule', 'dropped', '', 'tend has no scheduled (cron) runs'),
  row('watch', 'dropped', '', 'tend restarts on spec changes, not on file watches'),
  row('mcp', 'dropped', '', 'no MCP in tend'),
  row('monitor_for', 'dropped', '', 'tend does not monitor output activity'),
  row('monitor_silence_threshold', 'dropped', '', 'tend does not monitor output activity'),
  row('success_exit_codes', 'approximated', 'restart', 'tend counts only exit 0 as success'),
  row('name', 'dropped', '', 'the name is the key under processes'),
  row('(top) environment', 'converted', 'env of every service', 'merged under each process\'s environment'),
  row('(top) shell', 'converted', 'command', 'shell_command and shell_argument run every command'),
  row('(top) disable_env_expansion', 'converted', '$$ in commands', 'every $ is written as $$ so that tend does not expand it either'),
  row('(top) extends', 'converted', '(merged)', 'the extended file\'s processes are merged in, this file winning per process'),
  row('(top) version', 'dropped', '', 'no meaning for tend'),
  row('(top) name', 'dropped', '', 'tend has no project name'),
  row('(top) log_location', 'dropped', '', 'tend\'s own log is .tend/tend.log'),
  row('(top) log_level', 'dropped', '', 'use tend up --log-level'),
  row('(top) log_length', 'dropped', '', 'no meaning for tend'),
  row('(top) log_format', 'dropped', '', 'no meaning for tend'),
  row('(top) log_configuration', 'dropped', '', LOGS),
  row('(top) is_strict', 'dropped', '', 'tend import and tend validate always refuse unknown keys'),
  row('(top) vars', 'dropped', '', 'Go templates ({{.VAR}}) are not rendered by tend import'),
  row('(top) is_tui_disabled', 'dropped', '', 'tend has no TUI'),
  row('(top) env_cmds', 'dropped', '', 'tend runs no commands to compute variables'),
  row('(top) ordered_shutdown', 'approximated', 'depends_on', 'tend always stops dependents before their dependencies'),
  row('(top) mcp_server', 'dropped', '', 'no MCP in tend'),
];

const TOP_KEYS = ['version', 'name', 'log_location', 'log_level', 'log_length', 'log_configuration', 'log_format', 'processes', 'environment', 'shell', 'is_strict', 'vars', 'disable_env_expansion', 'is_tui_disabled', 'extends', 'env_cmds', 'ordered_shutdown', 'mcp_server'];
const PROCESS_KEYS = ['name', 'extends', 'disabled', 'is_daemon', 'command', 'entrypoint', 'log_location', 'log_configuration', 'environment', 'env_file', 'availability', 'depends_on', 'liveness_probe', 'readiness_probe', 'ready_log_line', 'shutdown', 'disable_ansi_colors', 'working_dir', 'namespace', 'replicas', 'description', 'vars', 'is_foreground', 'is_tty', 'is_elevated', 'is_interactive', 'launch_timeout_seconds', 'is_disabled', 'is_dotenv_disabled', 'schedule', 'watch', 'mcp', 'truncate_log', 'is_template_disabled', 'monitor_for', 'monitor_silence_threshold', 'success_exit_codes'];
const AVAILABILITY_KEYS = ['restart', 'backoff_seconds', 'max_restarts', 'exit_on_end', 'exit_on_skipped'];
const SHUTDOWN_KEYS = ['command', 'timeout_seconds', 'signal', 'parent_only', 'send_keys'];
const PROBE_KEYS = ['exec', 'http_get', 'initial_delay_seconds', 'period_seconds', 'timeout_seconds', 'success_threshold', 'failure_threshold'];
const CONDITIONS = ['process_started', 'process_healthy', 'process_completed', 'process_completed_successfully', 'process_log_ready'];
const RESTARTS = ['no', 'always', 'on_failure', 'exit_on_failure'];

type Raw = Record<string, unknown>;

interface Loaded {
  /** Processes with the file each came from (for `extends` across files). */
  processes: Map<string, { raw: Raw; file: string; src: YamlSource }>;
  top: Raw;
}

// Reads `path` and the files it extends (the extending file wins per process).
function loadProject(path: string, reader: SourceReader, problems: SpecProblem[], chain: string[]): Loaded | undefined {
  const text = reader.readText(path);
  if (text === undefined) {
    problems.push({ file: chain.at(-1) ?? path, line: 1, column: 1, code: 'SPEC_INVALID', message: `cannot read ${path}` });
    return undefined;
  }
  const src = parseYamlSource(path, text);
  if ('problems' in src) {
    problems.push(...src.problems);
    return undefined;
  }
  if (!isRecord(src.value)) {
    problems.push({ file: path, line: 1, column: 1, code: 'SPEC_INVALID', message: 'expected a mapping with `processes:`' });
    return undefined;
  }
  const top = src.value;
  problems.push(...unknownKeys(path, src, [], top, TOP_KEYS, 'process-compose.yaml'));
  const loaded: Loaded = { processes: new Map(), top };
  if (typeof top.extends === 'string') {
    const parentPath = resolve(dirname(path), top.extends);
    if (chain.includes(parentPath) || parentPath === path) {
      problems.push({ file: path, ...src.at(['extends']), code: 'SPEC_INVALID', message: `extends loop: ${[...chain, path, parentPath].map((p) => basename(p)).join(' → ')}` });
      return undefined;
    }
    const parent = loadProject(parentPath, reader, problems, [...chain, path]);
    if (parent) {
      for (const [k, v] of parent.processes) loaded.processes.set(k, v);
      loaded.top = { ...parent.top, ...top, environment: [...envList(parent.top.environment), ...envList(top.environment)] };
    }
  }
  if (top.processes !== undefined && !isRecord(top.processes)) {
    problems.push({ file: path, ...src.at(['processes']), code: 'SPEC_INVALID', message: 'processes must be a mapping of name to process' });
    return loaded;
  }
  for (const [name, raw] of Object.entries((top.processes as Raw | undefined) ?? {})) {
    const at: YamlPath = ['processes', name];
    if (!isRecord(raw)) {
      problems.push({ file: path, ...src.at(at), code: 'SPEC_INVALID', message: `process "${name}" must be a mapping` });
      continue;
    }
    problems.push(...unknownKeys(path, src, at, raw, PROCESS_KEYS, `process "${name}"`));
    const nested: [string, readonly string[]][] = [['availability', AVAILABILITY_KEYS], ['shutdown', SHUTDOWN_KEYS], ['readiness_probe', PROBE_KEYS], ['liveness_probe', PROBE_KEYS]];
    for (const [key, known] of nested) {
      if (raw[key] === undefined) continue;
      if (!isRecord(raw[key])) problems.push({ file: path, ...src.at([...at, key]), code: 'SPEC_INVALID', message: `${key} must be a mapping` });
      else problems.push(...unknownKeys(path, src, [...at, key], raw[key] as Raw, known, `${name}.${key}`));
    }
    const a = raw.availability as Raw | undefined;
    if (isRecord(a) && a.restart !== undefined && !RESTARTS.includes(String(a.restart))) {
      problems.push({ file: path, ...src.at([...at, 'availability', 'restart']), code: 'SPEC_INVALID', message: `invalid restart policy "${String(a.restart)}" (one of ${RESTARTS.join(', ')})` });
    }
    if (raw.depends_on !== undefined) {
      if (!isRecord(raw.depends_on)) problems.push({ file: path, ...src.at([...at, 'depends_on']), code: 'SPEC_INVALID', message: 'depends_on must be a mapping of process name to { condition }' });
      else
        for (const [dep, d] of Object.entries(raw.depends_on)) {
          const c = isRecord(d) ? d.condition : undefined;
          if (d !== null && !isRecord(d)) problems.push({ file: path, ...src.at([...at, 'depends_on', dep]), code: 'SPEC_INVALID', message: `depends_on.${dep} must be a mapping with condition:` });
          else if (c !== undefined && !CONDITIONS.includes(String(c))) {
            problems.push({ file: path, ...src.at([...at, 'depends_on', dep, 'condition']), code: 'SPEC_INVALID', message: `invalid process dependency condition "${String(c)}" (one of ${CONDITIONS.join(', ')})` });
          }
        }
    }
    loaded.processes.set(name, { raw, file: path, src });
  }
  return loaded;
}

function envList(v: unknown): string[] {
  if (Array.isArray(v)) return v.map(String);
  if (isRecord(v)) return Object.entries(v).map(([k, x]) => `${k}=${String(x)}`);
  return [];
}

function envMap(v: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of envList(v)) {
    const i = e.indexOf('=');
    if (i > 0) out[e.slice(0, i)] = e.slice(i + 1);
  }
  return out;
}

// process `extends`: the parent's fields under the child's; maps merged by key, lists appended.
function mergeProcess(parent: Raw, child: Raw): Raw {
  const out: Raw = { ...parent, ...child };
  out.environment = [...envList(parent.environment), ...envList(child.environment)];
  if (parent.environment === undefined && child.environment === undefined) delete out.environment;
  if (isRecord(parent.depends_on) || isRecord(child.depends_on)) out.depends_on = { ...(parent.depends_on as Raw), ...(child.depends_on as Raw) };
  for (const k of ['availability', 'shutdown']) if (isRecord(parent[k]) && isRecord(child[k])) out[k] = { ...(parent[k] as Raw), ...(child[k] as Raw) };
  if (Array.isArray(parent.entrypoint) && Array.isArray(child.entrypoint)) out.entrypoint = [...parent.entrypoint, ...child.entrypoint];
  delete out.extends;
  return out;
}

/** Converts the process-compose file at `path` (and the files it extends). */
export function convertProcessCompose(path: string, reader: SourceReader): ImportResult {
  const problems: SpecProblem[] = [];
  const rec = new Recorder(PROCESS_COMPOSE_MAPPING);
  const loaded = loadProject(path, reader, problems, []);
  const result: ImportResult = { format: 'process-compose', services: [], fields: rec.fields, problems };
  if (!loaded || problems.length > 0) return result;
  const file = basename(path);
  const dir = dirname(path);
  const top = loaded.top;
  const topEntry = `${file} (top level)`;
  const shell = isRecord(top.shell) ? top.shell : {};
  const shellCmd = typeof shell.shell_command === 'string' ? shell.shell_command : 'bash';
  const shellArg = typeof shell.shell_argument === 'string' ? shell.shell_argument : '-c';
  const noExpand = top.disable_env_expansion === true;
  for (const k of Object.keys(top)) {
    if (k === 'processes' || k.startsWith('x-')) continue;
    rec.add(topEntry, '', `(top) ${k}`, { field: k });
  }
  const globalEnv = envMap(top.environment);
  const dotEnvPath = join(dir, '.env');
  const hasDotEnv = reader.readText(dotEnvPath) !== undefined;

  // Resolve process-level `extends` (chains allowed, loops refused).
  const resolved = new Map<string, Raw>();
  const resolving = new Set<string>();
  const resolveProc = (name: string): Raw | undefined => {
    const hit = resolved.get(name);
    if (hit) return hit;
    const p = loaded.processes.get(name)!;
    const parentName = p.raw.extends;
    if (typeof parentName !== 'string') {
      resolved.set(name, p.raw);
      return p.raw;
    }
    if (resolving.has(name) || !loaded.processes.has(parentName)) {
      problems.push({
        file: p.file,
        ...p.src.at(['processes', name, 'extends']),
        code: 'SPEC_INVALID',
        message: loaded.processes.has(parentName) ? `circular extends involving process "${name}"` : `process "${name}" extends unknown process "${parentName}"`,
      });
      return undefined;
    }
    resolving.add(name);
    const parent = resolveProc(parentName);
    resolving.delete(name);
    if (!parent) return undefined;
    const merged = mergeProcess(parent, p.raw);
    resolved.set(name, merged);
    return merged;
  };
  for (const name of loaded.processes.keys()) resolveProc(name);
  if (problems.length > 0) return result;

  const names = new Map([...loaded.processes.keys()].map((n) => [n, serviceName(n)]));
  const specs = new Map<string, Record<string, unknown>>();
  const restartOf = new Map<string, string>();
  for (const [name, raw] of resolved) {
    const origin = loaded.processes.get(name)!;
    const svc = names.get(name)!;
    const entry = `${basename(origin.file)} processes.${name}`;
    const add = (key: string, opts: { field?: string; detail?: string } = {}) => rec.add(entry, svc, key, opts);
    const spec: Record<string, unknown> = {};
    add('processes.<name>', { field: `processes.${name}`, ...(svc === name ? {} : { detail: `"${name}" → "${svc}"` }) });
    if (loaded.processes.get(name)!.raw.extends !== undefined) add('extends', { detail: `from "${String(loaded.processes.get(name)!.raw.extends)}"` });

    const fix = (s: string) => (noExpand ? escapeDollars(s) : s);
    if (typeof raw.command === 'string' && raw.command !== '') {
      spec.command = [shellCmd, shellArg, fix(raw.command)];
      add('command');
      if (raw.entrypoint !== undefined) add('entrypoint', { detail: 'ignored: command is set, as in process-compose' });
    } else if (Array.isArray(raw.entrypoint) && raw.entrypoint.length > 0) {
      spec.command = raw.entrypoint.map((x) => fix(String(x)));
      add('entrypoint');
    } else {
      problems.push({ file: origin.file, ...origin.src.at(['processes', name], 'key'), code: 'SPEC_INVALID', message: `process "${name}" has no command or entrypoint` });
      continue;
    }
    const workDir = typeof raw.working_dir === 'string' && raw.working_dir !== '' ? resolve(dir, raw.working_dir) : undefined;
    spec.cwd = workDir ?? dir;
    add(workDir ? 'working_dir' : 'working_dir=absent', workDir ? {} : { field: 'working_dir' });

    const envFiles: string[] = [];
    if (hasDotEnv && raw.is_dotenv_disabled !== true) {
      envFiles.push(dotEnvPath);
      add('.env');
    }
    if (raw.is_dotenv_disabled !== undefined) add('is_dotenv_disabled');
    if (typeof raw.env_file === 'string') {
      envFiles.push(isAbsolute(raw.env_file) ? raw.env_file : resolve(workDir ?? dir, raw.env_file));
      add('env_file');
    }
    if (envFiles.length > 0) spec.env_file = envFiles;
    const env: Record<string, string> = { ...globalEnv, ...envMap(raw.environment) };
    if (raw.environment !== undefined) add('environment');

    const replicas = typeof raw.replicas === 'number' ? raw.replicas : 1;
    if (raw.replicas !== undefined) {
      spec.replicas = replicas;
      add('replicas');
    }
    env.PC_REPLICA_NUM = '${TEND_REPLICA}';
    env.PC_PROC_NAME = name;
    spec.env = env;
    if (raw.disabled === true) {
      spec.replicas = 0;
      add('disabled');
    } else if (raw.disabled !== undefined) add('disabled', { detail: 'false: started' });

    const a = isRecord(raw.availability) ? raw.availability : {};
    const policy = a.restart === undefined ? 'absent' : String(a.restart);
    spec.restart = { absent: 'never', no: 'never', always: 'always', on_failure: 'on-failure', exit_on_failure: 'on-failure' }[policy];
    restartOf.set(name, spec.restart as string);
    add(`availability.restart=${policy}`, { field: 'availability.restart' });
    if (spec.restart !== 'never') {
      const secs = Math.max(typeof a.backoff_seconds === 'number' ? a.backoff_seconds : 1, 1);
      spec.backoff = { initial: `${secs}s`, max: `${secs}s`, factor: 1 };
      add(a.backoff_seconds === undefined ? 'availability.backoff_seconds=absent' : 'availability.backoff_seconds', { field: 'availability.backoff_seconds' });
      const max = typeof a.max_restarts === 'number' ? a.max_restarts : 0;
      spec.max_restarts = max;
      if (max > 0) spec.restart_window = '24h';
      add(a.max_restarts === undefined ? 'availability.max_restarts=absent' : 'availability.max_restarts', { field: 'availability.max_restarts' });
    } else {
      if (a.backoff_seconds !== undefined) add('availability.backoff_seconds', { detail: 'unused: the process does not restart' });
      if (a.max_restarts !== undefined) add('availability.max_restarts', { detail: 'unused: the process does not restart' });
    }
    if (a.exit_on_end !== undefined) add('availability.exit_on_end');
    if (a.exit_on_skipped !== undefined) add('availability.exit_on_skipped');
    if (raw.success_exit_codes !== undefined) add('success_exit_codes');

    for (const kind of ['readiness', 'liveness'] as const) {
      const p = raw[`${kind}_probe`];
      if (!isRecord(p)) continue;
      const probe: Record<string, unknown> = {};
      const exec = isRecord(p.exec) ? p.exec : undefined;
      const http = isRecord(p.http_get) ? p.http_get : undefined;
      if (exec && typeof exec.command === 'string') {
        probe.exec = [shellCmd, shellArg, fix(exec.command)];
        if (exec.working_dir !== undefined) add('probe.exec.working_dir', { field: `${kind}_probe.exec.working_dir` });
      } else if (http) {
        const host = typeof http.host === 'string' && http.host.trim() !== '' ? http.host : '127.0.0.1';
        const scheme = typeof http.scheme === 'string' && http.scheme.trim() !== '' ? http.scheme : 'http';
        const path0 = typeof http.path === 'string' && http.path.trim() !== '' ? http.path : '/';
        const port = Number(http.port);
        probe.http = { url: `${scheme}://${host}${Number.isInteger(port) && port >= 1 && port <= 65535 ? `:${port}` : ''}${path0.startsWith('/') ? path0 : `/${path0}`}` };
        if (http.headers !== undefined) add('probe.http_get.headers', { field: `${kind}_probe.http_get.headers` });
        if (http.status_code !== undefined) add('probe.http_get.status_code', { field: `${kind}_probe.http_get.status_code` });
      } else {
        problems.push({ file: origin.file, ...origin.src.at(['processes', name, `${kind}_probe`]), code: 'SPEC_INVALID', message: `${kind}_probe needs exec.command or http_get` });
        continue;
      }
      const num = (k: string, d: number) => (typeof p[k] === 'number' && (p[k] as number) >= 1 ? (p[k] as number) : d);
      probe.interval = `${num('period_seconds', 10)}s`;
      probe.timeout = `${num('timeout_seconds', 1)}s`;
      probe.success_threshold = num('success_threshold', 1);
      probe.failure_threshold = num('failure_threshold', 3);
      if (typeof p.initial_delay_seconds === 'number' && p.initial_delay_seconds > 0) {
        probe.start_period = `${p.initial_delay_seconds}s`;
        add('probe.initial_delay_seconds', { field: `${kind}_probe.initial_delay_seconds` });
      }
      spec[kind] = probe;
      add(`${kind}_probe`);
    }

    const sd = isRecord(raw.shutdown) ? raw.shutdown : {};
    if (sd.signal !== undefined) {
      const sig = signalName(sd.signal);
      if (!sig) problems.push({ file: origin.file, ...origin.src.at(['processes', name, 'shutdown', 'signal']), code: 'SPEC_INVALID', message: `unknown signal ${String(sd.signal)}` });
      else spec.stop_signal = sig;
      add('shutdown.signal', { detail: `${String(sd.signal)} → ${sig ?? '?'}` });
    }
    if (typeof sd.timeout_seconds === 'number') {
      spec.stop_timeout = `${sd.timeout_seconds}s`;
      add('shutdown.timeout_seconds');
    }
    for (const k of ['command', 'parent_only', 'send_keys']) if (sd[k] !== undefined) add(`shutdown.${k}`);

    const labels: Record<string, string> = {};
    if (raw.namespace !== undefined) {
      labels.namespace = Array.isArray(raw.namespace) ? raw.namespace.join(',') : String(raw.namespace);
      add('namespace');
    }
    if (typeof raw.description === 'string') {
      labels.description = raw.description;
      add('description');
    }
    if (Object.keys(labels).length > 0) spec.labels = labels;
    for (const k of ['is_daemon', 'log_location', 'log_configuration', 'disable_ansi_colors', 'truncate_log', 'ready_log_line', 'vars', 'is_template_disabled', 'is_foreground', 'is_tty', 'is_interactive', 'is_elevated', 'launch_timeout_seconds', 'is_disabled', 'schedule', 'watch', 'mcp', 'monitor_for', 'monitor_silence_threshold', 'name']) {
      if (raw[k] !== undefined) add(k);
    }
    specs.set(name, spec);
    result.services.push({ name: svc, sourceFile: origin.file, entry, spec });
  }

  // Dependencies last: a `completed` condition makes its dependency a oneshot.
  for (const [name, raw] of resolved) {
    const spec = specs.get(name);
    if (!spec || !isRecord(raw.depends_on)) continue;
    const origin = loaded.processes.get(name)!;
    const entry = `${basename(origin.file)} processes.${name}`;
    const deps: Record<string, string> = {};
    for (const [dep, d] of Object.entries(raw.depends_on)) {
      const cond = isRecord(d) && d.condition !== undefined ? String(d.condition) : 'process_completed';
      const target = specs.get(dep);
      if (!loaded.processes.has(dep)) {
        problems.push({ file: origin.file, ...origin.src.at(['processes', name, 'depends_on', dep], 'key'), code: 'SPEC_INVALID', message: `process "${name}" depends on unknown process "${dep}"` });
        continue;
      }
      let tendCond = { process_started: 'started', process_healthy: 'healthy', process_log_ready: 'started', process_completed: 'completed', process_completed_successfully: 'completed' }[cond]!;
      let key = `depends_on=${cond}`;
      if (tendCond === 'completed' && target) {
        if (restartOf.get(dep) === 'always') {
          tendCond = 'started';
          key = 'depends_on=always-restarts';
        } else target.oneshot = true;
      }
      deps[names.get(dep)!] = tendCond;
      rec.add(entry, names.get(name)!, key, { field: `depends_on.${dep}`, detail: `${cond} → ${tendCond}` });
    }
    spec.depends_on = deps;
  }
  return result;
}
