// The loader of the built CLI (src/util/code-cache.ts): a CommonJS file runs as Node's own loader
// would run it, from V8's code cache when there is one that fits, and exactly the same without.
// Each run is a fresh node process, as `tend` is.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { WRAPPER } from '../../src/util/code-cache.js';
import { NODE, ROOT, tempDir } from '../helpers/index.js';

// What the bundle relies on: its `#!` line, strict mode, Node's module arguments, require.
// `dep` is found beside the file, as require() from the file itself would find it.
const FILES = { 'node_modules/dep/index.js': "exports.where = 'beside lib.cjs';" };
const LIB = `#!/usr/bin/env node
"use strict";
const { basename } = require('node:path');
module.exports.answer = 42;
const facts = { answer: module.exports.answer, file: basename(__filename), dir: __dirname, strict: (function () { return this === undefined; })(), exports: exports === module.exports };
if (process.env.MODE === 'throw') throw new Error('thrown on line 6');
console.log(JSON.stringify({ ...facts, required: require('dep').where }));
`;

function run(dir: string, env: Record<string, string> = {}): { use: string; out: Record<string, unknown> | undefined; stderr: string; status: number | null } {
  const loader = join(ROOT, 'src/util/code-cache.ts');
  const script = `const { runCached } = await import(${JSON.stringify(loader)}); const use = runCached(process.env.FILE, process.env.FILE + '.cache', { writeCache: process.env.WRITE === '1' }); process.stderr.write('use=' + use + '\\n');`;
  const r = spawnSync(NODE, ['--import', 'tsx', '--input-type=module', '-e', script], {
    encoding: 'utf8',
    cwd: ROOT,
    env: { ...process.env, FILE: join(dir, 'lib.cjs'), ...env },
    timeout: 30_000,
  });
  const line = r.stdout.trim().split('\n').find((l) => l.startsWith('{'));
  return { use: /use=(\w+)/.exec(r.stderr)?.[1] ?? '', out: line ? (JSON.parse(line) as Record<string, unknown>) : undefined, stderr: r.stderr, status: r.status };
}

test('a CommonJS file runs as under node: __filename, __dirname, exports, require from its own place, strict mode', (t) => {
  const dir = tempDir(t, { ...FILES, 'lib.cjs': LIB });
  const plain = run(dir);
  assert.equal(plain.status, 0, plain.stderr);
  assert.equal(plain.use, 'none');
  assert.deepEqual(plain.out, { answer: 42, file: 'lib.cjs', dir, strict: true, exports: true, required: 'beside lib.cjs' });
});

test('the cache written at exit is used by the next run, which behaves the same', (t) => {
  const dir = tempDir(t, { ...FILES, 'lib.cjs': LIB });
  const first = run(dir, { WRITE: '1' });
  assert.equal(first.use, 'none');
  assert.ok(existsSync(join(dir, 'lib.cjs.cache')), 'written at exit');
  assert.deepEqual(readdirSync(dir).sort(), ['lib.cjs', 'lib.cjs.cache', 'node_modules'], 'no temporary file left');
  const second = run(dir);
  assert.equal(second.status, 0, second.stderr);
  assert.equal(second.use, 'used');
  assert.deepEqual(second.out, first.out);
});

test('a cache that does not fit (another source, or not a cache at all) is refused and the file runs from source', (t) => {
  const dir = tempDir(t, { ...FILES, 'lib.cjs': LIB });
  run(dir, { WRITE: '1' });
  // As long as before: V8's own check (the length) would take the old cache, and run old code.
  writeFileSync(join(dir, 'lib.cjs'), LIB.replace('answer = 42', 'answer = 43'));
  const edited = run(dir);
  assert.equal(edited.status, 0, edited.stderr);
  assert.equal(edited.use, 'rejected');
  assert.equal(edited.out?.['answer'], 43, 'the new source runs');
  writeFileSync(join(dir, 'lib.cjs.cache'), Buffer.from('not a code cache at all, but bytes'));
  const garbage = run(dir);
  assert.equal(garbage.status, 0, garbage.stderr);
  assert.equal(garbage.use, 'rejected');
  assert.equal(garbage.out?.['strict'], true);
});

test('an error points at its line of the file, as without the loader (the #! line is kept as a comment)', (t) => {
  const dir = tempDir(t, { ...FILES, 'lib.cjs': LIB });
  for (const env of [{ WRITE: '1' }, {}] as Record<string, string>[]) {
    const r = run(dir, { MODE: 'throw', ...env });
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /thrown on line 6/);
    assert.match(r.stderr, new RegExp(`${join(dir, 'lib.cjs').replace(/[/.]/g, '\\$&')}:6\\b`));
  }
  assert.equal(readFileSync(join(dir, 'lib.cjs'), 'utf8'), LIB, 'the file itself is not changed');
});

test('a copy of the source (same bytes, another mtime and inode: an install from a tarball) still takes the cache, by its SHA-256', (t) => {
  const dir = tempDir(t, { ...FILES, 'lib.cjs': LIB });
  const first = run(dir, { WRITE: '1' });
  const path = join(dir, 'lib.cjs');
  const before = statSync(path, { bigint: true });
  rmSync(path);
  writeFileSync(path, LIB);
  utimesSync(path, new Date(499162500000), new Date(499162500000)); // npm pack's 1985-10-26
  const after = statSync(path, { bigint: true });
  assert.notEqual(after.mtimeNs, before.mtimeNs);
  const copied = run(dir);
  assert.equal(copied.status, 0, copied.stderr);
  assert.equal(copied.use, 'used');
  assert.deepEqual(copied.out, first.out);
});

test('a file written wrapped as the build writes the bundle runs as it is: the same facts, the same line numbers, the same cache use', (t) => {
  // The wrapper in place of the #! line (scripts/bundle-cli.mjs), and its end on a line of its own.
  const wrapped = `${WRAPPER}${LIB.slice(LIB.indexOf('\n'))}\n})\n`;
  const dir = tempDir(t, { ...FILES, 'lib.cjs': wrapped });
  const first = run(dir, { WRITE: '1' });
  assert.equal(first.status, 0, first.stderr);
  assert.deepEqual(first.out, { answer: 42, file: 'lib.cjs', dir, strict: true, exports: true, required: 'beside lib.cjs' });
  assert.equal(run(dir).use, 'used');
  const thrown = run(dir, { MODE: 'throw' });
  assert.match(thrown.stderr, new RegExp(`${join(dir, 'lib.cjs').replace(/[/.]/g, '\\$&')}:6\\b`));
});

test('a file that is not ASCII keeps its text, from source and from its cache; the cache records which the file was', (t) => {
  const utf8 = LIB.replace("module.exports.answer = 42;", "module.exports.answer = 'déjà → 42';");
  for (const [text, encoding] of [[utf8, 'utf8'], [LIB, 'ascii']] as const) {
    const dir = tempDir(t, { ...FILES, 'lib.cjs': text });
    const first = run(dir, { WRITE: '1' });
    const second = run(dir);
    assert.equal(second.use, 'used', second.stderr);
    assert.deepEqual(second.out, first.out);
    assert.equal(second.out?.['answer'], encoding === 'utf8' ? 'déjà → 42' : 42);
    const cache = readFileSync(join(dir, 'lib.cjs.cache'));
    assert.equal(cache.toString('latin1', 0, cache.indexOf(10)).split(' ')[2], encoding);
  }
});

test('a cache smaller than its source is read into the source\'s buffer, and one cut short is refused: either way the file runs as it is', (t) => {
  // The bundle's cache (1.1 MB) is smaller than the bundle (2 MB), and is read into the memory
  // the bundle was read into; LIB's cache is larger than LIB. A long comment makes this source
  // the larger, as the bundle is, and keeps the code the same.
  const long = LIB.replace('"use strict";', `"use strict"; /* ${'padding '.repeat(20_000)}*/`);
  const dir = tempDir(t, { ...FILES, 'lib.cjs': long });
  const first = run(dir, { WRITE: '1' });
  const cacheFile = join(dir, 'lib.cjs.cache');
  const cache = readFileSync(cacheFile);
  assert.ok(cache.length < long.length, `the cache (${cache.length} bytes) is smaller than the source (${long.length})`);
  const second = run(dir);
  assert.equal(second.use, 'used', second.stderr);
  assert.deepEqual(second.out, first.out);
  // The header still names this source; V8's data ends halfway.
  writeFileSync(cacheFile, cache.subarray(0, cache.indexOf(10) + 1 + Math.floor((cache.length - cache.indexOf(10)) / 2)));
  const cut = run(dir);
  assert.equal(cut.status, 0, cut.stderr);
  assert.equal(cut.use, 'rejected');
  assert.deepEqual(cut.out, first.out);
});
