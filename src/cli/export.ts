// `tend export nomad|k8s [DIR]`: hand services.d to a cluster scheduler. Loads and validates the
// directory like `tend validate` (an invalid directory exports nothing), runs the pure exporter,
// prints the conversion report to stderr and the jobs or manifests to stdout or -o.

import { accessSync, constants, existsSync, mkdirSync, statSync } from 'node:fs';
import { basename, delimiter, dirname, isAbsolute, join } from 'node:path';
import { TendError, formatProblem } from '../errors.js';
import { exportK8s } from '../export/k8s.js';
import { exportNomad, type NomadDriver, type NomadPorts } from '../export/nomad.js';
import { drops, formatReport, reportJson, type ConversionReport, type ExportError } from '../export/report.js';
import { loadDirectory } from '../spec/load.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import type { Cli } from './context.js';
import { EXIT } from './exit-codes.js';
import { paint } from './term.js';
import { fromWorkingDir } from '../util/working-dir.js';

export interface ExportOptions {
  output?: string;
  strict?: boolean;
  report?: string;
  driver?: string;
  ports?: string;
  job?: string;
  image?: string[];
  namespace?: string;
  waitImage?: string;
}

export async function exportCommand(cli: Cli, target: string, dir: string, opts: ExportOptions): Promise<number> {
  const kind = target === 'nomad' ? 'nomad' : target === 'k8s' || target === 'kubernetes' ? 'k8s' : undefined;
  if (!kind) throw new TendError('API_BAD_REQUEST', `expected the target to be nomad or k8s, got "${target}"`);
  const reportFormat = opts.report ?? 'table';
  if (!['table', 'json', 'none'].includes(reportFormat)) throw new TendError('API_BAD_REQUEST', `expected --report to be table, json or none, got "${reportFormat}"`);
  if (kind === 'nomad' && opts.image && opts.image.length > 0) throw new TendError('API_BAD_REQUEST', '--image is for k8s: Nomad runs the programs themselves (raw_exec or exec)');
  if (kind === 'k8s' && (opts.driver !== undefined || opts.job !== undefined || opts.ports !== undefined)) throw new TendError('API_BAD_REQUEST', '--driver, --job and --ports are for nomad');
  if (kind === 'nomad' && (opts.namespace !== undefined || opts.waitImage !== undefined)) throw new TendError('API_BAD_REQUEST', '--namespace and --wait-image are for k8s');

  const loaded = await loadDirectory(dir);
  if (loaded.problems.length > 0) {
    cli.err.write(loaded.problems.map((p) => `${formatProblem(p)}\n`).join(''));
    cli.err.write(`tend: ${dir} is not valid; nothing exported\n`);
    return EXIT.FAILURE;
  }
  if (loaded.services.length === 0) {
    cli.err.write(`tend: ${dir} defines no services; nothing exported\n`);
    return EXIT.FAILURE;
  }

  let files: { name: string; text: string }[];
  let report: ConversionReport;
  let errors: ExportError[];
  let single: string | undefined;
  if (kind === 'nomad') {
    const driver = (opts.driver ?? 'raw_exec') as NomadDriver;
    if (driver !== 'raw_exec' && driver !== 'exec') throw new TendError('API_BAD_REQUEST', `expected --driver to be raw_exec or exec, got "${opts.driver}"`);
    const ports = (opts.ports ?? 'dynamic') as NomadPorts;
    if (ports !== 'dynamic' && ports !== 'index') throw new TendError('API_BAD_REQUEST', `expected --ports to be dynamic or index, got "${opts.ports}"`);
    const jobId = opts.job ?? defaultJobId(dir);
    const result = exportNomad(loaded.services, { jobId, driver, ports, which });
    report = result.report;
    errors = result.errors;
    files = result.jobs.map((j) => ({ name: `${j.Job.ID}.json`, text: `${JSON.stringify(j, null, 2)}\n` }));
    single = files.length === 1 ? files[0]!.text : undefined;
  } else {
    const images = parseImages(opts.image ?? []);
    const result = exportK8s(loaded.services, { images, ...(opts.namespace ? { namespace: opts.namespace } : {}), ...(opts.waitImage ? { waitImage: opts.waitImage } : {}) });
    report = result.report;
    errors = result.errors;
    files = result.objects.map((o) => ({ name: `${o.metadata.name}-${o.kind.toLowerCase()}.yaml`, text: o.yaml }));
    single = files.map((f) => f.text).join('---\n');
  }

  if (reportFormat === 'table') cli.err.write(formatReport(report));
  else if (reportFormat === 'json') cli.err.write(reportJson(report));
  if (errors.length > 0) {
    for (const e of errors) cli.err.write(paint(cli.err, 'red', `tend: ${e.service}: ${e.message}`) + '\n');
    cli.err.write('tend: nothing exported\n');
    return EXIT.FAILURE;
  }
  const dropped = drops(report);
  if (opts.strict && dropped.length > 0) {
    for (const r of dropped) cli.err.write(paint(cli.err, 'red', `tend: ${r.service}: ${r.field} is dropped: ${r.how}`) + '\n');
    cli.err.write(`tend: --strict: ${dropped.length} field${dropped.length === 1 ? '' : 's'} dropped; nothing exported\n`);
    return EXIT.FAILURE;
  }

  if (opts.output === undefined) {
    cli.out.write(kind === 'nomad' ? files.map((f) => f.text).join('') : single!);
    return EXIT.OK;
  }
  const out = opts.output;
  // Named as given, written where the working directory as the shell names it puts it.
  const outPath = fromWorkingDir(out);
  const asDir = out.endsWith('/') || (existsSync(outPath) && statSync(outPath).isDirectory());
  if (!asDir) {
    if (single === undefined) {
      throw new TendError('API_BAD_REQUEST', `the export is ${files.length} Nomad jobs (${files.map((f) => f.name).join(', ')}): give -o a directory (ending in /) to write one file each`);
    }
    mkdirSync(dirname(outPath), { recursive: true });
    writeFileAtomic(outPath, single, 0o644);
    cli.err.write(`wrote ${out}\n`);
    return EXIT.OK;
  }
  mkdirSync(outPath, { recursive: true });
  for (const f of files) writeFileAtomic(join(outPath, f.name), f.text, 0o644);
  cli.err.write(`wrote ${files.length} file${files.length === 1 ? '' : 's'} to ${out}\n`);
  return EXIT.OK;
}

// The job is named after the project: the directory holding services.d, else the directory itself.
function defaultJobId(dir: string): string {
  const abs = fromWorkingDir(dir);
  const base = basename(abs) === 'services.d' ? basename(dirname(abs)) : basename(abs);
  const id = base.toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^-+|-+$/g, '');
  return id || 'tend';
}

// `--image web=registry/web:1.2` → Map.
function parseImages(list: string[]): Map<string, string> {
  const images = new Map<string, string>();
  for (const item of list) {
    const eq = item.indexOf('=');
    if (eq <= 0 || eq === item.length - 1) throw new TendError('API_BAD_REQUEST', `expected --image SERVICE=IMAGE (like web=registry.example/web:1.4), got "${item}"`);
    images.set(item.slice(0, eq), item.slice(eq + 1));
  }
  return images;
}

// The program `name` as the shell would find it on this PATH, or undefined.
function which(name: string): string | undefined {
  for (const d of (process.env['PATH'] ?? '').split(delimiter)) {
    if (!d || !isAbsolute(d)) continue;
    const p = join(d, name);
    try {
      accessSync(p, constants.X_OK);
      if (statSync(p).isFile()) return p;
    } catch {
      // not here
    }
  }
  return undefined;
}
