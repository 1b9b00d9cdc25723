// PM2 ecosystem file (JSON or YAML) → tend services. A .js ecosystem file is code and is never
// run: the user is told how to turn it into JSON. PM2's behaviour is kept: restart on any exit
// (0 included) at once, SIGINT to stop with SIGKILL after 1.6 s, at most 16 quick restarts.

import { basename, dirname, extname, resolve } from 'node:path';
import type { SpecProblem } from '../errors.js';
import { Recorder, row } from './report.js';
import type { ImportOptions, ImportResult, MappingRow, SourceReader } from './types.js';
import { duration, serviceName, shellSplit } from './util.js';
import { isRecord, parseYamlSource } from './yaml-source.js';

const LOGS = 'tend writes stdout and stderr of each replica to .tend/logs/<service>/<n>.log (rotated by logs:)';
const PM2_ONLY = 'PM2 / Keymetrics specific: nothing to do for tend';

export const PM2_MAPPING: readonly MappingRow[] = [
  row('name', 'converted', 'the file name (service name)', 'lowercased, other characters than a-z 0-9 _ - become "-"; without a name, the script\'s file name as PM2 does'),
  row('script', 'converted', 'command (argv)', 'run by its interpreter', 'an interpreter'),
  row('script=direct', 'converted', 'command (argv)', 'run directly: the script is command[0]', 'no interpreter'),
  row('interpreter', 'converted', 'command[0]: the interpreter', 'the program that runs the script', 'a program'),
  row('interpreter=none', 'converted', 'command: the script itself', '"none" runs the script directly', 'none'),
  row('interpreter=by-extension', 'converted', 'command[0]: the interpreter', 'chosen from the extension as PM2 does (.js node, .py python, .sh bash, .rb ruby, .php php, .pl perl, .coffee coffee, .ls lsc, .ts/.tsx bun)', 'absent, known extension'),
  row('interpreter=direct', 'approximated', 'command: the script itself', 'PM2 runs a file with no known extension with node unless it is a binary; tend runs it directly (it needs a #! line)', 'absent, other extension'),
  row('interpreter_args', 'converted', 'command, after the interpreter', '', 'an interpreter'),
  row('interpreter_args=unused', 'dropped', '', 'no interpreter runs the script (interpreter "none", or a file run directly), so they have nowhere to go', 'no interpreter'),
  row('args', 'converted', 'command, after the script', 'a string is split into words'),
  row('cwd', 'converted', 'cwd', 'relative to the ecosystem file'),
  row('cwd=absent', 'approximated', 'cwd: the directory of the ecosystem file', 'PM2 uses the directory `pm2 start` runs in', 'absent'),
  row('env', 'converted', 'env', ''),
  row('env_<name>', 'converted', 'env', 'chosen with tend import --env NAME (like pm2 start --env NAME), merged over env'),
  row('env_<name>=unused', 'dropped', '', 'not chosen: pass --env NAME to apply it', 'not chosen'),
  row('instances', 'converted', 'replicas', ''),
  row('instances=cpus', 'approximated', 'replicas: the CPUs of this machine', '"max", 0 or -1 (one less) are counted on the machine that imports', 'max, 0, -1'),
  row('exec_mode=fork', 'converted', 'one process per replica', '', 'fork'),
  row('exec_mode=cluster', 'approximated', 'one process per replica', 'PM2\'s cluster mode shares one listening port among instances through Node\'s cluster module; tend runs separate processes, so give each its own port (ports:, port, increment_var)', 'cluster'),
  row('instance_var', 'converted', 'env (the instance_var name): ${TEND_REPLICA}', 'the instance number, under the name PM2 would use (default NODE_APP_INSTANCE)', 'always'),
  row('increment_var', 'converted', 'ports', 'the variable (from env) grows by one per instance, as tend\'s ports do'),
  row('increment_var=missing', 'dropped', '', 'the variable has no numeric value in env', 'not in env'),
  row('port', 'converted', 'ports: { PORT }', 'PM2 injects PORT; with several instances tend gives replica i PORT + i'),
  row('autorestart=true', 'converted', 'restart: always', 'PM2 restarts on any exit, exit 0 included (its default)', 'true or absent'),
  row('autorestart=true-stop-codes', 'converted', 'restart: on-failure', 'PM2 restarts on any exit but those of stop_exit_codes (see there)', 'true or absent, with stop_exit_codes'),
  row('autorestart=false', 'converted', 'restart: never', '', 'false'),
  row('stop_exit_codes', 'converted', 'restart: on-failure', 'exit 0 stops the restarts', '[0]'),
  row('stop_exit_codes=other', 'approximated', 'restart: on-failure', 'tend\'s on-failure treats only exit 0 as success', 'other codes'),
  row('max_restarts', 'approximated', 'max_restarts, restart_window', 'PM2 counts only restarts after a run shorter than min_uptime; tend counts restarts within restart_window = max_restarts × min_uptime, which PM2 uses as the same bound'),
  row('max_restarts=default', 'approximated', 'max_restarts: 16, restart_window: 16s', 'PM2\'s defaults: 16 restarts, min_uptime 1 s', 'absent'),
  row('min_uptime', 'approximated', 'restart_window', 'see max_restarts'),
  row('restart_delay', 'converted', 'backoff: { initial, max, factor: 1 }', 'a fixed delay'),
  row('restart_delay=absent', 'converted', 'backoff: { initial: 0, max: 0, factor: 1 }', 'PM2 restarts at once', 'absent'),
  row('exp_backoff_restart_delay', 'converted', 'backoff: { initial, factor: 1.5, max: 15s, reset_after: 30s }', 'PM2\'s exponential back-off: ×1.5 up to 15 s, reset after 30 s of uptime'),
  row('max_memory_restart', 'converted', 'limits.memory', 'K, M, G are powers of 1024 as in PM2'),
  row('kill_timeout', 'converted', 'stop_timeout', ''),
  row('kill_timeout=default', 'converted', 'stop_signal: SIGINT, stop_timeout: 1600ms', 'PM2 stops with SIGINT and kills after 1600 ms', 'absent'),
  row('shutdown_with_message', 'dropped', '', 'tend stops with a signal, not an IPC message'),
  row('wait_ready', 'dropped', '', 'tend has no process.send(\'ready\'); use a readiness probe'),
  row('listen_timeout', 'dropped', '', 'tend has no process.send(\'ready\'); use readiness.timeout'),
  row('autostart=false', 'approximated', 'replicas: 0', 'defined but not started; `tend scale NAME=N` starts it', 'false'),
  row('autostart', 'converted', 'replicas', '', 'true'),
  row('namespace', 'approximated', 'labels.namespace', 'tend has no namespaces; kept as a label'),
  row('uid', 'converted', 'user', 'honoured when tend runs as root'),
  row('gid', 'dropped', '', 'tend runs a replica with its user\'s group'),
  row('treekill', 'approximated', 'stop_signal to the process group', 'tend always signals the replica\'s whole process group'),
  row('watch', 'dropped', '', 'tend restarts when the spec changes, not when files change'),
  row('ignore_watch', 'dropped', '', 'tend restarts when the spec changes, not when files change'),
  row('watch_options', 'dropped', '', 'tend restarts when the spec changes, not when files change'),
  row('watch_delay', 'dropped', '', 'tend restarts when the spec changes, not when files change'),
  row('cron_restart', 'dropped', '', 'tend has no scheduled restarts'),
  row('out_file', 'dropped', '', LOGS),
  row('error_file', 'dropped', '', LOGS),
  row('log_file', 'dropped', '', LOGS),
  row('merge_logs', 'dropped', '', LOGS),
  row('log_date_format', 'dropped', '', LOGS),
  row('log_type', 'dropped', '', LOGS),
  row('time', 'dropped', '', LOGS),
  row('disable_logs', 'dropped', '', LOGS),
  row('pid_file', 'dropped', '', 'tend keeps pids in .tend/state.json'),
  row('pm2-only', 'dropped', '', PM2_ONLY),
  row('deploy', 'dropped', '', 'tend does not deploy; use git pull and tend\'s watcher'),
];

const ALIASES: Record<string, string> = {
  exec: 'script', exec_interpreter: 'interpreter', node_args: 'interpreter_args', interpreterArgs: 'interpreter_args', out: 'out_file', output: 'out_file',
  out_log: 'out_file', error: 'error_file', err: 'error_file', err_file: 'error_file', err_log: 'error_file', log: 'log_file', pid: 'pid_file',
  cron: 'cron_restart', combine_logs: 'merge_logs', user: 'uid',
};
const KNOWN = [
  'script', 'name', 'interpreter', 'interpreter_args', 'args', 'cwd', 'env', 'instances', 'exec_mode', 'instance_var', 'increment_var', 'port', 'autorestart',
  'stop_exit_codes', 'max_restarts', 'min_uptime', 'restart_delay', 'exp_backoff_restart_delay', 'max_memory_restart', 'kill_timeout', 'shutdown_with_message',
  'wait_ready', 'listen_timeout', 'autostart', 'namespace', 'uid', 'gid', 'treekill', 'watch', 'ignore_watch', 'watch_options', 'watch_delay', 'cron_restart',
  'out_file', 'error_file', 'log_file', 'merge_logs', 'log_date_format', 'log_type', 'time', 'disable_logs', 'pid_file',
];
const PM2_ONLY_KEYS = [
  'name_prefix', 'filter_env', 'install_url', 'source_map_support', 'disable_source_map_support', 'vizion', 'execute_command', 'force', 'append_env_to_name',
  'post_update', 'trace', 'disable_trace', 'v8', 'event_loop_inspector', 'deep_monitoring', 'pmx', 'automation', 'username', 'windowsHide', 'kill_retry_time',
  'write', 'io',
];
const INTERPRETERS: Record<string, string> = {
  '.sh': 'bash', '.py': 'python', '.rb': 'ruby', '.php': 'php', '.pl': 'perl', '.js': 'node', '.coffee': 'coffee', '.ls': 'lsc', '.ts': 'bun', '.tsx': 'bun',
};

/** How to turn a .js ecosystem file into JSON without tend running it. */
export function jsEcosystemHint(file: string): string {
  const name = basename(file);
  const esm = file.endsWith('.mjs');
  const command = esm
    ? `node --input-type=module -e 'import { resolve } from "node:path"; const m = await import(resolve(process.argv[1])); console.log(JSON.stringify(m.default, null, 2))' ${name} > ecosystem.json`
    : `node -e 'console.log(JSON.stringify(require(require("path").resolve(process.argv[1])), null, 2))' ${name} > ecosystem.json`;
  return `${name} is JavaScript and tend import never runs it; write it out as JSON first (${command}), then: tend import ecosystem.json`;
}

function memoryBytes(v: unknown): number | undefined {
  if (typeof v === 'number') return v;
  const m = /^\s*(\d+(?:\.\d+)?)\s*([KMG])?B?\s*$/i.exec(String(v));
  if (!m) return undefined;
  return Math.round(Number(m[1]) * ({ K: 1024, M: 1024 ** 2, G: 1024 ** 3 }[(m[2] ?? '').toUpperCase()] ?? 1));
}

function sizeText(bytes: number): string | number {
  for (const [unit, n] of [['Gi', 1024 ** 3], ['Mi', 1024 ** 2], ['Ki', 1024]] as const) if (bytes >= n && bytes % n === 0) return `${bytes / n}${unit}`;
  return bytes;
}

/** Converts the PM2 ecosystem file at `path`. */
export function convertPm2(path: string, reader: SourceReader, opts: ImportOptions): ImportResult {
  const problems: SpecProblem[] = [];
  const rec = new Recorder(PM2_MAPPING);
  const result: ImportResult = { format: 'pm2', services: [], fields: rec.fields, problems };
  const file = basename(path);
  const dir = dirname(path);
  if (['.js', '.cjs', '.mjs', '.ts'].includes(extname(path))) {
    problems.push({ file: path, line: 1, column: 1, code: 'SPEC_INVALID', message: jsEcosystemHint(path) });
    return result;
  }
  const text = reader.readText(path);
  if (text === undefined) {
    problems.push({ file: path, line: 1, column: 1, code: 'SPEC_INVALID', message: 'cannot read the file' });
    return result;
  }
  const src = parseYamlSource(path, text);
  if ('problems' in src) {
    problems.push(...src.problems);
    return result;
  }
  const top = src.value;
  let apps: unknown[];
  let appsPath: (string | number)[];
  if (Array.isArray(top)) {
    apps = top;
    appsPath = [];
  } else if (isRecord(top) && top.apps !== undefined) {
    apps = Array.isArray(top.apps) ? top.apps : [top.apps];
    appsPath = Array.isArray(top.apps) ? ['apps'] : [];
    for (const k of Object.keys(top)) {
      if (k === 'apps') continue;
      if (k === 'deploy') rec.add(`${file} (top level)`, '', 'deploy');
      else problems.push({ file: path, ...src.at([k], 'key'), code: 'SPEC_INVALID', message: `unknown key "${k}" in the ecosystem file (expected apps, deploy)` });
    }
  } else {
    problems.push({ file: path, line: 1, column: 1, code: 'SPEC_INVALID', message: 'expected an ecosystem file: { apps: [ … ] } or a list of apps' });
    return result;
  }
  apps.forEach((app0, i) => {
    const at = Array.isArray(top) || appsPath.length > 0 ? [...appsPath, i] : ['apps'];
    if (!isRecord(app0)) {
      problems.push({ file: path, ...src.at(at), code: 'SPEC_INVALID', message: 'an app must be a mapping with script:' });
      return;
    }
    // Aliases under their main names; unknown keys are typos.
    const app: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(app0)) {
      const key = ALIASES[k] ?? k;
      if (!KNOWN.includes(key) && !PM2_ONLY_KEYS.includes(key) && !/^env_\S+$/.test(key)) {
        problems.push({ file: path, ...src.at([...at, k], 'key'), code: 'SPEC_INVALID', message: `unknown key "${k}" in app ${typeof app0.name === 'string' ? `"${app0.name}"` : i}` });
        continue;
      }
      app[key] = v;
    }
    if (typeof app.script !== 'string' || app.script === '') {
      problems.push({ file: path, ...src.at(at), code: 'SPEC_INVALID', message: `app ${typeof app.name === 'string' ? `"${app.name}"` : i} has no script` });
      return;
    }
    const script = app.script;
    const sourceName = typeof app.name === 'string' ? app.name : basename(script, extname(script));
    const svc = serviceName(sourceName);
    const entry = `${file} apps[${i}] ${sourceName}`;
    const add = (key: string, more: { field?: string; detail?: string; to?: string } = {}) => rec.add(entry, svc, key, more);
    const spec: Record<string, unknown> = {};
    add('name', { ...(app.name === undefined ? { detail: `absent: "${sourceName}"` } : {}), ...(svc !== sourceName ? { detail: `"${sourceName}" → "${svc}"` } : {}) });

    const cwd = typeof app.cwd === 'string' ? resolve(dir, app.cwd) : dir;
    spec.cwd = cwd;
    add(app.cwd === undefined ? 'cwd=absent' : 'cwd', { field: 'cwd' });
    const words = (v: unknown, key: string): string[] => {
      if (Array.isArray(v)) return v.map(String);
      if (typeof v !== 'string') return [];
      const w = shellSplit(v);
      if (!Array.isArray(w)) {
        problems.push({ file: path, ...src.at([...at, key]), code: 'SPEC_INVALID', message: `${key}: ${w.error}` });
        return [];
      }
      return w;
    };
    const ext = extname(script);
    let interpreter: string | undefined = typeof app.interpreter === 'string' ? app.interpreter : INTERPRETERS[ext];
    if (interpreter === 'none') {
      interpreter = undefined;
      add('interpreter=none', { field: 'interpreter' });
    } else if (app.interpreter !== undefined) add('interpreter', { to: `command[0]: ${String(app.interpreter)}` });
    else if (interpreter) add('interpreter=by-extension', { field: 'interpreter', to: `command[0]: ${interpreter}`, detail: ext });
    else add('interpreter=direct', { field: 'interpreter' });
    const interpArgs = words(app.interpreter_args, 'interpreter_args');
    if (app.interpreter_args !== undefined) {
      const detail = interpArgs.join(' ');
      if (interpreter) add('interpreter_args', { to: `command, after ${interpreter}`, detail });
      else add('interpreter_args=unused', { field: 'interpreter_args', detail });
    }
    const args = words(app.args, 'args');
    if (app.args !== undefined) add('args');
    spec.command = [...(interpreter ? [interpreter, ...interpArgs] : []), script, ...args].map((w) => w.replace(/\$/g, '$$$$'));
    if (interpreter) add('script', { detail: interpreter });
    else add('script=direct', { field: 'script' });

    const env: Record<string, string> = {};
    const putEnv = (v: unknown) => {
      if (isRecord(v)) for (const [k, x] of Object.entries(v)) env[k] = typeof x === 'string' ? x : JSON.stringify(x);
    };
    if (app.env !== undefined) {
      putEnv(app.env);
      add('env');
    }
    for (const k of Object.keys(app).filter((x) => /^env_\S+$/.test(x))) {
      if (opts.env !== undefined && k === `env_${opts.env}`) {
        putEnv(app[k]);
        add('env_<name>', { field: k });
      } else add('env_<name>=unused', { field: k });
    }

    // instances
    let replicas = 1;
    if (app.instances !== undefined) {
      const n = app.instances === 'max' ? 0 : Number(app.instances);
      if (!Number.isInteger(n)) problems.push({ file: path, ...src.at([...at, 'instances']), code: 'SPEC_INVALID', message: `instances must be a number or "max", got ${JSON.stringify(app.instances)}` });
      replicas = n > 0 ? n : Math.max(1, opts.cpus + n);
      add(n > 0 ? 'instances' : 'instances=cpus', { field: 'instances', ...(n > 0 ? {} : { detail: `${String(app.instances)} → ${replicas}` }) });
    }
    if (replicas !== 1) spec.replicas = replicas;
    const mode = app.exec_mode === undefined ? undefined : String(app.exec_mode).replace(/_mode$/, '');
    if (mode === 'cluster') add('exec_mode=cluster', { field: 'exec_mode' });
    else if (mode !== undefined) add('exec_mode=fork', { field: 'exec_mode' });
    const instanceVar = typeof app.instance_var === 'string' ? app.instance_var : 'NODE_APP_INSTANCE';
    env[instanceVar] = '${TEND_REPLICA}';
    add('instance_var', { to: `env ${instanceVar}: \${TEND_REPLICA}`, ...(app.instance_var === undefined ? { detail: 'absent: NODE_APP_INSTANCE' } : {}) });
    const ports: Record<string, number> = {};
    // PM2 writes `port` into env.PORT, which increment_var may then count up from.
    if (app.port !== undefined) env.PORT = String(app.port);
    if (typeof app.increment_var === 'string') {
      const base = Number(env[app.increment_var]);
      if (Number.isInteger(base) && base > 0) {
        ports[app.increment_var] = base;
        delete env[app.increment_var];
        add('increment_var');
      } else add('increment_var=missing', { field: 'increment_var' });
    }
    if (app.port !== undefined) {
      if (ports.PORT === undefined) ports.PORT = Number(app.port);
      delete env.PORT;
      add('port');
    }
    if (Object.keys(ports).length > 0) spec.ports = ports;
    spec.env = env;

    if (app.autostart === false) {
      spec.replicas = 0;
      add('autostart=false', { field: 'autostart' });
    } else if (app.autostart !== undefined) add('autostart');

    const restart = app.autorestart === false ? 'never' : 'always';
    spec.restart = restart;
    // stop_exit_codes turn PM2's restart-on-any-exit into on-failure: the autorestart row says it too.
    const stopCodes = restart === 'always' && app.stop_exit_codes !== undefined;
    add(restart === 'never' ? 'autorestart=false' : stopCodes ? 'autorestart=true-stop-codes' : 'autorestart=true', { field: 'autorestart' });
    if (app.stop_exit_codes !== undefined) {
      const codes = (Array.isArray(app.stop_exit_codes) ? app.stop_exit_codes : [app.stop_exit_codes]).map(Number);
      if (restart === 'always') spec.restart = 'on-failure';
      add(codes.length === 1 && codes[0] === 0 ? 'stop_exit_codes' : 'stop_exit_codes=other', { field: 'stop_exit_codes', detail: codes.join(',') });
    }
    if (spec.restart !== 'never') {
      const max = typeof app.max_restarts === 'number' ? app.max_restarts : 16;
      const minUptime = typeof app.min_uptime === 'number' ? app.min_uptime : parseUptime(app.min_uptime) ?? 1000;
      spec.max_restarts = max;
      spec.restart_window = duration(Math.max(1, max * minUptime));
      add(app.max_restarts === undefined ? 'max_restarts=default' : 'max_restarts', { field: 'max_restarts' });
      if (app.min_uptime !== undefined) add('min_uptime');
      if (typeof app.exp_backoff_restart_delay === 'number') {
        spec.backoff = { initial: duration(app.exp_backoff_restart_delay), factor: 1.5, max: duration(Math.max(15_000, app.exp_backoff_restart_delay)), reset_after: '30s' };
        add('exp_backoff_restart_delay');
        if (app.restart_delay !== undefined) add('restart_delay', { detail: 'unused: exp_backoff_restart_delay wins' });
      } else {
        const d = typeof app.restart_delay === 'number' ? app.restart_delay : 0;
        spec.backoff = { initial: duration(d), max: duration(d), factor: 1 };
        add(app.restart_delay === undefined ? 'restart_delay=absent' : 'restart_delay', { field: 'restart_delay' });
      }
    }
    if (app.max_memory_restart !== undefined) {
      const bytes = memoryBytes(app.max_memory_restart);
      if (bytes === undefined) problems.push({ file: path, ...src.at([...at, 'max_memory_restart']), code: 'SPEC_INVALID', message: `max_memory_restart must be a size such as 150M, got ${JSON.stringify(app.max_memory_restart)}` });
      else spec.limits = { memory: sizeText(bytes) };
      add('max_memory_restart');
    }
    spec.stop_signal = 'SIGINT';
    spec.stop_timeout = duration(typeof app.kill_timeout === 'number' ? app.kill_timeout : 1600);
    add(app.kill_timeout === undefined ? 'kill_timeout=default' : 'kill_timeout', { field: 'kill_timeout' });
    if (app.namespace !== undefined) {
      spec.labels = { namespace: String(app.namespace) };
      add('namespace');
    }
    if (app.uid !== undefined) {
      spec.user = typeof app.uid === 'number' ? app.uid : String(app.uid);
      add('uid');
    }
    const simple = ['shutdown_with_message', 'wait_ready', 'listen_timeout', 'gid', 'treekill', 'watch', 'ignore_watch', 'watch_options', 'watch_delay', 'cron_restart', 'out_file', 'error_file', 'log_file', 'merge_logs', 'log_date_format', 'log_type', 'time', 'disable_logs', 'pid_file'];
    for (const k of simple) if (app[k] !== undefined) add(k);
    for (const k of PM2_ONLY_KEYS) if (app[k] !== undefined) add('pm2-only', { field: k });
    result.services.push({ name: svc, sourceFile: path, entry, spec });
  });
  if (problems.length > 0) result.services.length = 0;
  return result;
}

function parseUptime(v: unknown): number | undefined {
  const m = /^(\d+)(h|m|s)?$/.exec(String(v ?? ''));
  if (!m) return undefined;
  return Number(m[1]) * ({ h: 3_600_000, m: 60_000, s: 1000 }[m[2] ?? ''] ?? 1);
}
