// Pure: imported services → the files `tend import` writes, one YAML file per service, each
// starting with a comment naming its source and the schema line editors read.

import { dirname, isAbsolute, join, relative, sep } from 'node:path';
import { Document, isSeq, visit } from 'yaml';
import type { ImportedService } from './types.js';

export interface RenderedFile {
  /** Absolute path of the file to write. */
  path: string;
  service: string;
  text: string;
}

// Paths are absolute while converting. A path inside the project (the directory around the output
// directory) is written relative to the spec file, so the imported directory keeps working when
// the project moves; one elsewhere (/opt/app, /etc/supervisor) stays absolute.
function relativeTo(outDir: string, path: string): string {
  if (!isAbsolute(path) || path.includes('${')) return path;
  const project = dirname(outDir);
  if (path !== project && !path.startsWith(project.endsWith(sep) ? project : project + sep)) return path;
  return relative(outDir, path) || '.';
}

// Keeps the key order of a hand-written spec: what runs first, then how it is supervised.
const ORDER = [
  'command', 'cwd', 'env', 'env_file', 'replicas', 'ports', 'depends_on', 'readiness', 'liveness', 'oneshot', 'restart',
  'backoff', 'max_restarts', 'restart_window', 'stop_signal', 'stop_timeout', 'limits', 'logs', 'user', 'labels',
];

/** The text of one imported service's file. */
export function renderService(s: ImportedService, outDir: string, schemaPath: string): string {
  const spec: Record<string, unknown> = {};
  const keys = [...ORDER, ...Object.keys(s.spec).filter((k) => !ORDER.includes(k))];
  for (const k of keys) {
    const v = s.spec[k];
    if (v === undefined) continue;
    if (k === 'cwd' && typeof v === 'string') spec[k] = relativeTo(outDir, v);
    else if (k === 'env_file') spec[k] = (Array.isArray(v) ? v : [v]).map((p) => relativeTo(outDir, String(p)));
    else spec[k] = v;
  }
  const doc = new Document(spec);
  // argv lists read best on one line, as in the README's examples.
  visit(doc, {
    Pair(_, pair) {
      const key = String((pair.key as { value?: unknown })?.value ?? '');
      if (['command', 'exec', 'env_file'].includes(key) && isSeq(pair.value)) pair.value.flow = true;
    },
  });
  const header =
    `# imported from ${s.entry} by tend import\n` + `# yaml-language-server: $schema=${relative(outDir, schemaPath)}\n`;
  return header + doc.toString({ lineWidth: 0, flowCollectionPadding: false });
}

/** Every file of an import, in the order of the services. */
export function renderAll(services: readonly ImportedService[], outDir: string, schemaPath: string): RenderedFile[] {
  return services.map((s) => ({ path: join(outDir, `${s.name}.yaml`), service: s.name, text: renderService(s, outDir, schemaPath) }));
}
