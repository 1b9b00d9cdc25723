// Runs the bundled CLI (dist/bin/tend.cjs) from V8's code cache (tend.cjs.cache, which the build
// writes: scripts/bundle-cli.mjs). dist/bin/tend.js (src/cli/main.ts) calls it.
//
// Why: before its first replica, a daemon spent much of its start-up compiling the bundle it
// loaded (1.4 MB of JavaScript: commander, yaml, the spec validator, prom-client, pino, tend) and
// the functions that start-up calls; loaded from the cache, launch → first replica running took
// 166–192 ms instead of 254–262 (bench/FINDINGS.md §12). V8 can save that work and load it back
// (`cachedData`); Node 20 offers that only to a `vm.Script`, not to an ES module
// (module.enableCompileCache is Node 22), so the CLI is bundled as one CommonJS file for this
// loader to run.
//
// A cache is used only for the source it was made from, by the same V8 with the same flags;
// otherwise V8 compiles from source, as it would without one, and tend runs as before, only
// slower to start.

import { createHash } from 'node:crypto';
import { isAscii } from 'node:buffer';
import { closeSync, fstatSync, openSync, readFileSync, readSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { Script } from 'node:vm';

/** What became of the cache: loaded; refused (made from another source, or by another V8 or with
 *  other flags); or there was none. */
export type CacheUse = 'used' | 'rejected' | 'none';

/** The cache file: a line `<the source's SHA-256, hex> <size>:<mtime, ns>:<inode> <ascii|utf8>` (at
 *  most this long), then V8's data. */
const MAX_HEADER = 256;

/** How Node's loader wraps a CommonJS file, and how the build writes the bundle (the file's own
 *  `#!` line, if any, becomes a comment: not JavaScript inside a function). */
export const WRAPPER = '(function (exports, require, module, __filename, __dirname) {';

/** Where tend's own code can read how it was loaded (the daemon logs it at start). */
const CACHE_USE = Symbol.for('tend.codeCache');

/** How the running tend was loaded; undefined when it is not the bundle (tsx, tests). */
export function codeCacheUse(): CacheUse | undefined {
  return (globalThis as Record<symbol, CacheUse | undefined>)[CACHE_USE];
}

/**
 * Runs the CommonJS file `file` as Node's own loader would (the same wrapper and arguments; the
 * file must not use `import()`, see below), compiled from `cacheFile` when V8 accepts it. With
 * `writeCache`, the code compiled by the time the process exits (the functions it ran, not only
 * the top level) is written to `cacheFile` then, through a temporary file and a rename: a reader
 * never sees half a cache.
 */
export function runCached(file: string, cacheFile: string, opts: { writeCache?: boolean } = {}): CacheUse {
  const fd = openSync(file, 'r');
  let bytes: Buffer;
  let stamp: string;
  try {
    const st = fstatSync(fd, { bigint: true });
    stamp = `${st.size}:${st.mtimeNs}:${st.ino}`;
    bytes = readFileSync(fd);
  } finally {
    closeSync(fd);
  }
  // V8 checks that a cache was made from a source of the same length, not the same text: a cache
  // of another build that happened to be as long would run that build's code. So the cache names
  // the SHA-256 of the source it was made from, and the file's size, mtime and inode then; the
  // source is hashed (~2 ms for the 2 MB bundle) only when they differ now (as Python checks a
  // .pyc by the mtime and size of its source): a copy, such as an install from a tarball.
  let digest: string | undefined;
  const digestOf = () => (digest ??= createHash('sha256').update(bytes).digest('hex'));
  let use: CacheUse = 'none';
  let cached: { fd: number; from: number; size: number } | undefined;
  let knownAscii = false;
  try {
    const fd = openSync(cacheFile, 'r');
    try {
      use = 'rejected';
      const head = Buffer.alloc(MAX_HEADER);
      const end = head.subarray(0, readSync(fd, head, 0, MAX_HEADER, 0)).indexOf(10);
      const [sha, madeFrom, encoding] = end > 0 ? head.toString('latin1', 0, end).split(' ') : [];
      knownAscii = sha !== undefined && madeFrom === stamp && encoding === 'ascii';
      if (sha !== undefined && (madeFrom === stamp || sha === digestOf())) cached = { fd, from: end + 1, size: fstatSync(fd).size - end - 1 };
    } finally {
      if (!cached) closeSync(fd);
    }
  } catch {
    // not built (no cache is not an error: V8 compiles from source)
  }
  // The bundle is ASCII (the build sees to it): decoded as latin1, which is the same text, with no
  // UTF-8 to check. Checked here unless the cache says that this very file was ASCII when it was
  // made (the check reads the whole bundle: 0.3 ms for 2 MB, 3–4 ms on a VM slow to touch memory).
  const ascii = knownAscii || isAscii(bytes);
  const text = ascii ? bytes.toString('latin1') : bytes.toString('utf8');
  // What the cache's header will say, taken from the source before its buffer is reused below.
  const header = opts.writeCache ? `${digestOf()} ${stamp} ${ascii ? 'ascii' : 'utf8'}\n` : '';
  // V8's data is read into the source's buffer, free now that the source is a string: memory
  // touched for the first time cost ~25 µs a page on a VM (~6 ms for a fresh 1.1 MB buffer, 0.7
  // for this one; bench/FINDINGS.md §18), and this buffer had been touched by reading the source.
  let cachedData: Buffer | undefined;
  if (cached) {
    try {
      cachedData = readFully(cached.fd, cached.size <= bytes.length ? bytes : Buffer.allocUnsafe(cached.size), cached.size, cached.from);
    } catch {
      use = 'rejected';
    } finally {
      closeSync(cached.fd);
    }
  }
  // The file as Node's loader would wrap it. The build writes the bundle wrapped already (in place
  // of its entry's `#!` line, so every line keeps its number): a string made by joining the
  // wrapper to the 2 MB file was copied once more before V8 compiled it (~1 ms).
  const source = text.startsWith(WRAPPER) ? text : `${WRAPPER}${text.startsWith('#!') ? `//${text.slice(2)}` : text}\n})`;
  const script = new Script(source, {
    filename: file,
    ...(cachedData ? { cachedData } : {}),
    // No `import()` in the file: Node 20 resolves one in a vm.Script through a callback given
    // here, which code loaded from a cache does not find (ERR_VM_DYNAMIC_IMPORT_CALLBACK_MISSING).
    // The build refuses a bundle that has one.
  });
  if (cachedData) use = script.cachedDataRejected ? 'rejected' : 'used';
  (globalThis as Record<symbol, unknown>)[CACHE_USE] = use;
  if (opts.writeCache) {
    process.on('exit', () => {
      const tmp = `${cacheFile}.${process.pid}.tmp`;
      try {
        writeFileSync(tmp, Buffer.concat([Buffer.from(header, 'latin1'), script.createCachedData()]));
        renameSync(tmp, cacheFile);
      } catch (err) {
        // Only the build asks for it, and says so when there is no cache after the run.
        process.stderr.write(`tend: cannot write the code cache ${cacheFile}: ${err instanceof Error ? err.message : String(err)}\n`);
      }
    });
  }
  const module = { exports: {} };
  const run = script.runInThisContext() as (...args: unknown[]) => void;
  run(module.exports, createRequire(file), module, file, dirname(file));
  return use;
}

/** `size` bytes of `fd` from `position`, into the start of `into`; a file that ends sooner throws. */
function readFully(fd: number, into: Buffer, size: number, position: number): Buffer {
  let got = 0;
  while (got < size) {
    const n = readSync(fd, into, got, size - got, position + got);
    if (n === 0) throw new Error('the code cache ended early');
    got += n;
  }
  return into.subarray(0, size);
}
