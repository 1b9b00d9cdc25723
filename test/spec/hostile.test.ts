// Hostile input to the loader (issue 12): files that are not regular files, YAML built to be slow
// or deep, templates built to overflow the stack, values built to run shell code, keys that meet
// Object.prototype, and characters that would make a message unattributable.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { loadDirectory, LOAD_CONCURRENCY } from '../../src/spec/load.js';
import { expandReplica } from '../../src/spec/expand.js';
import { MAX_DEPTH, MAX_ITEMS } from '../../src/spec/parse.js';
import { MAX_TEMPLATE_DEPTH } from '../../src/spec/template.js';
import { formatRelative, loadSpecs, specDir } from '../helpers/spec.js';
import { ROOT } from '../helpers/index.js';

const POSITION = /^[^:\n]+:\d+:\d+: /;

test('an env_file that is a FIFO, a device or a directory is reported as what it is, without blocking', { timeout: 30_000 }, async (t) => {
  const dir = specDir(t, {
    'fifo.yaml': 'command: [x]\nenv_file: pipe.env\n',
    'zero.yaml': 'command: [x]\nenv_file: zero.env\n',
    'dir.yaml': 'command: [x]\nenv_file: sub\n',
  });
  execFileSync('mkfifo', [join(dir, 'pipe.env')]);
  symlinkSync('/dev/zero', join(dir, 'zero.env'));
  mkdirSync(join(dir, 'sub'));
  // Eight loads at once: each FIFO read used to hold one of libuv's four file threads for ever.
  const results = await Promise.all(Array.from({ length: 8 }, () => loadDirectory(dir)));
  for (const result of results) {
    const lines = result.problems.map((p) => formatRelative(dir, p));
    assert.equal(lines.length, 3, lines.join('\n'));
    assert.match(lines[0]!, /^dir\.yaml:2:11: env_file "sub" is a directory, not a regular file/);
    assert.match(lines[1]!, /^fifo\.yaml:2:11: env_file "pipe\.env" is a FIFO \(named pipe\), not a regular file/);
    assert.match(lines[2]!, /^zero\.yaml:2:11: env_file "zero\.env" is a character device, not a regular file/);
  }
});

test('a spec file that is a FIFO is reported, not waited on', { timeout: 30_000 }, async (t) => {
  const dir = specDir(t, { 'ok.yaml': 'command: [x]\n' });
  execFileSync('mkfifo', [join(dir, 'web.yaml')]);
  const result = await loadDirectory(dir);
  assert.deepEqual(result.problems.map((p) => formatRelative(dir, p)), ['web.yaml:1:1: the file is a FIFO (named pipe), not a regular file']);
  assert.deepEqual(result.services.map((s) => s.name), ['ok']);
});

test('tend validate on a directory with a FIFO env_file finishes', { timeout: 30_000 }, async (t) => {
  const dir = specDir(t, { 'web.yaml': 'command: [x]\nenv_file: pipe.env\n' });
  execFileSync('mkfifo', [join(dir, 'pipe.env')]);
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'src/cli/index.ts'), 'validate', dir], { encoding: 'utf8', timeout: 25_000 });
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stdout, /web\.yaml:2:11: env_file "pipe\.env" is a FIFO/);
});

test('an unreadable env_file says permission denied, not "does not exist"', { timeout: 30_000 }, async (t) => {
  const dir = specDir(t, { 'web.yaml': 'command: [x]\nenv_file: secret.env\n', 'secret.env': 'A=1\n' });
  chmodSync(dir, 0o755);
  chmodSync(join(dir, 'secret.env'), 0o000);
  if (process.getuid?.() !== 0) {
    const result = await loadDirectory(dir);
    assert.match(formatRelative(dir, result.problems[0]!), /^web\.yaml:2:11: env_file "secret\.env" cannot be read: permission denied/);
    return;
  }
  // root reads anything: load as nobody, in a child that drops its privileges first.
  const loader = pathToFileURL(join(ROOT, 'src/spec/load.ts')).href;
  const script = `process.setgid(65534); process.setuid(65534); const { loadDirectory } = await import(${JSON.stringify(loader)}); const r = await loadDirectory(${JSON.stringify(dir)}); console.log(JSON.stringify(r.problems));`;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 25_000, cwd: ROOT });
  assert.equal(r.status, 0, r.stderr);
  const problems = JSON.parse(r.stdout) as { message: string; line: number }[];
  assert.match(problems[0]!.message, /^env_file "secret\.env" cannot be read: permission denied/);
});

test('84,000 keys in one file are refused by a bound, before the YAML parser runs', { timeout: 30_000 }, async (t) => {
  let text = 'command: [x]\nlabels:\n';
  for (let i = 0; i < 84_000; i++) text += `  k${i}: 1\n`;
  const { problems, result } = await loadSpecs(t, { 'web.yaml': text });
  assert.equal(result.problems[0]?.code, 'SPEC_TOO_LARGE');
  assert.match(problems[0]!, new RegExp(`^web\\.yaml:1:1: the file has 840\\d\\d lines and flow items \\(",", "\\[", "\\{"\\), more than the ${MAX_ITEMS} allowed per file: refused$`));
});

test('duplicate keys are found among thousands of keys, at the line of the second one', async (t) => {
  let text = 'command: [x]\nlabels:\n';
  for (let i = 0; i < 9_000; i++) text += `  k${i}: 1\n`;
  text += '  k17: 2\n';
  const { problems } = await loadSpecs(t, { 'web.yaml': text });
  assert.deepEqual(problems, ['web.yaml:9003:3: YAML: Map keys must be unique']);
});

test('lists nested deeper than the bound are refused with the bound named', async (t) => {
  const deep = `command: [x]\nx-deep: ${'['.repeat(MAX_DEPTH + 5)}${']'.repeat(MAX_DEPTH + 5)}\n`;
  const { problems } = await loadSpecs(t, { 'web.yaml': deep });
  assert.equal(problems.length, 1);
  assert.match(problems[0]!, new RegExp(`^web\\.yaml:2:\\d+: lists and mappings are nested more than ${MAX_DEPTH} deep: refused$`));
  // 100,000 levels never reach the parser.
  const { problems: huge } = await loadSpecs(t, { 'web.yaml': `command: [x]\nx-deep: ${'['.repeat(100_000)}\n` });
  assert.match(huge[0]!, /^web\.yaml:1:1: the file has \d+ lines and flow items/);
});

test('defaults nested 30,000 deep are a problem of their file; the other files still change', async (t) => {
  const dir = specDir(t, { 'a.yaml': 'command: [a]\n', 'b.yaml': 'command: [b]\n', 'c.yaml': 'command: [c]\n' });
  const first = await loadDirectory(dir);
  assert.deepEqual(first.problems, []);
  const nested = (n: number): string => `${'${A:-'.repeat(n)}x${'}'.repeat(n)}`;
  writeFileSync(join(dir, 'a.yaml'), `command: [a, "${nested(30_000)}"]\n`);
  writeFileSync(join(dir, 'b.yaml'), 'command: [b, --v2]\n');
  writeFileSync(join(dir, 'c.yaml'), `command: [c, "${nested(5_000)}"]\n`);
  const second = await loadDirectory(dir, { previous: first });
  assert.deepEqual(second.problems.map((p) => formatRelative(dir, p)), [
    'a.yaml:1:1: the file has 30003 lines and flow items (",", "[", "{"), more than the 10000 allowed per file: refused',
    `c.yaml:1:14: command[1]: "\${A:-" at offset ${MAX_TEMPLATE_DEPTH * 5} nests defaults more than ${MAX_TEMPLATE_DEPTH} deep (write $$ for a literal $)`,
  ]);
  assert.deepEqual(second.services.find((s) => s.name === 'b')!.command, ['b', '--v2']);
  assert.deepEqual(second.services.find((s) => s.name === 'a')!.command, ['a'], 'a keeps its last good version');
  assert.deepEqual(second.services.find((s) => s.name === 'c')!.command, ['c'], 'c keeps its last good version');
});

// Runs replica 0 of `name` under a real /bin/sh in `dir`, as the runtime would.
function runReplica(dir: string, result: Awaited<ReturnType<typeof loadDirectory>>, name: string): string {
  const spec = result.services.find((s) => s.name === name)!;
  const launch = expandReplica(spec, 0, { PATH: process.env.PATH });
  const r = spawnSync(launch.argv[0]!, launch.argv.slice(1), { cwd: launch.cwd, env: launch.env, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
}

test('a value from an env_file is never run as shell code in a string command', async (t) => {
  const dir = specDir(t, {
    'app.env': "EVIL=x; echo INJECTED > pwned; #\nQUOTED='$(echo ran > ran)'\nSPACES=a  b\n",
    'plain.yaml': 'command: echo ${EVIL} ${QUOTED}\nenv_file: app.env\n',
    'dq.yaml': 'command: echo "[${EVIL}] [${SPACES}]"\nenv_file: app.env\n',
    'sq.yaml': "command: echo '[${EVIL}]' '[${SPACES:-none}]'\nenv_file: app.env\n",
    'sub.yaml': 'command: echo "$(echo "${EVIL}")" `echo ${QUOTED}`\nenv_file: app.env\n',
    'esc.yaml': 'command: echo \\${SPACES} # a comment with ${EVIL}\nenv_file: app.env\n',
  });
  const result = await loadDirectory(dir);
  assert.deepEqual(result.problems, []);
  // (An unquoted env_file value ends at " #", as in docker compose.)
  assert.equal(runReplica(dir, result, 'plain'), 'x; echo INJECTED > pwned; $(echo ran > ran)\n');
  assert.equal(runReplica(dir, result, 'dq'), '[x; echo INJECTED > pwned;] [a  b]\n');
  assert.equal(runReplica(dir, result, 'sq'), '[x; echo INJECTED > pwned;] [a  b]\n');
  assert.equal(runReplica(dir, result, 'sub'), 'x; echo INJECTED > pwned; $(echo ran > ran)\n');
  assert.equal(runReplica(dir, result, 'esc'), 'a  b\n', 'one word, as if in double quotes');
  assert.equal(existsSync(join(dir, 'pwned')), false, 'the injected command ran');
  assert.equal(existsSync(join(dir, 'ran')), false, 'a single-quoted env_file value was run');
});

test('env keys named like Object.prototype members work in env, env_file and ports', async (t) => {
  const { result, problems } = await loadSpecs(t, {
    'web.yaml': 'command: [x]\nports: { PORT: 8000 }\nenv: { constructor: a, toString: b, __proto__: c }\nenv_file: app.env\n',
    'app.env': 'hasOwnProperty=d\n__proto__=e\nvalueOf=f\n',
  });
  assert.deepEqual(problems, []);
  const env = result.services[0]!.env;
  assert.deepEqual(Object.keys(env).sort(), ['__proto__', 'constructor', 'hasOwnProperty', 'toString', 'valueOf']);
  assert.equal(env.constructor, 'a');
  assert.equal(Object.getOwnPropertyDescriptor(env, '__proto__')?.value, 'c', 'env wins over env_file');
  const launch = expandReplica(result.services[0]!, 0, {});
  assert.equal(Object.getOwnPropertyDescriptor(launch.env, '__proto__')?.value, 'c');
  assert.equal(launch.env.valueOf, 'f');
  assert.equal(launch.env.PORT, '8000');
});

test('env_file: [5, missing.env] reports each entry at its own place', async (t) => {
  const { problems } = await loadSpecs(t, { 'web.yaml': 'command: [x]\nenv_file: [5, missing.env]\n' });
  assert.equal(problems.length, 2, problems.join('\n'));
  assert.equal(problems[0], 'web.yaml:2:12: env_file[0] must be a string, got 5');
  assert.match(problems[1]!, /^web\.yaml:2:15: env_file "missing\.env" does not exist \(looked for \/.*missing\.env\)$/);
});

test('a key or file name holding a newline gives messages whose every line names the file', async (t) => {
  const { result } = await loadSpecs(t, {
    'web.yaml': 'command: [x]\nenv: { "A\\nB": 1 }\nports: { "P\\nQ": 80 }\nlabels: { "a\\nb": [1], "c\\u0007": {} }\n"bad\\nkey": 2\ndepends_on: { "x\\ny": started }\n',
  });
  assert.ok(result.problems.length >= 6, result.problems.map((p) => p.message).join('\n'));
  assert.ok(result.problems.some((p) => p.message === 'labels.a\\nb must be a string, a number or a boolean, got a list'));
  for (const p of result.problems) {
    const text = `${p.file}:${p.line}:${p.column}: ${p.message}`;
    for (const line of text.split('\n')) assert.match(line, POSITION, text);
  }
});

test('a NUL in an argv element, an env value or cwd is a validation error', async (t) => {
  const { problems } = await loadSpecs(t, {
    'web.yaml': 'command: [x, "a\\0b"]\nenv: { A: "1\\0" }\ncwd: "/tmp\\0x"\n',
    'app.yaml': 'command: [x]\nenv_file: app.env\n',
    'app.env': 'A=1\u00002\n',
  });
  assert.deepEqual(problems.map((p) => p.replace(/\(looked.*/, '')), [
    'app.yaml:2:11: env_file "app.env": the value of A contains a NUL character (\\0), which no program can receive',
    'web.yaml:1:14: command[1] contains a NUL character (\\0), which no program can receive',
    'web.yaml:2:11: env.A contains a NUL character (\\0), which no program can receive',
    'web.yaml:3:6: cwd contains a NUL character (\\0), which no program can receive',
  ]);
});

test('an argument or a variable longer than Linux passes to a program is a validation error; the longest that fits is not', async (t) => {
  // Linux refuses (E2BIG) a string over 131,071 bytes in exec's argv or environment; a variable
  // counts as NAME=value. The one that fits runs for real here.
  const fits = 'x'.repeat(131_071 - 'B='.length);
  assert.equal(spawnSync('true', [], { env: { PATH: process.env['PATH'], B: fits } }).error, undefined);
  const over = `${fits}x`;
  const { problems } = await loadSpecs(t, {
    'web.yaml': `command: [x, "${'y'.repeat(131_072)}"]\nenv: { A: "${over}", B: "${fits}" }\n`,
    'sh.yaml': `command: "echo ${'y'.repeat(131_072)}"\n`,
    'app.yaml': 'command: [x]\nenv_file: app.env\n',
    'app.env': `A=${over}\nB=${fits}\n`,
  });
  const why = "Linux passes a program at most 131,071 bytes in one (MAX_ARG_STRLEN), and starting it would fail with E2BIG; pass the path of a file that holds it instead";
  assert.deepEqual(problems, [
    `app.yaml:2:11: env_file "app.env": A is 131,072 bytes as A=value: ${why}`,
    `sh.yaml:1:10: command is 131,077 bytes, which /bin/sh -c gets as one argument: ${why}`,
    `web.yaml:1:14: command[1] is 131,072 bytes: ${why}`,
    `web.yaml:2:11: env.A is 131,072 bytes as A=value: ${why}`,
  ]);
});

test('loading gives the event loop a turn between files', async (t) => {
  const files: Record<string, string> = {};
  for (let i = 0; i < 200; i++) files[`s${i}.yaml`] = `command: [x, "${i}"]\nenv: { A: "1" }\n`;
  const dir = specDir(t, files);
  let ticks = 0;
  let running = true;
  const tick = (): void => {
    ticks++;
    if (running) setImmediate(tick);
  };
  setImmediate(tick);
  const seen: number[] = [];
  const result = await loadDirectory(dir, { onFileLoaded: () => seen.push(ticks) });
  running = false;
  assert.equal(result.services.length, 200);
  assert.equal(seen.length, 200);
  // Every LOAD_CONCURRENCY files at most, a setImmediate callback of someone else ran.
  for (let i = LOAD_CONCURRENCY; i < seen.length; i++) {
    assert.ok(seen[i]! > seen[i - LOAD_CONCURRENCY]!, `no turn of the event loop between files ${i - LOAD_CONCURRENCY} and ${i}`);
  }
});

test('a list, mapping or alias as a key is refused at its place', async (t) => {
  const { problems } = await loadSpecs(t, { 'web.yaml': 'command: [x]\nlabels:\n  ? [a, b]\n  : 1\nx-a: &k key\nenv:\n  *k : 2\n' });
  assert.deepEqual(problems, [
    'web.yaml:3:5: YAML: a key must be a plain string or number, not a list, a mapping or an alias',
    'web.yaml:7:3: YAML: a key must be a plain string or number, not a list, a mapping or an alias',
  ]);
});

test('a tagged key that is not a plain value (!!binary) is refused, without a warning on stderr', async (t) => {
  const { problems } = await loadSpecs(t, { 'web.yaml': '%YAML 1.1\n---\ncommand: [x]\nlabels:\n  !!binary aGVsbG8=: 1\n' });
  assert.deepEqual(problems, ['web.yaml:5:12: YAML: a key must be a plain string or number, not a tagged value such as !!binary']);
});
