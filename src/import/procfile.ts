// Procfile (foreman, honcho) → tend services. `name: command` per line, run by /bin/sh -c, with
// `.env` beside the Procfile read into every process's environment and PORT handed out per
// process type. Neither tool restarts anything: one exit stops them all.

import { basename, dirname, join } from 'node:path';
import type { SpecProblem } from '../errors.js';
import { Recorder, row } from './report.js';
import type { ImportResult, ImportedService, MappingRow, SourceReader } from './types.js';
import { serviceName } from './util.js';

export const PROCFILE_MAPPING: readonly MappingRow[] = [
  row('name', 'converted', 'the file name (service name)', 'lowercased, other characters than a-z 0-9 _ - become "-"'),
  row('command', 'converted', 'command (a string: run by /bin/sh -c)', 'foreman and honcho run the line with /bin/sh -c too'),
  row('PORT', 'converted', 'ports: { PORT: base }', 'process type n (0-based, in file order) gets PORT = base + 100·n and its i-th copy + i, as in foreman and honcho; base is 5000, or PORT from .env', 'implicit'),
  row('concurrency', 'approximated', 'replicas: 1', 'the formation (foreman -m web=2, honcho -c web=2) is a command-line option, not in the Procfile: set replicas: by hand', 'implicit'),
  row('restart', 'approximated', 'restart: never', 'foreman and honcho never restart a process; when one exits they stop all the others, while tend keeps the others running', 'implicit'),
  row('stop', 'converted', 'stop_signal: SIGTERM, stop_timeout: 5s', 'both send SIGTERM and SIGKILL after 5 s', 'implicit'),
  row('.env', 'converted', 'env_file: [.env]', 'the .env beside the Procfile, read by tend (KEY=VALUE lines, quotes and comments)', 'present'),
];

const LINE = /^([A-Za-z0-9_-]+):[ \t]*(.*)$/;

/** Converts the Procfile at `path`. */
export function convertProcfile(path: string, reader: SourceReader): ImportResult {
  const text = reader.readText(path) ?? '';
  const file = basename(path);
  const dir = dirname(path);
  const rec = new Recorder(PROCFILE_MAPPING);
  const problems: SpecProblem[] = [];
  const services: ImportedService[] = [];
  const problem = (line: number, column: number, message: string) =>
    problems.push({ file: path, line, column, code: 'SPEC_PARSE', message });

  const envPath = join(dir, '.env');
  const envText = reader.readText(envPath);
  const envPort = envText === undefined ? undefined : /^\s*(?:export\s+)?PORT\s*=\s*["']?(\d+)["']?\s*$/m.exec(envText)?.[1];
  const basePort = envPort === undefined ? 5000 : Number(envPort);

  const seen = new Map<string, number>();
  let index = 0;
  text.split('\n').forEach((raw, i) => {
    const lineNo = i + 1;
    const line = raw.replace(/\r$/, '');
    if (line.trim() === '' || line.trimStart().startsWith('#')) return;
    const m = LINE.exec(line);
    if (!m) {
      const colon = line.indexOf(':');
      problem(lineNo, 1, colon < 0 ? 'expected `name: command`, found no colon' : `a process name has only letters, digits, "_" and "-", got "${line.slice(0, colon)}"`);
      return;
    }
    const [, source, command] = m as unknown as [string, string, string];
    if (command.trim() === '') {
      problem(lineNo, source.length + 2, `process "${source}" has no command`);
      return;
    }
    const name = serviceName(source);
    if (seen.has(name)) {
      problem(lineNo, 1, `process "${source}" is defined twice (first on line ${seen.get(name)})`);
      return;
    }
    seen.set(name, lineNo);
    const entry = `${file} ${source}`;
    const spec: Record<string, unknown> = { command: command.trim(), cwd: dir };
    rec.add(entry, name, 'name', name === source ? {} : { detail: `"${source}" → "${name}"` });
    rec.add(entry, name, 'command');
    spec.ports = { PORT: basePort + 100 * index };
    rec.add(entry, name, 'PORT', { detail: `PORT ${basePort + 100 * index}` });
    rec.add(entry, name, 'concurrency');
    spec.restart = 'never';
    rec.add(entry, name, 'restart');
    spec.stop_signal = 'SIGTERM';
    spec.stop_timeout = '5s';
    rec.add(entry, name, 'stop');
    if (envText !== undefined) {
      spec.env_file = [envPath];
      rec.add(entry, name, '.env');
    }
    services.push({ name, sourceFile: path, entry, spec });
    index++;
  });
  if (problems.length === 0 && services.length === 0) problem(1, 1, 'the Procfile defines no process (expected `name: command` lines)');
  return { format: 'procfile', services, fields: rec.fields, problems };
}
