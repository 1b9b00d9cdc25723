// `tend import [--from FORMAT] FILE|DIR... [-o DIR]`: converts what users already have (a Procfile,
// process-compose.yaml, supervisord .conf, a PM2 ecosystem file, zinit service files) into spec
// files. Reads and converts everything first, checks the result with tend's own loader, and only
// then writes — so bad input, a clash with an existing file or (with --strict) a dropped field
// leaves the directory untouched.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, hostname, tmpdir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { formatProblem, TendError, type SpecProblem } from '../errors.js';
import { problemsJson, reportTable, type ImportReportJson } from '../import/format-report.js';
import { fsReader } from '../import/fs-reader.js';
import { importSources } from '../import/index.js';
import { renderAll } from '../import/render.js';
import { hasDrops } from '../import/report.js';
import { FORMATS, type ImportFormat } from '../import/types.js';
import { existingTargets, writeImport } from '../import/write.js';
import { loadDirectory } from '../spec/load.js';
import { SCHEMA_PATH } from '../spec/schema.js';
import { fromWorkingDir, relativeToWorkingDir } from '../util/working-dir.js';
import type { Cli } from './context.js';
import { EXIT } from './exit-codes.js';

export interface ImportOptions {
  from?: string;
  output?: string;
  dryRun?: boolean;
  force?: boolean;
  strict?: boolean;
  report?: string;
  env?: string;
}

// Paths in messages as the user would type them: relative to where tend runs.
function shown(path: string): string {
  return isAbsolute(path) ? relativeToWorkingDir(path) : path;
}

export async function importCommand(cli: Cli, paths: string[], opts: ImportOptions): Promise<number> {
  if (opts.from !== undefined && !FORMATS.includes(opts.from as ImportFormat)) {
    throw new TendError('API_BAD_REQUEST', `--from must be one of ${FORMATS.join(', ')}, got "${opts.from}"`);
  }
  if (opts.report !== undefined && opts.report !== 'json' && opts.report !== 'table') {
    throw new TendError('API_BAD_REQUEST', `--report must be json or table, got "${opts.report}"`);
  }
  const json = opts.report === 'json';
  const outDir = fromWorkingDir(opts.output ?? 'services.d');
  const sources = paths.map((p) => fromWorkingDir(p));
  const set = importSources(sources, fsReader, {
    ...(opts.from === undefined ? {} : { from: opts.from as ImportFormat }),
    ...(opts.env === undefined ? {} : { env: opts.env }),
    cpus: availableParallelism(),
    hostname: hostname(),
  });
  const problems: SpecProblem[] = set.problems.map((p) => ({ ...p, file: shown(p.file) }));
  const files = problems.length === 0 ? renderAll(set.services, outDir, SCHEMA_PATH) : [];

  // The output must pass `tend validate`: render the same services into a scratch directory (paths
  // relative to it point at the same places) and load it with the daemon's own loader.
  if (problems.length === 0 && files.length > 0) {
    const scratch = mkdtempSync(join(tmpdir(), 'tend-import-'));
    try {
      for (const f of renderAll(set.services, scratch, SCHEMA_PATH)) writeFileSync(f.path, f.text);
      const loaded = await loadDirectory(scratch);
      if (loaded.problems.length > 0) {
        throw new TendError('INTERNAL', `the imported specs do not validate:\n${loaded.problems.map((p) => `  ${p.file.replace(scratch, shown(outDir))}:${p.line}:${p.column}: ${p.message}`).join('\n')}`);
      }
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  }

  const refusals: string[] = [];
  const existing = opts.force || opts.dryRun ? [] : existingTargets(files);
  if (existing.length > 0) refusals.push(...existing.map((p) => `${shown(p)} exists (use --force to replace it)`));
  const drops = hasDrops(set.fields);
  if (opts.strict && drops) refusals.push('--strict: some fields were dropped (see the report)');

  let written: string[] = [];
  if (problems.length === 0 && refusals.length === 0 && !opts.dryRun) written = writeImport(files, outDir);

  if (json) {
    const report: ImportReportJson = {
      dry_run: opts.dryRun === true,
      sources: set.sources.map((s) => ({ path: shown(s.path), format: s.format })),
      services: set.services.map((s) => ({ name: s.name, file: shown(join(outDir, `${s.name}.yaml`)), source: s.entry })),
      fields: set.fields.map(({ entry, service, field, outcome, to, note }) => ({ entry, service, field, outcome, to, note })),
      problems: problemsJson(problems),
      written: written.map(shown),
      ...(opts.dryRun ? { files: Object.fromEntries(files.map((f) => [shown(f.path), f.text])) } : {}),
    };
    cli.out.write(`${JSON.stringify(report, null, 2)}\n`);
  } else {
    if (set.fields.length > 0 && problems.length === 0) cli.err.write(reportTable(set.fields));
    if (opts.dryRun) for (const f of files) cli.out.write(`--- ${shown(f.path)}\n${f.text}`);
    for (const p of written) cli.out.write(`wrote ${shown(p)}\n`);
  }
  for (const p of problems) cli.err.write(`${formatProblem(p)}\n`);
  for (const r of refusals) cli.err.write(`tend: ${r}\n`);
  if (problems.length > 0 || refusals.length > 0) {
    if (!opts.dryRun) cli.err.write('tend: nothing written\n');
    return EXIT.FAILURE;
  }
  if (opts.dryRun && !json) cli.err.write(`dry run: ${files.length} file${files.length === 1 ? '' : 's'} would be written to ${shown(outDir)}\n`);
  return EXIT.OK;
}
