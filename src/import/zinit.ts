// zinit service files (a directory of <name>.yaml, or single files) → tend services. zinit
// restarts every service that is not a oneshot, forever, 2 s after it exits; `test` runs every
// 2 s until it passes once; `after` waits for a service to run (its test passed) or, for a
// oneshot, to exit 0.

import { basename, dirname, extname, resolve } from 'node:path';
import type { SpecProblem } from '../errors.js';
import { Recorder, row } from './report.js';
import type { ImportResult, ImportedService, MappingRow, SourceReader } from './types.js';
import { serviceName, shellSplit, signalName } from './util.js';
import { isRecord, parseYamlSource, unknownKeys, type YamlSource } from './yaml-source.js';

export const ZINIT_MAPPING: readonly MappingRow[] = [
  row('file name', 'converted', 'the file name (service name)', 'lowercased, other characters than a-z 0-9 _ - become "-"'),
  row('exec', 'converted', 'command (argv)', 'split into words as zinit does (shlex), run without a shell; a literal $ is written as $$'),
  row('test', 'approximated', 'readiness: { exec, interval: 2s }', 'zinit runs the test every 2 s until it passes once; tend keeps checking it (a later failure marks the replica not ready, it does not restart it)'),
  row('oneshot', 'converted', 'oneshot: true, restart: never', 'zinit never restarts a oneshot, even when it fails', 'true'),
  row('oneshot=false', 'converted', 'restart: always, backoff: 2s fixed, max_restarts: 0', 'zinit restarts a service whatever its exit, 2 s later, without limit', 'false or absent'),
  row('after', 'converted', 'depends_on', 'healthy (the test passed) for a service, completed (exit 0) for a oneshot, as zinit waits'),
  row('after=unknown', 'dropped', '', 'not among the imported services: zinit would wait for it forever, tend refuses an unknown dependency', 'not imported'),
  row('shutdown_timeout', 'converted', 'stop_timeout', 'seconds'),
  row('shutdown_timeout=default', 'converted', 'stop_timeout: 10s', 'zinit\'s default', 'absent'),
  row('signal.stop', 'converted', 'stop_signal', ''),
  row('log', 'approximated', 'logs', 'zinit sends output to the kernel ring buffer (ring), its stdout or nowhere (null); tend always writes .tend/logs/<service>/<n>.log'),
  row('env', 'converted', 'env', ''),
  row('dir', 'converted', 'cwd', ''),
  row('dir=absent', 'approximated', 'cwd: the directory of the service file', 'zinit runs a service in its own working directory (usually /)', 'absent'),
];

const KEYS = ['exec', 'test', 'oneshot', 'shutdown_timeout', 'after', 'signal', 'log', 'env', 'dir'];

interface Parsed {
  name: string;
  file: string;
  src: YamlSource;
  raw: Record<string, unknown>;
}

/** Converts a directory of zinit service files, or one file. */
export function convertZinit(path: string, reader: SourceReader): ImportResult {
  const problems: SpecProblem[] = [];
  const rec = new Recorder(ZINIT_MAPPING);
  const result: ImportResult = { format: 'zinit', services: [], fields: rec.fields, problems };
  // zinit reads *.yaml only (not .yml), as load_dir does.
  const files = reader.isDirectory(path) ? reader.list(path).filter((f) => extname(f) === '.yaml' && !reader.isDirectory(f)) : [path];
  if (files.length === 0) problems.push({ file: path, line: 1, column: 1, code: 'SPEC_INVALID', message: 'no zinit service files (*.yaml) here' });
  const parsed: Parsed[] = [];
  for (const file of files) {
    const text = reader.readText(file);
    if (text === undefined) {
      problems.push({ file, line: 1, column: 1, code: 'SPEC_INVALID', message: 'cannot read the file' });
      continue;
    }
    const src = parseYamlSource(file, text);
    if ('problems' in src) {
      problems.push(...src.problems);
      continue;
    }
    if (!isRecord(src.value)) {
      problems.push({ file, line: 1, column: 1, code: 'SPEC_INVALID', message: 'a zinit service file is a mapping with exec:' });
      continue;
    }
    const raw = src.value;
    problems.push(...unknownKeys(file, src, [], raw, KEYS, 'a zinit service'));
    if (typeof raw.exec !== 'string' || raw.exec.trim() === '') problems.push({ file, ...src.at(['exec']), code: 'SPEC_INVALID', message: 'missing exec directive' });
    if (raw.signal !== undefined) {
      if (!isRecord(raw.signal)) problems.push({ file, ...src.at(['signal']), code: 'SPEC_INVALID', message: 'signal must be a mapping with stop:' });
      else problems.push(...unknownKeys(file, src, ['signal'], raw.signal, ['stop'], 'signal'));
    }
    if (raw.log !== undefined && !['null', 'none', 'ring', 'stdout'].includes(String(raw.log))) {
      problems.push({ file, ...src.at(['log']), code: 'SPEC_INVALID', message: `log must be null, ring or stdout, got "${String(raw.log)}"` });
    }
    if (raw.after !== undefined && !Array.isArray(raw.after)) problems.push({ file, ...src.at(['after']), code: 'SPEC_INVALID', message: 'after must be a list of service names' });
    if (raw.env !== undefined && !isRecord(raw.env)) problems.push({ file, ...src.at(['env']), code: 'SPEC_INVALID', message: 'env must be a mapping' });
    parsed.push({ name: basename(file, '.yaml'), file, src, raw });
  }
  if (problems.length > 0) return result;

  const byName = new Map(parsed.map((p) => [p.name, p]));
  for (const p of parsed) {
    const { raw, file, src } = p;
    const svc = serviceName(p.name);
    const entry = basename(file);
    const add = (key: string, more: { field?: string; detail?: string } = {}) => rec.add(entry, svc, key, more);
    const spec: Record<string, unknown> = {};
    add('file name', svc === p.name ? {} : { detail: `"${p.name}" → "${svc}"` });
    const argv = (field: 'exec' | 'test'): string[] | undefined => {
      const w = shellSplit(String(raw[field]));
      if (!Array.isArray(w) || w.length === 0) {
        problems.push({ file, ...src.at([field]), code: 'SPEC_INVALID', message: `${field}: ${Array.isArray(w) ? 'empty' : w.error}` });
        return undefined;
      }
      return w.map((x) => x.replace(/\$/g, '$$$$'));
    };
    const command = argv('exec');
    if (command) spec.command = command;
    add('exec');
    spec.cwd = typeof raw.dir === 'string' && raw.dir !== '' ? resolve(dirname(file), raw.dir) : dirname(file);
    add(typeof raw.dir === 'string' && raw.dir !== '' ? 'dir' : 'dir=absent', { field: 'dir' });
    if (isRecord(raw.env)) {
      spec.env = Object.fromEntries(Object.entries(raw.env).map(([k, v]) => [k, String(v).replace(/\$/g, '$$$$')]));
      add('env');
    }
    const oneshot = raw.oneshot === true;
    if (typeof raw.test === 'string' && raw.test.trim() !== '') {
      const test = argv('test');
      if (test) spec.readiness = { exec: test, interval: '2s' };
      add('test', oneshot ? { detail: 'zinit ignores test on a oneshot: not converted' } : {});
      if (oneshot) delete spec.readiness;
    }
    if (oneshot) {
      spec.oneshot = true;
      spec.restart = 'never';
      add('oneshot');
    } else {
      spec.restart = 'always';
      spec.backoff = { initial: '2s', max: '2s', factor: 1 };
      spec.max_restarts = 0;
      add('oneshot=false', { field: 'oneshot' });
    }
    const deps: Record<string, string> = {};
    for (const dep of (Array.isArray(raw.after) ? raw.after : []).map(String)) {
      const target = byName.get(dep);
      if (!target) {
        add('after=unknown', { field: `after: ${dep}` });
        continue;
      }
      deps[serviceName(dep)] = target.raw.oneshot === true ? 'completed' : 'healthy';
      add('after', { field: `after: ${dep}`, detail: deps[serviceName(dep)] });
    }
    if (Object.keys(deps).length > 0) spec.depends_on = deps;
    const stop = isRecord(raw.signal) ? raw.signal.stop : undefined;
    if (stop !== undefined) {
      const sig = signalName(stop);
      if (!sig) problems.push({ file, ...src.at(['signal', 'stop']), code: 'SPEC_INVALID', message: `unknown signal "${String(stop)}"` });
      else spec.stop_signal = sig;
      add('signal.stop');
    }
    if (raw.shutdown_timeout !== undefined) {
      if (typeof raw.shutdown_timeout !== 'number' || raw.shutdown_timeout < 0) problems.push({ file, ...src.at(['shutdown_timeout']), code: 'SPEC_INVALID', message: 'shutdown_timeout must be a number of seconds' });
      spec.stop_timeout = `${Number(raw.shutdown_timeout)}s`;
      add('shutdown_timeout');
    } else {
      spec.stop_timeout = '10s';
      add('shutdown_timeout=default', { field: 'shutdown_timeout' });
    }
    if (raw.log !== undefined) add('log', { detail: String(raw.log) });
    result.services.push({ name: svc, sourceFile: file, entry, spec } satisfies ImportedService);
  }
  if (problems.length > 0) result.services.length = 0;
  return result;
}
