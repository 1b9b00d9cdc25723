// POST /v1/services/:name/scale: the API's `tend scale`. It edits `replicas:` in the file that
// defines the service with the same byte-preserving splice as the CLI (the files are the truth,
// DESIGN §1; the watcher does the rest). A person confirms an edit they have seen: the first call
// (`dry_run: true`) returns the diff and a `base` (the file's hash); the second applies it only if
// the file still has that hash, so an edit made in between is never overwritten unseen (409).

import { createHash } from 'node:crypto';
import { readFileSync, realpathSync } from 'node:fs';
import { basename, relative } from 'node:path';
import { setReplicas } from '../spec/scale-edit.js';
import { TendError } from '../errors.js';
import { loadDirectory } from '../spec/load.js';
import { replaceEditedFile } from '../util/atomic-write.js';
import { lineDiff } from './line-diff.js';
import type { ControlPlane } from './types.js';
import { noSuchService } from '../spec/suggest.js';

const MAX_REPLICAS = 100_000;

export interface ScaleResult {
  service: string;
  file: string;
  replicas_before: number | null;
  replicas: number;
  /** Unified diff of the edit; empty when the file already says so. */
  diff: string;
  /** sha256 of the file before the edit: pass it back to apply exactly this edit. */
  base: string;
  applied: boolean;
}

/** Plans (dry_run) or applies a scale edit; body `{ replicas, dry_run?, base? }`. */
export async function scaleService(control: ControlPlane, service: string, body: Record<string, unknown>): Promise<ScaleResult> {
  const replicas = body['replicas'];
  if (!(typeof replicas === 'number' && Number.isInteger(replicas) && replicas >= 0 && replicas <= MAX_REPLICAS)) {
    throw new TendError('API_BAD_REQUEST', `expected "replicas" to be an integer from 0 to ${MAX_REPLICAS}, got ${JSON.stringify(replicas)}`);
  }
  const dryRun = body['dry_run'] ?? false;
  if (typeof dryRun !== 'boolean') throw new TendError('API_BAD_REQUEST', `expected "dry_run" to be a boolean, got ${JSON.stringify(dryRun)}`);
  const base = body['base'];
  if (base !== undefined && typeof base !== 'string') throw new TendError('API_BAD_REQUEST', `expected "base" to be a string, got ${JSON.stringify(base)}`);

  const source = control.status().source;
  const loaded = await loadDirectory(source);
  const file = fileOf(loaded, service, source);
  const real = realpathSync(file);
  const text = readFileSync(real, 'utf8');
  const hash = createHash('sha256').update(text).digest('hex');
  const next = setReplicas(text, file, service, replicas);
  const result: ScaleResult = {
    service,
    file,
    replicas_before: loaded.services.find((s) => s.name === service)?.replicas ?? null,
    replicas,
    diff: lineDiff(text, next, relative(source, file) || basename(file)),
    base: hash,
    applied: false,
  };
  if (dryRun) return result;
  if (base !== undefined && base !== hash) {
    throw new TendError('API_CONFLICT', `${file} changed since the edit was shown; look at the new diff and confirm again`);
  }
  if (next !== text) replaceEditedFile(real, next);
  // The watcher would see the write after its settle window; asking now saves that wait.
  control.reload();
  return { ...result, applied: true };
}

// The file that defines the service: from the good load, or from a broken file that still named it.
function fileOf(loaded: Awaited<ReturnType<typeof loadDirectory>>, service: string, dir: string): string {
  const svc = loaded.services.find((s) => s.name === service);
  if (svc) return svc.file;
  for (const [file, names] of loaded.files) if (names.includes(service)) return file;
  throw noSuchService(service, loaded.services.map((s) => s.name), dir);
}
