// Where desired state comes from. Today a directory on disk; later a git revision, read whole, so
// that a deployment applies per revision and never per file. The controller only sees this.

import type { LoadResult } from './types.js';
import { FileCache, loadDirectory } from './load.js';

export interface SpecSource {
  /** For logs and status: `services.d`, `git:origin/main@4f2a9c1`. */
  describe(): string;
  /** Reads the whole source; `previous` keeps the last good version of each broken file. */
  load(previous?: LoadResult): Promise<LoadResult>;
}

// A spec directory, re-resolved on every load (a symlinked release switch takes effect).
export class DirectorySource implements SpecSource {
  /** Files unchanged since the last load are not parsed again (load.ts, FileCache). */
  private readonly cache = new FileCache();

  constructor(
    readonly dir: string,
    private readonly opts: { maxReplicas?: number } = {},
  ) {}

  describe(): string {
    return this.dir;
  }

  load(previous?: LoadResult): Promise<LoadResult> {
    return loadDirectory(this.dir, { ...this.opts, cache: this.cache, ...(previous ? { previous } : {}) });
  }
}
