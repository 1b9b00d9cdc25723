// supervisord .conf → tend services. The INI is read as supervisord reads it (Python's
// RawConfigParser), with `%(here)s`, `%(program_name)s`, `%(process_num)d`, `%(ENV_X)s` expansions,
// `[include]` files, `[group:x]`; `[eventlistener:x]` and `[fcgi-program:x]` are reported, not
// converted. Defaults are supervisord's: autorestart=unexpected (restart on an exit code not in
// exitcodes), startsecs=1, startretries=3, logs rotated at 50 MB with 10 backups.

import { basename, dirname, relative, resolve } from 'node:path';
import type { SpecProblem } from '../errors.js';
import { parseIni, type IniOption, type IniSection } from './ini.js';
import { Recorder, row } from './report.js';
import { planEnvRefs, type EnvRefPlan } from './supervisord-env.js';
import type { ImportOptions, ImportResult, ImportedService, MappingRow, SourceReader } from './types.js';
import { duration, escapeDollars, serviceName, shellSplit, signalName } from './util.js';

const LOGS = 'tend writes stdout and stderr of each replica to .tend/logs/<service>/<n>.log';

export const SUPERVISORD_MAPPING: readonly MappingRow[] = [
  row('[program:x]', 'converted', 'the file name (service name)', 'lowercased, other characters than a-z 0-9 _ - become "-"'),
  row('command', 'converted', 'command (argv)', 'split into words as supervisord does (shlex), run without a shell; a literal $ is written as $$'),
  row('process_name', 'approximated', 'replica names svc/0, svc/1, …', 'tend names replicas by index'),
  row('numprocs', 'converted', 'replicas', '%(process_num)d becomes ${TEND_REPLICA}'),
  row('numprocs=explode', 'approximated', 'one service per process', 'process_num is used with padding (%(process_num)02d) or numprocs_start is not 0, which tend\'s replica index cannot express: each process becomes its own service, named by process_name', 'padded process_num or numprocs_start'),
  row('numprocs_start', 'converted', 'in the process_num values', 'see numprocs'),
  row('priority', 'approximated', 'depends_on: started', 'supervisord starts lower priorities first without waiting for them; tend starts each program once one replica of every program of the next lower priority runs, and stops in the reverse order, as supervisord does'),
  row('priority=absent', 'converted', 'no depends_on', 'every program has the default priority 999: no order', 'all 999'),
  row('autostart', 'converted', 'replicas as numprocs', '', 'true'),
  row('autostart=false', 'approximated', 'replicas: 0', 'defined but not started; `tend scale NAME=N` starts it', 'false'),
  row('autorestart=true', 'converted', 'restart: always', '', 'true'),
  row('autorestart=false', 'converted', 'restart: never', '', 'false'),
  row('autorestart=unexpected', 'converted', 'restart: on-failure', 'supervisord\'s default: restart when the exit code is not in exitcodes (0)', 'unexpected, exitcodes 0'),
  row('autorestart=unexpected-codes', 'approximated', 'restart: on-failure', 'exitcodes lists other codes than 0: supervisord would not restart on those, tend restarts on every non-zero exit', 'unexpected, other exitcodes'),
  row('exitcodes', 'converted', 'restart', 'used by autorestart=unexpected'),
  row('exitcodes=other', 'approximated', 'restart', 'tend counts only exit 0 as success', 'not 0'),
  row('startsecs', 'approximated', 'backoff.reset_after', 'a run this long counts as a successful start and resets the back-off; supervisord also holds the program in STARTING that long, tend calls it running at once'),
  row('startretries', 'approximated', 'max_restarts, restart_window, backoff', 'supervisord gives up (FATAL) after this many failed starts in a row, waiting 1 s, 2 s, 3 s, …; tend gives up after max_restarts restarts within restart_window (sized to those quick failures), waiting 1 s doubling'),
  row('stopsignal', 'converted', 'stop_signal', ''),
  row('stopwaitsecs', 'converted', 'stop_timeout', ''),
  row('stopasgroup', 'converted', 'stop_signal to the process group', 'tend always signals the whole process group', 'true'),
  row('stopasgroup=false', 'approximated', 'stop_signal to the process group', 'supervisord signals only the program; tend always signals its whole process group', 'false or absent'),
  row('killasgroup', 'converted', 'SIGKILL to the process group', 'tend always kills the whole process group'),
  row('user', 'converted', 'user', 'honoured when tend runs as root, as supervisord needs root to switch user'),
  row('directory', 'converted', 'cwd', ''),
  row('directory=absent', 'approximated', 'cwd: the directory of the .conf file', 'supervisord runs a program in its own working directory', 'absent'),
  row('environment', 'converted', 'env', 'KEY="value" pairs as supervisord parses them; [supervisord] environment is merged under'),
  row('umask', 'dropped', '', 'tend does not set a umask'),
  row('redirect_stderr', 'converted', 'one log', LOGS),
  row('stdout_logfile', 'dropped', '', LOGS),
  row('stderr_logfile', 'dropped', '', LOGS),
  row('stdout_logfile_maxbytes', 'converted', 'logs.max_size', 'KB, MB, GB are powers of 1024 as in supervisord'),
  row('stdout_logfile_backups', 'converted', 'logs.max_files', ''),
  row('logs=default', 'converted', 'logs: { max_size: 50Mi, max_files: 10 }', 'supervisord\'s defaults (stdout_logfile_maxbytes=50MB, stdout_logfile_backups=10)', 'absent'),
  row('stderr_logfile_maxbytes', 'approximated', 'logs.max_size', 'stderr shares the one log file with stdout in tend'),
  row('stderr_logfile_backups', 'approximated', 'logs.max_files', 'stderr shares the one log file with stdout in tend'),
  row('stdout_capture_maxbytes', 'dropped', '', 'tend has no capture mode'),
  row('stderr_capture_maxbytes', 'dropped', '', 'tend has no capture mode'),
  row('stdout_events_enabled', 'dropped', '', 'tend has no event listeners; see tend events'),
  row('stderr_events_enabled', 'dropped', '', 'tend has no event listeners; see tend events'),
  row('stdout_syslog', 'dropped', '', LOGS),
  row('stderr_syslog', 'dropped', '', LOGS),
  row('serverurl', 'dropped', '', 'no supervisorctl protocol in tend'),
  row('ENV_x', 'approximated', '${x}', 'supervisord expands %(ENV_x)s from its environment when it loads the file; tend expands ${x} from its environment when it starts the replica'),
  row('ENV_x=ordered', 'approximated', '${x}', 'supervisord expands %(ENV_x)s from its own environment when it loads the file, never from the program\'s; this program\'s environment= also sets x, so the entries that use ${x} are written before it in env: tend expands env in order, so there ${x} is still tend\'s own x when the replica starts', 'environment= sets x, used in environment='),
  row('ENV_x=bridged', 'approximated', '${SUPERVISORD_ENV_x}', 'supervisord expands %(ENV_x)s from its own environment when it loads the file, never from the program\'s; this program\'s environment= also sets x, which ${x} would mean here (command and directory expand against the replica\'s final environment; two entries that use each other cannot both come first): env starts with SUPERVISORD_ENV_x: ${x}, tend\'s own x when the replica starts, and the program sees that variable too', 'environment= sets x, used in command, directory, or entries that use each other'),
  row('ENV_x=account', 'approximated', '${x}', 'with user=, tend sets x to that user\'s (from /etc/passwd) before it expands anything, so ${x} is the user\'s, where supervisord\'s %(ENV_x)s is its own environment\'s (root\'s when it runs as root: supervisord does not change HOME, USER, LOGNAME or SHELL)', 'HOME, USER, LOGNAME, SHELL with user='),
  row('[group:x]', 'approximated', 'labels.group', 'tend has no groups; the group is kept as a label of each program'),
  row('[group:x] priority', 'dropped', '', 'order programs by their own priority'),
  row('[eventlistener:x]', 'dropped', '', 'tend has no event listeners: it is not converted (tend events -f or hooks can replace it)'),
  row('[fcgi-program:x]', 'dropped', '', 'tend does not open sockets for its programs'),
  row('[include]', 'converted', '(read)', 'files are read relative to the including file, globs expanded'),
  row('[include] nested', 'approximated', '(read)', 'supervisord reads [include] only in its main file; tend import follows it in included files too'),
  row('[supervisord] environment', 'converted', 'env of every service', 'supervisord passes it to every program'),
  row('[supervisord]', 'dropped', '', 'settings of supervisord itself (tend up has its own options)'),
  row('[supervisorctl]', 'dropped', '', 'tend\'s CLI talks to its daemon over .tend/tend.sock'),
  row('[unix_http_server]', 'dropped', '', 'tend\'s control socket is .tend/tend.sock'),
  row('[inet_http_server]', 'dropped', '', 'tend\'s control API is on a Unix socket'),
  row('[rpcinterface:x]', 'dropped', '', 'no XML-RPC in tend'),
];

const PROGRAM_KEYS = [
  'command', 'process_name', 'numprocs', 'numprocs_start', 'priority', 'autostart', 'startsecs', 'startretries', 'autorestart', 'exitcodes',
  'stopsignal', 'stopwaitsecs', 'stopasgroup', 'killasgroup', 'user', 'redirect_stderr', 'stdout_logfile', 'stdout_logfile_maxbytes',
  'stdout_logfile_backups', 'stdout_capture_maxbytes', 'stdout_events_enabled', 'stdout_syslog', 'stderr_logfile', 'stderr_logfile_maxbytes',
  'stderr_logfile_backups', 'stderr_capture_maxbytes', 'stderr_events_enabled', 'stderr_syslog', 'environment', 'directory', 'umask', 'serverurl',
];
const PLAIN_DROPS = ['umask', 'stdout_logfile', 'stderr_logfile', 'stdout_capture_maxbytes', 'stderr_capture_maxbytes', 'stdout_events_enabled', 'stderr_events_enabled', 'stdout_syslog', 'stderr_syslog', 'serverurl'];

/** One section with the file it came from. */
interface Located {
  file: string;
  section: IniSection;
}

// Reads `path` and what it includes, depth first; `chain` is the include path (for loops).
function readConfig(path: string, reader: SourceReader, problems: SpecProblem[], chain: string[], seen: Set<string>, out: Located[], nested: { file: string; opt: IniOption }[]): void {
  const text = reader.readText(path);
  if (text === undefined) {
    problems.push({ file: path, line: 1, column: 1, code: 'SPEC_INVALID', message: 'cannot read the file' });
    return;
  }
  seen.add(path);
  const here = dirname(path);
  const parsed = parseIni(path, text);
  problems.push(...parsed.problems);
  for (const s of parsed.sections) {
    // %(here)s is the directory of the file the value is in, replaced before anything else.
    for (const o of s.options.values()) o.value = o.value.split('%(here)s').join(here);
    if (s.name !== 'include') {
      out.push({ file: path, section: s });
      continue;
    }
    const files = s.options.get('files');
    if (!files) {
      problems.push({ file: path, line: s.line, column: 1, code: 'SPEC_INVALID', message: '[include] has no files = setting' });
      continue;
    }
    if (chain.length > 0) nested.push({ file: path, opt: files });
    for (const pattern of files.value.split(/\s+/).filter((p) => p !== '')) {
      for (const match of reader.glob(resolve(here, pattern))) {
        if (match === path || chain.includes(match)) {
          const loop = [...chain, path, match].map((p) => relative(dirname(chain[0] ?? path), p) || basename(p));
          problems.push({ file: path, line: files.line, column: files.column, code: 'SPEC_INVALID', message: `include loop: ${loop.join(' → ')}` });
          continue;
        }
        if (seen.has(match)) continue;
        readConfig(match, reader, problems, [...chain, path], seen, out, nested);
      }
    }
  }
}

/** Python's `%` formatting of supervisord's expansions; `lookup` gives each name's text. */
function pyFormat(
  value: string,
  lookup: (name: string, plain: boolean, format: (v: string | number) => string) => string | undefined,
): { text: string } | { error: string } {
  let error: string | undefined;
  const text = value.replace(/%(?:\(([^)]*)\)([#0\- +]*)(\d*)(?:\.(\d+))?([sdirfxXoeEgGc])|(%)|([^(%]|$))/g, (whole, name: string | undefined, flags: string, width: string, prec: string | undefined, type: string, pct: string | undefined, bad: string | undefined) => {
    if (pct) return '%';
    if (bad !== undefined || name === undefined) {
      error ??= `"${value}": a % must be followed by (name)s or written %%`;
      return whole;
    }
    const plain = flags === '' && width === '' && prec === undefined && 'sdi'.includes(type);
    const format = (v: string | number) => {
      let s = typeof v === 'number' && 'dif'.includes(type) ? String(Math.trunc(v)) : String(v);
      if (prec !== undefined && type === 's') s = s.slice(0, Number(prec));
      const w = Number(width || 0);
      if (s.length < w) s = flags.includes('-') ? s.padEnd(w) : flags.includes('0') && type !== 's' ? s.padStart(w, '0') : s.padStart(w);
      return s;
    };
    const got = lookup(name, plain, format);
    if (got === undefined) {
      error ??= `%(${name})${type} cannot be expanded (known: here, program_name, group_name, host_node_name, process_num, numprocs, ENV_x)`;
      return whole;
    }
    return got;
  });
  return error === undefined ? { text } : { error };
}

const TRUE = ['true', 'yes', 'on', '1'];
const FALSE = ['false', 'no', 'off', '0'];

function byteSize(v: string): number | undefined {
  const m = /^\s*(\d+)\s*(KB|MB|GB)?\s*$/i.exec(v);
  if (!m) return undefined;
  return Number(m[1]) * ({ KB: 1024, MB: 1024 ** 2, GB: 1024 ** 3 }[(m[2] ?? '').toUpperCase()] ?? 1);
}

function size(bytes: number): string | number {
  for (const [unit, n] of [['Gi', 1024 ** 3], ['Mi', 1024 ** 2], ['Ki', 1024]] as const) if (bytes >= n && bytes % n === 0) return `${bytes / n}${unit}`;
  return bytes;
}

/** supervisord's environment= value: KEY=VALUE pairs split by commas, values quoted when needed. */
function keyValuePairs(text: string): Record<string, string> | undefined {
  const tokens: string[] = [];
  const re = /\s*(?:([A-Za-z0-9_/.+\-():\u00c0-\uffff]+)|('[^']*'|"[^"]*")|(\S))/gy;
  let m: RegExpExecArray | null;
  let pos = 0;
  while ((m = re.exec(text)) !== null && m[0] !== '') {
    tokens.push(m[1] ?? m[2] ?? m[3]!);
    pos = re.lastIndex;
  }
  if (text.slice(pos).trim() !== '') return undefined;
  const out: Record<string, string> = {};
  for (let i = 0; i < tokens.length; i += 4) {
    const [k, eq, v] = tokens.slice(i, i + 3);
    if (eq !== '=' || k === undefined || v === undefined) return undefined;
    out[k] = v.replace(/^['"]+|['"]+$/g, '');
  }
  return out;
}

/** Converts the supervisord configuration at `path` (with its includes). */
export function convertSupervisord(path: string, reader: SourceReader, opts: ImportOptions): ImportResult {
  const problems: SpecProblem[] = [];
  const rec = new Recorder(SUPERVISORD_MAPPING);
  const result: ImportResult = { format: 'supervisord', services: [], fields: rec.fields, problems };
  const sections: Located[] = [];
  const nested: { file: string; opt: IniOption }[] = [];
  readConfig(path, reader, problems, [], new Set(), sections, nested);
  if (problems.length > 0) return result;
  const mainDir = dirname(path);
  const shown = (file: string) => relative(mainDir, file) || basename(file);
  const problem = (file: string, line: number, column: number, message: string) => problems.push({ file, line, column, code: 'SPEC_INVALID', message });
  for (const n of nested) rec.add(`${shown(n.file)} [include]`, '', '[include] nested', { field: 'files' });

  // Sections that are not programs first: settings, groups, what is not converted.
  const groupOf = new Map<string, string>();
  let globalEnv: Record<string, string> = {};
  for (const { file, section } of sections) {
    const entry = `${shown(file)} [${section.name}]`;
    const [kind, name] = section.name.includes(':') ? [section.name.slice(0, section.name.indexOf(':')), section.name.slice(section.name.indexOf(':') + 1)] : [section.name, ''];
    switch (kind) {
      case 'program':
        break;
      case 'supervisord': {
        const env = section.options.get('environment');
        if (env) {
          const pairs = keyValuePairs(env.value);
          if (!pairs) problem(file, env.line, env.column, `environment: expected KEY=VALUE pairs separated by commas (quote values with other characters than letters, digits and _/.+-():), got "${env.value}"`);
          else globalEnv = escapeValues(pairs);
          rec.add(entry, '', '[supervisord] environment', { field: 'environment' });
        }
        const rest = [...section.options.keys()].filter((k) => k !== 'environment');
        if (rest.length > 0) rec.add(entry, '', '[supervisord]', { field: rest.join(', ') });
        break;
      }
      case 'group': {
        const programs = section.options.get('programs');
        if (!programs) {
          problem(file, section.line, 1, `[${section.name}] has no programs = setting`);
          break;
        }
        for (const p of programs.value.split(',').map((x) => x.trim()).filter((x) => x !== '')) groupOf.set(p, name);
        rec.add(entry, '', '[group:x]', { field: `[group:${name}] programs`, detail: programs.value });
        if (section.options.has('priority')) rec.add(entry, '', '[group:x] priority', { field: 'priority' });
        for (const k of section.options.keys()) if (k !== 'programs' && k !== 'priority') problem(file, section.options.get(k)!.line, 1, `unknown key "${k}" in [${section.name}]`);
        break;
      }
      case 'eventlistener':
        rec.add(entry, '', '[eventlistener:x]', { field: `[eventlistener:${name}]` });
        break;
      case 'fcgi-program':
        rec.add(entry, '', '[fcgi-program:x]', { field: `[fcgi-program:${name}]` });
        break;
      case 'supervisorctl':
      case 'unix_http_server':
      case 'inet_http_server':
        rec.add(entry, '', `[${kind}]`, { field: `[${kind}]` });
        break;
      case 'rpcinterface':
        rec.add(entry, '', '[rpcinterface:x]', { field: `[${section.name}]` });
        break;
      default:
        problem(file, section.line, 1, `unknown section [${section.name}] (expected [program:x], [group:x], [include], [eventlistener:x], [supervisord], …)`);
    }
  }

  interface Pending {
    service: ImportedService;
    priority: number;
    autostart: boolean;
    entry: string;
    hasPriority: boolean;
  }
  const pending: Pending[] = [];
  for (const { file, section } of sections) {
    if (!section.name.startsWith('program:')) continue;
    const program = section.name.slice('program:'.length);
    const entry = `${shown(file)} [${section.name}]`;
    const o = section.options;
    for (const [k, opt] of o) if (!PROGRAM_KEYS.includes(k)) problem(file, opt.line, 1, `unknown key "${k}" in [${section.name}]`);
    const command = o.get('command');
    if (!command) {
      problem(file, section.line, 1, `[${section.name}] has no command = setting`);
      continue;
    }
    const int = (k: string, d: number): number => {
      const opt = o.get(k);
      if (!opt) return d;
      if (!/^\s*-?\d+\s*$/.test(opt.value)) {
        problem(file, opt.line, opt.column, `${k} must be a whole number, got "${opt.value}"`);
        return d;
      }
      return Number(opt.value);
    };
    const bool = (k: string, d: boolean): boolean => {
      const opt = o.get(k);
      if (!opt) return d;
      const v = opt.value.trim().toLowerCase();
      if (TRUE.includes(v)) return true;
      if (FALSE.includes(v)) return false;
      problem(file, opt.line, opt.column, `${k} must be true or false, got "${opt.value}"`);
      return d;
    };
    const numprocs = int('numprocs', 1);
    const start = int('numprocs_start', 0);
    const group = groupOf.get(program) ?? program;
    const processName = o.get('process_name')?.value ?? '%(program_name)s';
    if (numprocs > 1 && !processName.includes('%(process_num)')) {
      const pn = o.get('process_name') ?? o.get('numprocs')!;
      problem(file, pn.line, pn.column, '%(process_num) must be present within process_name when numprocs > 1');
      continue;
    }

    // Expansion: `num` is a process number, or 'replica' for ${TEND_REPLICA}. Placeholders keep
    // ${...} out of the word splitting and the $-escaping until the very end.
    // An %(ENV_X)s placeholder is written once the program's env is known (see supervisord-env.ts):
    // `where` is the option it is in, `plan` says how each one is written.
    let needsExplode = false;
    const placeholders: (string | { env: string })[] = [];
    let plan: EnvRefPlan | undefined;
    const ph = (p: string | { env: string }) => {
      placeholders.push(p);
      return `__tendph${placeholders.length - 1}__`;
    };
    const PH = /__tendph(\d+)__/g;
    const envRefsIn = (text: string) => [...text.matchAll(PH)].map((m) => placeholders[Number(m[1])]!).flatMap((p) => (typeof p === 'string' ? [] : [p.env]));
    const unph = (s: string, where: string) =>
      escapeDollars(s).replace(PH, (_, i: string) => {
        const p = placeholders[Number(i)]!;
        if (typeof p === 'string') return p;
        const way = plan?.way(where, p.env);
        return `\${${way?.kind === 'bridged' ? way.bridge : p.env}}`;
      });
    const expand = (opt: IniOption, num: number | 'replica'): string | undefined => {
      const r = pyFormat(opt.value, (name, plain, format) => {
        switch (name) {
          case 'program_name':
            return format(program);
          case 'group_name':
            return format(group);
          case 'host_node_name':
            return format(opts.hostname ?? 'localhost');
          case 'numprocs':
            return format(numprocs);
          case 'here':
            return format(dirname(file));
          case 'process_num':
            if (num !== 'replica') return format(num);
            if (!plain || start !== 0) needsExplode = true;
            return ph('${TEND_REPLICA}');
          default:
            if (name.startsWith('ENV_')) return ph({ env: name.slice(4) });
            return undefined;
        }
      });
      if ('error' in r) {
        problem(file, opt.line, opt.column, `${opt.key}: ${r.error}`);
        return undefined;
      }
      return r.text;
    };
    const expanded = ['command', 'environment', 'directory'].filter((k) => o.has(k));
    const fieldsBefore = rec.fields.length;
    for (const k of expanded) expand(o.get(k)!, 'replica');
    rec.fields.splice(fieldsBefore); // the detection pass reports nothing
    const explode = numprocs > 1 && needsExplode;
    const instances: (number | 'replica')[] = explode ? Array.from({ length: numprocs }, (_, i) => start + i) : [numprocs > 1 ? 'replica' : start];

    for (const num of instances) {
      placeholders.length = 0;
      plan = undefined;
      const sourceName = num === 'replica' ? program : (pyFormat(processName, (n, _p, f) => (n === 'process_num' ? f(num) : n === 'program_name' ? f(program) : n === 'group_name' ? f(group) : undefined)) as { text?: string }).text ?? `${program}_${num}`;
      const svc = serviceName(sourceName);
      const add = (key: string, more: { field?: string; detail?: string; to?: string } = {}) => rec.add(entry, svc, key, more);
      const spec: Record<string, unknown> = {};
      add('[program:x]', { field: `[program:${program}]`, ...(svc === sourceName ? {} : { detail: `"${sourceName}" → "${svc}"` }) });
      const cmdText = expand(command, num);
      if (cmdText === undefined) continue;
      const words = shellSplit(cmdText);
      if (!Array.isArray(words) || words.length === 0) {
        problem(file, command.line, command.column + (Array.isArray(words) ? 0 : words.offset), `command: ${Array.isArray(words) ? 'empty' : words.error}`);
        continue;
      }
      const dirOpt = o.get('directory');
      const dirText = dirOpt ? expand(dirOpt, num) : undefined;
      // The program's env: [supervisord] environment (written as it is), then its own (with
      // placeholders), a key of both keeping its first place as in supervisord's dict update.
      const envOpt = o.get('environment');
      const env = new Map<string, { text: string } | { raw: string }>(Object.entries(globalEnv).map(([k, v]) => [k, { text: v }]));
      if (envOpt) {
        const text = expand(envOpt, num);
        const pairs = text === undefined ? undefined : keyValuePairs(text);
        if (text !== undefined && !pairs) problem(file, envOpt.line, envOpt.column, `environment: expected KEY=VALUE pairs separated by commas (quote values with other characters than letters, digits and _/.+-():), got "${envOpt.value}"`);
        if (pairs) for (const [k, v] of Object.entries(pairs)) env.set(k, { raw: v });
      }
      const refsOf = (k: string) => {
        const v = env.get(k)!;
        return 'raw' in v ? envRefsIn(v.raw) : [];
      };
      const fieldRefs = [
        ...envRefsIn(cmdText).map((name) => ({ where: 'command', name })),
        ...(dirText === undefined ? [] : envRefsIn(dirText).map((name) => ({ where: 'directory', name }))),
      ];
      plan = planEnvRefs([...env.keys()].map((key) => ({ key, refs: refsOf(key) })), fieldRefs);

      spec.command = words.map((w) => unph(w, 'command'));
      add('command');
      if (dirOpt) {
        // A directory that starts with %(ENV_X)s is absolute once expanded: resolving the
        // placeholder against the file's directory made `/etc/supervisor/${HOME}`.
        if (dirText !== undefined) spec.cwd = unph(/^__tendph\d+__/.test(dirText) ? dirText : resolve(dirname(file), dirText), 'directory');
        add('directory');
      } else {
        spec.cwd = dirname(path);
        add('directory=absent', { field: 'directory' });
      }
      const bridges = plan.bridges;
      const written = (k: string) => {
        if (bridges.has(k)) return `\${${bridges.get(k)}}`;
        const v = env.get(k)!;
        return 'text' in v ? v.text : unph(v.raw, k);
      };
      if (plan.order.length > 0) spec.env = Object.fromEntries(plan.order.map((k) => [k, written(k)]));
      if (envOpt) add('environment');
      // One row per %(ENV_X)s and place it is used in, saying what ${X} is there.
      const runAs = o.get('user')?.value.trim();
      const seen = new Set<string>();
      const uses = [...fieldRefs, ...[...env.keys()].flatMap((k) => refsOf(k).map((name) => ({ where: k, name })))];
      for (const { where, name } of uses) {
        if (seen.has(`${where}\0${name}`)) continue;
        seen.add(`${where}\0${name}`);
        const way = plan.way(where, name);
        const field = `%(ENV_${name})s`;
        const to = way.kind === 'bridged' ? `\${${way.bridge}}` : `\${${name}}`;
        const own = env.has(name) ? `, not this program's ${name}=${written(name)}` : '';
        if (runAs && ['HOME', 'USER', 'LOGNAME', 'SHELL'].includes(name)) add('ENV_x=account', { field, to, detail: `user ${runAs}: ${to} in ${where} is ${runAs}'s ${name}${own}` });
        else if (way.kind === 'ordered') add('ENV_x=ordered', { field, to, detail: `${where} is written before ${name}: its ${to} is tend's ${name}${own}` });
        else if (way.kind === 'bridged') add('ENV_x=bridged', { field, to, detail: `in ${where}: ${to} is tend's ${name}${own}` });
        else add('ENV_x', { field });
      }

      if (num === 'replica') {
        spec.replicas = numprocs;
        if (o.has('numprocs')) add('numprocs', { detail: `${numprocs}` });
        if (o.has('process_name')) add('process_name');
      } else if (explode) {
        add('numprocs=explode', { field: 'numprocs', detail: `process ${num} of ${numprocs}` });
        if (o.has('process_name')) add('process_name', { detail: `"${sourceName}"` });
      }
      if (o.has('numprocs_start')) add('numprocs_start');
      const autostart = bool('autostart', true);
      if (!autostart) spec.replicas = 0;
      if (o.has('autostart')) add(autostart ? 'autostart' : 'autostart=false', { field: 'autostart' });

      const exitcodesOpt = o.get('exitcodes');
      const exitcodes = (exitcodesOpt?.value ?? '0').split(',').map((x) => x.trim());
      if (exitcodes.some((c) => !/^\d+$/.test(c))) problem(file, exitcodesOpt!.line, exitcodesOpt!.column, `exitcodes must be numbers separated by commas, got "${exitcodesOpt!.value}"`);
      const onlyZero = exitcodes.length === 1 && exitcodes[0] === '0';
      const ar = (o.get('autorestart')?.value ?? 'unexpected').trim().toLowerCase();
      if (TRUE.includes(ar)) spec.restart = 'always';
      else if (FALSE.includes(ar)) spec.restart = 'never';
      else if (ar === 'unexpected') spec.restart = 'on-failure';
      else problem(file, o.get('autorestart')!.line, o.get('autorestart')!.column, `autorestart must be true, false or unexpected, got "${o.get('autorestart')!.value}"`);
      const arKey = TRUE.includes(ar) ? 'autorestart=true' : FALSE.includes(ar) ? 'autorestart=false' : onlyZero ? 'autorestart=unexpected' : 'autorestart=unexpected-codes';
      add(arKey, { field: 'autorestart', ...(o.has('autorestart') ? {} : { detail: 'absent: supervisord\'s default' }) });
      if (exitcodesOpt) add(onlyZero ? 'exitcodes' : 'exitcodes=other', { field: 'exitcodes', detail: exitcodesOpt.value });

      if (spec.restart !== 'never') {
        const startsecs = int('startsecs', 1);
        const retries = int('startretries', 3);
        // Quick failures are retried after 1 s, 2 s, 4 s, …: the window holds them all.
        const windowMs = (2 ** Math.min(retries, 20) - 1) * 1000 + (retries + 1) * Math.max(startsecs, 1) * 1000;
        spec.backoff = { initial: '1s', factor: 2, reset_after: duration(startsecs * 1000) };
        spec.max_restarts = retries;
        spec.restart_window = duration(windowMs);
        add('startsecs', o.has('startsecs') ? {} : { detail: 'absent: 1 s' });
        add('startretries', { detail: o.has('startretries') ? `${retries}` : 'absent: 3' });
      }
      const sig = o.get('stopsignal');
      if (sig) {
        const name = signalName(sig.value);
        if (!name) problem(file, sig.line, sig.column, `stopsignal: unknown signal "${sig.value}"`);
        else spec.stop_signal = name;
        add('stopsignal');
      }
      spec.stop_timeout = `${int('stopwaitsecs', 10)}s`;
      add('stopwaitsecs', o.has('stopwaitsecs') ? {} : { detail: 'absent: 10 s' });
      const asGroup = bool('stopasgroup', false);
      add(asGroup ? 'stopasgroup' : 'stopasgroup=false', { field: 'stopasgroup' });
      if (o.has('killasgroup')) add('killasgroup');
      const user = o.get('user');
      if (user) {
        spec.user = user.value.trim();
        add('user');
      }
      if (o.has('redirect_stderr')) add('redirect_stderr');
      const maxBytesOpt = o.get('stdout_logfile_maxbytes');
      const maxBytes = maxBytesOpt ? byteSize(maxBytesOpt.value) : 50 * 1024 ** 2;
      if (maxBytes === undefined) problem(file, maxBytesOpt!.line, maxBytesOpt!.column, `stdout_logfile_maxbytes must be a size such as 50MB, got "${maxBytesOpt!.value}"`);
      const backups = int('stdout_logfile_backups', 10);
      // supervisord's 0 means "never rotate": tend's nearest is one very large file.
      spec.logs = { max_size: size(maxBytes === 0 ? 1024 ** 4 : (maxBytes ?? 50 * 1024 ** 2)), max_files: backups };
      if (maxBytesOpt) add('stdout_logfile_maxbytes');
      if (o.has('stdout_logfile_backups')) add('stdout_logfile_backups');
      if (!maxBytesOpt && !o.has('stdout_logfile_backups')) add('logs=default', { field: 'stdout_logfile_maxbytes, stdout_logfile_backups' });
      for (const k of ['stderr_logfile_maxbytes', 'stderr_logfile_backups', ...PLAIN_DROPS]) if (o.has(k)) add(k);
      if (groupOf.has(program)) {
        spec.labels = { group: groupOf.get(program)! };
        add('[group:x]', { field: 'group', detail: groupOf.get(program) });
      }
      const priorityOpt = o.get('priority');
      pending.push({ service: { name: svc, sourceFile: file, entry, spec }, priority: int('priority', 999), autostart, entry, hasPriority: priorityOpt !== undefined });
    }
  }

  // Priorities become start order: each program waits for the programs of the next lower
  // priority that are started at all.
  const levels = [...new Set(pending.map((p) => p.priority))].sort((a, b) => a - b);
  for (const p of pending) {
    if (levels.length <= 1) {
      if (p.hasPriority) rec.add(p.entry, p.service.name, 'priority=absent', { field: 'priority', detail: 'all programs have the same priority' });
      continue;
    }
    const lower = levels.filter((l) => l < p.priority && pending.some((q) => q.priority === l && q.autostart)).at(-1);
    const deps = lower === undefined ? [] : pending.filter((q) => q.priority === lower && q.autostart).map((q) => q.service.name);
    if (deps.length > 0) p.service.spec.depends_on = Object.fromEntries(deps.map((d) => [d, 'started']));
    rec.add(p.entry, p.service.name, 'priority', { detail: `${p.priority}${deps.length > 0 ? `: after ${deps.join(', ')}` : ': first'}` });
  }
  const names = new Set<string>();
  for (const p of pending) {
    if (names.has(p.service.name)) {
      problem(p.service.sourceFile, 1, 1, `two programs become service "${p.service.name}"`);
      continue;
    }
    names.add(p.service.name);
    result.services.push(p.service);
  }
  if (problems.length > 0) result.services.length = 0;
  return result;
}

function escapeValues(env: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, escapeDollars(v)]));
}
