// `tend import` as a library: detect a source's format, convert it with that format's pure
// converter, and merge several sources into one set of services with unique names.

import { basename } from 'node:path';
import type { SpecProblem } from '../errors.js';
import { detectFormat } from './detect.js';
import { convertPm2, PM2_MAPPING } from './pm2.js';
import { convertProcfile, PROCFILE_MAPPING } from './procfile.js';
import { convertProcessCompose, PROCESS_COMPOSE_MAPPING } from './process-compose.js';
import { convertSupervisord, SUPERVISORD_MAPPING } from './supervisord.js';
import { convertZinit, ZINIT_MAPPING } from './zinit.js';
import type { FieldReport, ImportFormat, ImportOptions, ImportResult, ImportedService, MappingRow, SourceReader } from './types.js';

export type Converter = (path: string, reader: SourceReader, opts: ImportOptions) => ImportResult;

export const CONVERTERS: Record<ImportFormat, { convert: Converter; mapping: readonly MappingRow[]; title: string }> = {
  'process-compose': { convert: convertProcessCompose, mapping: PROCESS_COMPOSE_MAPPING, title: 'process-compose (process-compose.yaml)' },
  supervisord: { convert: convertSupervisord, mapping: SUPERVISORD_MAPPING, title: 'supervisord (.conf)' },
  pm2: { convert: convertPm2, mapping: PM2_MAPPING, title: 'PM2 ecosystem file (JSON or YAML)' },
  procfile: { convert: (p, r) => convertProcfile(p, r), mapping: PROCFILE_MAPPING, title: 'Procfile (foreman, honcho)' },
  zinit: { convert: (p, r) => convertZinit(p, r), mapping: ZINIT_MAPPING, title: 'zinit service files' },
};

export interface ImportSet {
  /** The format of each source, in order. */
  sources: { path: string; format: ImportFormat | null }[];
  services: ImportedService[];
  fields: FieldReport[];
  problems: SpecProblem[];
}

// Converts every source (its format detected unless `from` names it) and merges the results; a
// service name produced twice is a problem on the second source.
export function importSources(paths: readonly string[], reader: SourceReader, opts: ImportOptions & { from?: ImportFormat }): ImportSet {
  const set: ImportSet = { sources: [], services: [], fields: [], problems: [] };
  const owner = new Map<string, ImportedService>();
  for (const path of paths) {
    let format = opts.from;
    if (format === undefined) {
      const d = detectFormat(path, reader);
      if ('error' in d) {
        set.sources.push({ path, format: null });
        set.problems.push({ file: path, line: 1, column: 1, code: 'SPEC_INVALID', message: d.error });
        continue;
      }
      format = d.format;
    }
    set.sources.push({ path, format });
    const c = CONVERTERS[format];
    const r = c.convert(path, reader, opts);
    set.fields.push(...r.fields);
    set.problems.push(...r.problems);
    for (const s of r.services) {
      const first = owner.get(s.name);
      if (first) {
        set.problems.push({
          file: s.sourceFile,
          line: 1,
          column: 1,
          code: 'SPEC_DUPLICATE',
          message: `${s.entry} becomes service "${s.name}", which ${first.entry} (${basename(first.sourceFile)}) already is`,
        });
        continue;
      }
      owner.set(s.name, s);
      set.services.push(s);
    }
  }
  return set;
}
