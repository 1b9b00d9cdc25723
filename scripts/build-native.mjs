#!/usr/bin/env node
// Compiles tend's native spawn helper (libexec/tend-spawn-helper.c → libexec/tend-spawn-helper),
// run by `npm run build`. A machine without a C compiler, or one where it fails, gets no binary
// and a note: tend then forks through libexec/tend-spawn-helper.mjs, run by node (chosen at run
// time, src/runtime/spawn-helper.ts), and loses nothing but speed and memory.
//
//   node scripts/build-native.mjs            CC=clang node scripts/build-native.mjs
import { execFileSync } from 'node:child_process';
import { renameSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const source = fileURLToPath(new URL('../libexec/tend-spawn-helper.c', import.meta.url));
const binary = fileURLToPath(new URL('../libexec/tend-spawn-helper', import.meta.url));
const temp = `${binary}.${process.pid}.tmp`;
const cc = process.env.CC || 'cc';

try {
  execFileSync(cc, ['-O2', '-std=gnu11', '-Wall', '-Wextra', '-Werror', '-o', temp, source], { stdio: ['ignore', 'inherit', 'inherit'] });
  renameSync(temp, binary); // a daemon running the old one keeps it: a rename, not a rewrite
} catch (err) {
  rmSync(temp, { force: true });
  // No stale binary from an older source: it might not speak this version's protocol.
  rmSync(binary, { force: true });
  const why = err.code === 'ENOENT' ? `no C compiler ("${cc}")` : `"${cc}" failed`;
  console.error(`tend: ${why}: replicas will fork through the node spawn helper (slower, ~50 MiB more per helper)`);
}
