// Effectful: the rendered files onto disk. Nothing is written when any target exists (unless
// forced), so an import never half-replaces a directory; each file is written atomically because
// a running daemon may be watching the directory.

import { existsSync, mkdirSync } from 'node:fs';
import { writeFileAtomic } from '../util/atomic-write.js';
import type { RenderedFile } from './render.js';

/** The targets that already exist. */
export function existingTargets(files: readonly RenderedFile[]): string[] {
  return files.filter((f) => existsSync(f.path)).map((f) => f.path);
}

// Writes every file into `outDir` (created when missing); returns the paths written.
export function writeImport(files: readonly RenderedFile[], outDir: string): string[] {
  mkdirSync(outDir, { recursive: true });
  for (const f of files) writeFileAtomic(f.path, f.text, 0o644);
  return files.map((f) => f.path);
}
