// The shapes every converter shares: what a conversion produced (services as tend spec objects),
// what happened to each source field (the report), and the problems that stop an import.
// Converters are pure functions of the source text; files are reached through a SourceReader so
// that includes, env files and directories are read by the caller's file system.

import type { SpecProblem } from '../errors.js';

export const FORMATS = ['process-compose', 'supervisord', 'pm2', 'procfile', 'zinit'] as const;
export type ImportFormat = (typeof FORMATS)[number];

export type Outcome = 'converted' | 'approximated' | 'dropped';

/** One line of the mapping table of a format: what a source field becomes, in which case. */
export interface MappingRow {
  /** Stable key the converter reports by (`autorestart=unexpected`). */
  key: string;
  /** The source field as users write it (`autorestart`). */
  field: string;
  /** The case this row covers (`unexpected`, `absent`), or '' for any value. */
  when: string;
  outcome: Outcome;
  /** What it becomes in tend ('' when dropped). */
  to: string;
  /** How, or why not. */
  note: string;
}

/** What happened to one field of one source entry. */
export interface FieldReport {
  /** The source entry: `supervisord.conf [program:web]`, `Procfile web`. */
  entry: string;
  /** The tend service it went to ('' when the whole entry was not converted). */
  service: string;
  field: string;
  outcome: Outcome;
  to: string;
  note: string;
  /** The mapping row this came from. */
  key: string;
}

/** A tend service produced by an import: the spec object to write and where it came from. */
export interface ImportedService {
  name: string;
  /** Absolute path of the source file and the entry in it. */
  sourceFile: string;
  entry: string;
  /** The tend spec as plain data; `cwd` and `env_file` paths are absolute until rendered. */
  spec: Record<string, unknown>;
}

export interface ImportResult {
  format: ImportFormat;
  services: ImportedService[];
  fields: FieldReport[];
  /** Malformed input: when there is any, nothing is written. */
  problems: SpecProblem[];
}

/** The file system as converters see it (synchronous: sources are small). */
export interface SourceReader {
  /** The text of a file, or undefined when it does not exist. */
  readText(path: string): string | undefined;
  isDirectory(path: string): boolean;
  /** Absolute paths of the entries of a directory, sorted. */
  list(dir: string): string[];
  /** Absolute paths matching a glob (`*`, `?`, `[...]` in the last components), sorted. */
  glob(pattern: string): string[];
}

export interface ImportOptions {
  /** PM2: the `env_<name>` block to apply (`--env production`). */
  env?: string;
  /** PM2: CPUs on this machine, for `instances: max` / `-1`. */
  cpus: number;
  /** supervisord: this machine's name, for `%(host_node_name)s`. */
  hostname?: string;
}
