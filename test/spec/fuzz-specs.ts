// Generators and the property for fuzzing the loader (issue 12): generated and mutated spec files
// (deep nesting, huge strings, aliases, templates, multi-document files, random bytes, env files)
// go through loadDirectory, which must never throw and must tie every problem to a file, a line
// and a column, in text that prints on one line. Used by fuzz.test.ts (a few seconds in `npm
// test`) and scripts/fuzz.ts (`npm run fuzz`, the long run).

import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { stringify } from 'yaml';
import { loadDirectory } from '../../src/spec/load.js';
import { expandReplica } from '../../src/spec/expand.js';

/** One input: the files of a spec directory. Values are text, or bytes written as they are. */
export type FuzzInput = Record<string, string | Uint8Array>;

const KEYS = [
  'name', 'command', 'cwd', 'env', 'env_file', 'replicas', 'ports', 'depends_on', 'readiness', 'liveness', 'restart', 'backoff',
  'max_restarts', 'restart_window', 'stop_signal', 'stop_timeout', 'oneshot', 'update', 'limits', 'logs', 'user', 'labels',
  'environment', 'working_dir', 'stop_grace_period', 'healthcheck', 'deploy', 'image', 'x-base', '<<', '__proto__', 'constructor',
];
const NAMES = ['web', 'db', 'api', 'job', 'a', 'b', 'nope', 'constructor', '__proto__', 'toString', 'A\nB', ''];

const templateText = fc
  .array(fc.constantFrom('$', '${', '}', ':-', 'A', 'PORT', '$$', '${A:-', '${PORT}', 'x', ' ', "'", '"', '\\', '#', ';', '`', '$(', ')', '\n', '\0'), { maxLength: 30 })
  .map((parts) => parts.join(''));

const scalar: fc.Arbitrary<unknown> = fc.oneof(
  fc.string({ maxLength: 20 }),
  fc.constantFrom('1s', '100ms', '1h30m', '10Mi', 'SIGTERM', 'TERM', 'started', 'healthy', 'completed', 'service_healthy', 'always', 'never', 'no', 'rolling', '8080:80', 'A=1', 'KEY', '${PORT}', 'http://127.0.0.1:${PORT}/'),
  templateText,
  fc.integer({ min: -10, max: 70_000 }),
  fc.constantFrom(0, 1, 65535, 65536, 1e21, -0, 1.5, Number.MAX_SAFE_INTEGER),
  fc.boolean(),
  fc.constant(null),
);

// JSON-like values, nested a few levels, with the spec's own names as keys now and then.
const value: fc.Arbitrary<unknown> = fc.letrec<{ v: unknown }>((tie) => ({
  v: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    scalar,
    fc.array(tie('v'), { maxLength: 4 }),
    fc.dictionary(fc.oneof(fc.constantFrom(...KEYS, ...NAMES, 'test', 'condition', 'exec', 'http', 'tcp', 'url', 'port', 'replicas', 'PORT', 'interval'), fc.string({ maxLength: 8 })), tie('v'), { maxKeys: 4 }),
  ),
})).v;

/** A document: a mapping of spec keys (and a few others) to generated values. */
export const specDocument: fc.Arbitrary<Record<string, unknown>> = fc
  .tuple(fc.dictionary(fc.oneof({ weight: 6, arbitrary: fc.constantFrom(...KEYS) }, { weight: 1, arbitrary: fc.string({ maxLength: 10 }) }), value, { maxKeys: 8 }), fc.boolean())
  .map(([doc, withCommand]) => (withCommand ? { command: ['x'], ...doc } : doc));

const VALID = [
  'command: [node, server.js]\nreplicas: 2\nports: { PORT: 18080 }\nenv: { URL: "http://127.0.0.1:${PORT}/" }\nreadiness:\n  http: { url: "http://127.0.0.1:${PORT}/healthz" }\n',
  'command: echo ${A:-${B:-x}} "$HOME" \'${C}\'\nenv_file: [app.env]\ndepends_on: { db: healthy }\n',
  'x-base: &base\n  restart: on-failure\n  backoff: { initial: 1s }\nname: job\n<<: *base\ncommand: ["true"]\noneshot: true\n---\nname: web\ncommand: [x]\ndepends_on:\n  job: { condition: service_completed_successfully }\n',
  'command: [x]\nenvironment:\n  - A=1\n  - B\nhealthcheck:\n  test: ["CMD-SHELL", "exit 0"]\n  retries: 3\ndeploy: { replicas: 3 }\n',
];

const TOKENS = ['\n', '---\n', '&a ', '*a', '<<: *a\n', '${', '${A:-${', '}', '$$', '\t', '[', ']', '{', '}', '"', "'", ': ', '- ', '#', '? ', '!!binary ', '!!str ', '%YAML 1.1\n', '\0', '\r', '\u2028', '\ufeff', '|\n', '>-\n', 'command: ', 'env_file: ', '\\'];

/** A valid spec text with random edits: insertions of YAML tokens, deletions, duplications. */
export const mutatedText: fc.Arbitrary<string> = fc
  .tuple(
    fc.constantFrom(...VALID),
    fc.array(
      fc.tuple(fc.nat(), fc.oneof(fc.constantFrom(...TOKENS), fc.string({ maxLength: 6 })), fc.constantFrom('insert', 'delete', 'duplicate'), fc.nat({ max: 20 })),
      { maxLength: 8 },
    ),
  )
  .map(([base, edits]) => {
    let text = base;
    for (const [at, token, op, len] of edits) {
      const i = text.length === 0 ? 0 : at % (text.length + 1);
      if (op === 'insert') text = text.slice(0, i) + token + text.slice(i);
      else if (op === 'delete') text = text.slice(0, i) + text.slice(i + len);
      else text = text.slice(0, i) + text.slice(i, i + len).repeat(2) + text.slice(i + len);
    }
    return text;
  });

/** Texts built to be expensive: deep nesting, many keys, huge strings, alias chains, deep templates. */
export const hostileText: fc.Arbitrary<string> = fc.oneof(
  fc.integer({ min: 1, max: 20_000 }).map((n) => `command: [x]\nx-deep: ${'['.repeat(n)}${']'.repeat(n)}\n`),
  fc.integer({ min: 1, max: 3_000 }).map((n) => `command: [x]\nx-deep: ${'{a: '.repeat(n)}1${'}'.repeat(n)}\n`),
  fc.integer({ min: 1, max: 200 }).map((n) => `command: [x]\nx-deep:\n${Array.from({ length: n }, (_, i) => `${' '.repeat(i + 1)}- `).join('\n')}1\n`),
  fc.integer({ min: 1, max: 15_000 }).map((n) => `command: [x]\nlabels:\n${Array.from({ length: n }, (_, i) => `  k${i % 9_000}: 1`).join('\n')}\n`),
  fc.integer({ min: 1, max: 1_100_000 }).map((n) => `command: [x]\nenv: { A: "${'y'.repeat(n)}" }\n`),
  fc.integer({ min: 1, max: 12 }).map((n) => {
    let text = 'a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n';
    for (let i = 1; i < n; i++) text += `a${i}: &a${i} [${Array(10).fill(`*a${i - 1}`).join(', ')}]\n`;
    return `x-lol:\n  ${text.split('\n').join('\n  ')}\ncommand: [x]\n`;
  }),
  fc.integer({ min: 1, max: 40_000 }).map((n) => `command: [x, "${'${A:-'.repeat(n)}x${'}'.repeat(n)}"]\n`),
  fc.integer({ min: 1, max: 300 }).map((n) => Array.from({ length: n }, (_, i) => `name: s${i}\ncommand: [x]\ndepends_on: [s${(i + 1) % n}]\n`).join('---\n')),
);

/** A whole input: one or two spec files and maybe an env file (hostileText is fuzzed on its own). */
export const fuzzInput: fc.Arbitrary<FuzzInput> = fc
  .tuple(
    fc.oneof(
      { weight: 3, arbitrary: specDocument.map((d) => stringify(d)) },
      { weight: 2, arbitrary: fc.array(specDocument, { minLength: 2, maxLength: 4 }).map((ds) => ds.map((d) => stringify(d)).join('---\n')) },
      { weight: 4, arbitrary: mutatedText },
      { weight: 1, arbitrary: fc.uint8Array({ maxLength: 400 }) },
      { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 300 }) },
    ),
    fc.option(mutatedText, { nil: undefined }),
    fc.option(fc.oneof(fc.string({ unit: 'binary', maxLength: 200 }), fc.array(fc.tuple(fc.constantFrom('A', 'constructor', '__proto__', 'PORT', 'TEND_X', 'export B', '1X'), templateText), { maxLength: 5 }).map((es) => es.map(([k, v]) => `${k}=${v}`).join('\n'))), { nil: undefined }),
  )
  .map(([first, second, envFile]) => {
    const files: FuzzInput = { 'web.yaml': first };
    if (second !== undefined) files['db.yaml'] = second;
    if (envFile !== undefined) files['app.env'] = envFile;
    return files;
  });

const CONTROL = /[\u0000-\u001f\u007f\u2028\u2029]/;

/** A scratch directory reused across runs (files are rewritten for each input). */
export function scratchDir(): { dir: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'tend-fuzz-'));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * The property: loading `input` never throws, every problem names one of the files (or the
 * directory) with a line and column of at least 1 and a one-line message, and every loaded service
 * expands to argv and environment without NUL. Returns the number of problems.
 */
export async function checkInput(dir: string, input: FuzzInput): Promise<number> {
  // The same scratch directory for every input: remove what this input does not have, write the rest.
  mkdirSync(dir, { recursive: true });
  for (const name of readdirSync(dir)) if (!Object.hasOwn(input, name)) rmSync(join(dir, name), { recursive: true, force: true });
  for (const [name, content] of Object.entries(input)) writeFileSync(join(dir, name), content);
  const result = await loadDirectory(dir);
  const names = new Set([dir, ...Object.keys(input).map((n) => join(dir, n))]);
  for (const p of result.problems) {
    const where = `${p.file}:${p.line}:${p.column}: ${p.message}`;
    if (!names.has(p.file)) throw new Error(`problem names no file of the input: ${JSON.stringify(where)}`);
    if (!Number.isInteger(p.line) || p.line < 1 || !Number.isInteger(p.column) || p.column < 1) throw new Error(`bad position: ${JSON.stringify(where)}`);
    if (p.message.trim() === '' || CONTROL.test(p.message)) throw new Error(`message does not print on one line: ${JSON.stringify(where)}`);
    if (/(^|[^"\w])(undefined|NaN)([^"\w]|$)|\[object Object\]/.test(p.message)) throw new Error(`message shows an internal value: ${JSON.stringify(where)}`);
  }
  for (const spec of result.services) {
    const launch = expandReplica(spec, 0, {});
    for (const a of launch.argv) if (a.includes('\0')) throw new Error(`NUL in argv of ${spec.name}`);
    for (const [k, v] of Object.entries(launch.env)) if (k.includes('\0') || v.includes('\0')) throw new Error(`NUL in env of ${spec.name}`);
  }
  return result.problems.length;
}
