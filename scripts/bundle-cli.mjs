#!/usr/bin/env node
// Bundles the `tend` command into dist/bin (run by `npm run build`, after tsc has type-checked):
// dist/bin/tend.js is what `tend` runs, dist/bin/host.js the hook host it forks.
//
// Why: Node loads an ES module graph file by file (resolve, read, compile, link). The daemon's
// graph of ~110 modules of tend and its dependencies took 86 ms to import; the bundle 37 ms, and
// launch → first replica running went from ~250 to ~200 ms (bench/startup-attribution.ts). Each
// verb stays its own chunk (splitting), so `tend status` still does not load the daemon.
//
//   node scripts/bundle-cli.mjs [OUTDIR] [--sourcemap]     default: dist/bin
//
// Left out of the bundle, loaded from node_modules as before: terminal-kit (`tend top`; it
// requires its terminal drivers by computed names), unix-dgram (a native addon), and ajv, which
// notify/spec.ts loads with createRequire only when a spec declares typed events.
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';
import { join, resolve } from 'node:path';
import { rmSync } from 'node:fs';

const root = fileURLToPath(new URL('..', import.meta.url));
const args = process.argv.slice(2);
const outdir = resolve(args.find((a) => !a.startsWith('--')) ?? join(root, 'dist', 'bin'));
rmSync(outdir, { recursive: true, force: true });
await build({
  absWorkingDir: root,
  entryPoints: { tend: 'src/cli/index.ts', host: 'src/hooks/host.ts' },
  outdir,
  bundle: true,
  splitting: true,
  chunkNames: 'chunk-[hash]',
  format: 'esm',
  platform: 'node',
  target: 'node20',
  external: ['terminal-kit', 'unix-dgram'],
  // The CommonJS dependencies bundled in (pino, yaml, commander, ...) call require() for Node's
  // own modules; an ES module has no require, so each output file gets one.
  banner: { js: "import { createRequire as __tendRequire } from 'node:module';\nconst require = __tendRequire(import.meta.url);" },
  legalComments: 'eof',
  sourcemap: args.includes('--sourcemap'),
  logLevel: 'warning',
});
