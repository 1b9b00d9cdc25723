#!/usr/bin/env node
// Bundles the `tend` command into dist/bin (run by `npm run build`, after tsc has type-checked):
//   tend.cjs        the whole CLI (src/cli/index.ts and everything it loads), one CommonJS file,
//                   without indentation or comments (scripts/strip-layout.mjs)
//   tend.cjs.cache  V8's code cache of it, written by one run of a daemon (warmCache below)
//   tend.js         what `tend` runs: loads tend.cjs from that cache (src/util/code-cache.ts)
//   host.js         the hook host that tend forks (src/hooks/host.ts)
//   package.json    says the files here are CommonJS
//
// Why a bundle: Node loads an ES module graph file by file (resolve, read, compile, link); the
// daemon's ~110 modules took 86 ms to import, the bundle 37 ms. Why CommonJS and a cache: Node 20
// can load V8's compiled code back only for a vm.Script, not an ES module, and compiling was most
// of what was left: launch → first replica running 254–262 → 166–192 ms (bench/FINDINGS.md §12). One
// file, where the ES module bundle had a chunk per verb: each verb's modules still run only when
// it does (esbuild wraps what `import()` loads), and `tend status` took as long (~90 ms).
//
//   node scripts/bundle-cli.mjs [OUTDIR] [--sourcemap]     default: dist/bin
//
// Left out of the bundle, loaded from node_modules as before: terminal-kit (`tend top`; it
// requires its terminal drivers by computed names), unix-dgram (a native addon), and ajv, which
// notify/spec.ts loads with createRequire only when a spec declares typed events.
import { build } from 'esbuild';
import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { join, resolve } from 'node:path';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { sameProgram, stripLayout } from './strip-layout.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
// As WRAPPER in src/util/code-cache.ts (test/cli/built.test.ts holds them equal).
const WRAPPER = '(function (exports, require, module, __filename, __dirname) {';
// As DEFERRED_CA_VAR in src/util/deferred-ca.ts (test/cli/launcher.test.ts holds them equal).
const DEFERRED_CA_VAR = 'TEND_DEFERRED_NODE_EXTRA_CA_CERTS';
// As CALLER_NOFILE_VAR in src/util/nofile.ts (test/cli/launcher.test.ts holds them equal).
const CALLER_NOFILE_VAR = 'TEND_CALLER_NOFILE';
// As CALLER_NODE_OPTIONS_VAR and OWN_NODE_OPTIONS_VAR in src/util/node-options.ts (test/cli/launcher.test.ts holds them equal).
const CALLER_NODE_OPTIONS_VAR = 'TEND_CALLER_NODE_OPTIONS';
const OWN_NODE_OPTIONS_VAR = 'TEND_NODE_OPTIONS';
const args = process.argv.slice(2);
const outdir = resolve(args.find((a) => !a.startsWith('--')) ?? join(root, 'dist', 'bin'));
const sourcemap = args.includes('--sourcemap');
const common = { absWorkingDir: root, bundle: true, platform: 'node', target: 'node20', legalComments: 'eof', sourcemap, logLevel: 'warning' };

rmSync(outdir, { recursive: true, force: true });
const cli = await build({
  ...common,
  metafile: true,
  entryPoints: { tend: 'src/cli/index.ts' },
  outdir,
  outExtension: { '.js': '.cjs' },
  format: 'cjs',
  external: ['terminal-kit', 'unix-dgram'],
  // What was an ES module keeps its strict mode and its own URL (tend finds libexec/, schemas/
  // and the hook host from it).
  banner: { js: '"use strict";\nvar __tendUrl = require("node:url").pathToFileURL(__filename).href;' },
  define: { 'import.meta.url': '__tendUrl' },
});
// An import() left in the bundle (of a module kept out of it) would fail once the bundle runs from
// its cache (src/util/code-cache.ts): load such a module with require().
for (const [file, out] of Object.entries(cli.metafile.outputs)) {
  const dynamic = out.imports.filter((i) => i.kind === 'dynamic-import');
  if (dynamic.length > 0) throw new Error(`${file}: import() of ${dynamic.map((i) => i.path).join(', ')}; use require() (createRequire) instead`);
}
asciiOnly(join(outdir, 'tend.cjs'));
// With a source map, columns must stay where esbuild put them.
if (!sourcemap) await unlaidOut(join(outdir, 'tend.cjs'));
wrapped(join(outdir, 'tend.cjs'));
await build({
  ...common,
  entryPoints: { tend: 'src/cli/main.ts', host: 'src/hooks/host.ts' },
  outdir,
  format: 'cjs',
  banner: { js: '"use strict";\nvar __tendUrl = require("node:url").pathToFileURL(__filename).href;' },
  define: { 'import.meta.url': '__tendUrl' },
});
launcher(join(outdir, 'tend.js'));
// Everything here is CommonJS: the package is "type": "module", and Node starts an ES module
// entry through its ES module loader, which took ~3 ms longer before tend's first line ran
// (bench/FINDINGS.md §16).
writeFileSync(join(outdir, 'package.json'), '{ "type": "commonjs" }\n');

const cache = join(outdir, 'tend.cjs.cache');
const why = await warmCache(join(outdir, 'tend.js')).catch((err) => String(err?.message ?? err));
if (why !== undefined || !existsSync(cache)) {
  rmSync(cache, { force: true });
  process.stderr.write(`note: no code cache for dist/bin/tend.cjs (${why ?? 'none written'}): tend works, and starts ~100 ms slower\n`);
}

/**
 * Writes `file` wrapped as Node's loader wraps a CommonJS file (src/util/code-cache.ts loads it as
 * it is, without making a 2 MB copy to wrap it): the wrapper takes the place of the `#!` line, so
 * every line keeps its number.
 */
function wrapped(file) {
  const text = readFileSync(file, 'latin1');
  if (!text.startsWith('#!')) throw new Error(`${file}: no #! line to put the wrapper in place of`);
  writeFileSync(file, `${WRAPPER}${text.slice(text.indexOf('\n'))}\n})\n`, 'latin1');
}

/**
 * Writes `file` without its indentation and comments, each line where it was (scripts/strip-layout.mjs
 * says why), if that leaves the same program; otherwise as it is, with a note.
 */
async function unlaidOut(file) {
  const text = readFileSync(file, 'latin1');
  const stripped = stripLayout(text);
  if (await sameProgram(text, stripped)) writeFileSync(file, stripped, 'latin1');
  else process.stderr.write(`note: ${file} kept with its indentation and comments: without them it was not the same program\n`);
}

/**
 * Puts an sh line before tend.js's JavaScript, run when `tend` is run as a command (`npx tend`, a
 * global install, ./dist/bin/tend.js): it moves NODE_EXTRA_CA_CERTS aside before Node starts,
 * which the CLI puts back first thing (src/util/deferred-ca.ts says why), does the same with
 * NODE_OPTIONS, with TEND_NODE_OPTIONS in its place (src/util/node-options.ts), records the soft
 * open-files limit Node is about to raise (src/util/nofile.ts; read from /proc, quietly if it is
 * not mounted, in a loop of the shell's own, ~1 ms here, where `$(ulimit -Sn)` forked a subshell,
 * ~1.6 ms), and runs the same file with node. To JavaScript the line is a string and a comment;
 * `node tend.js` runs it as before.
 */
function launcher(file) {
  const text = readFileSync(file, 'utf8');
  if (!text.startsWith('#!')) throw new Error(`${file}: no #! line to replace`);
  const nofile = `while read -r a b c d e; do [ "$a $b $c" = "Max open files" ] && export ${CALLER_NOFILE_VAR}="$d" && break; done 2>/dev/null < /proc/self/limits`;
  const options = `[ -n "\${NODE_OPTIONS-}" ] && export ${CALLER_NODE_OPTIONS_VAR}="$NODE_OPTIONS" && unset NODE_OPTIONS; [ -n "\${${OWN_NODE_OPTIONS_VAR}-}" ] && export NODE_OPTIONS="$${OWN_NODE_OPTIONS_VAR}"`;
  const sh = `':' //; [ -n "\${NODE_EXTRA_CA_CERTS-}" ] && export ${DEFERRED_CA_VAR}="$NODE_EXTRA_CA_CERTS" && unset NODE_EXTRA_CA_CERTS; ${options}; ${nofile}; exec node "$0" "$@"`;
  writeFileSync(file, `#!/bin/sh\n${sh}${text.slice(text.indexOf('\n'))}`);
  chmodSync(file, 0o755);
}

/**
 * Escapes what is left of non-ASCII in `file`: esbuild escapes it in strings, regular expressions
 * and names, not in the comments it keeps (`DESIGN §9`). One such character makes V8 hold the
 * whole source, which it keeps for as long as the daemon runs, as a two-byte string: 4 MB of
 * heap instead of 2 for the 2 MB bundle (a heap snapshot of a daemon of 5000 replicas).
 */
function asciiOnly(file) {
  const text = readFileSync(file, 'utf8');
  const ascii = text.replace(/[^\x00-\x7f]/gu, (c) => `\\u{${c.codePointAt(0).toString(16)}}`);
  if (ascii !== text) writeFileSync(file, ascii);
}

/**
 * Runs a daemon of the new build once, with two replicas, as a user would (up, status until it
 * converged, down), with TEND_WRITE_CODE_CACHE set: at its exit it writes the code it compiled
 * (start-up, a reconcile pass, spawning, the API, shutting down) as tend.cjs.cache. Returns why it
 * could not, or undefined.
 */
async function warmCache(cli) {
  const dir = mkdtempSync(join(tmpdir(), 'tend-warm-'));
  const state = join(dir, 'state');
  mkdirSync(join(dir, 'services.d'));
  writeFileSync(join(dir, 'services.d', 'warm.yaml'), 'command: ["sleep", "30"]\nreplicas: 2\n');
  const env = { ...process.env };
  for (const k of Object.keys(env)) if (k.startsWith('TEND_') || k === 'NODE_OPTIONS') delete env[k];
  const tend = (...a) => spawnSync(process.execPath, [cli, '--state-dir', state, ...a], { env, encoding: 'utf8', timeout: 20_000 });
  const daemon = spawn(process.execPath, [cli, '--state-dir', state, 'up', join(dir, 'services.d')], {
    env: { ...env, TEND_WRITE_CODE_CACHE: '1' },
    stdio: 'ignore',
  });
  const exited = new Promise((res) => daemon.once('exit', (code, signal) => res(signal ?? code)));
  try {
    const deadline = Date.now() + 20_000;
    for (;;) {
      const s = tend('status', '-o', 'json');
      if (s.status === 0 && JSON.parse(s.stdout).converged === true) break;
      if (daemon.exitCode !== null) return `the daemon exited (${daemon.exitCode})`;
      if (Date.now() > deadline) return 'the daemon did not converge in 20 s';
      await new Promise((r) => setTimeout(r, 50));
    }
    const down = tend('down');
    if (down.status !== 0) return `tend down: ${down.stderr.trim()}`;
    const code = await Promise.race([exited, new Promise((r) => setTimeout(() => r('timeout'), 20_000))]);
    return code === 0 ? undefined : `the daemon ended with ${code}`;
  } finally {
    if (daemon.exitCode === null && daemon.signalCode === null) {
      daemon.kill('SIGKILL');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  }
}
