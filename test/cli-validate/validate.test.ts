// `tend validate`: output lines, JSON output, exit codes, files and directories, and the bundled
// demo directory.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { join, relative } from 'node:path';
import { validateCommand, type ValidateOptions } from '../../src/cli/validate.js';
import { ROOT } from '../helpers/index.js';
import { specDir } from '../helpers/spec.js';

async function run(paths: string[], opts: ValidateOptions = { json: false }): Promise<{ code: number; out: string }> {
  const stream = new PassThrough();
  let out = '';
  stream.on('data', (c: Buffer) => (out += c.toString()));
  const code = await validateCommand(paths, opts, stream);
  return { code, out };
}

test('the bundled demo directory is valid', async () => {
  const { code, out } = await run([join(ROOT, 'services.d')]);
  assert.equal(code, 0);
  assert.equal(out, `${join(ROOT, 'services.d')}: 5 services OK\n`);
});

test('a valid relative directory prints a short success line and exits 0', async (t) => {
  const dir = specDir(t, { 'a.yaml': 'command: x\n', 'b.yaml': 'command: y\ndepends_on: [a]\n' });
  const rel = relative(process.cwd(), dir);
  assert.deepEqual(await run([rel]), { code: 0, out: `${rel}: 2 services OK\n` });
});

test('a missing dependency is reported even when the same file has another error', async (t) => {
  const dir = specDir(t, { 'web.yaml': 'command: [node]\nreplicas: -1\ndepends_on: [nope]\n' });
  const rel = relative(process.cwd(), dir);
  assert.deepEqual(await run([rel]), {
    code: 1,
    out: `${rel}/web.yaml:2:11: replicas must be an integer >= 0, got -1\n${rel}/web.yaml:3:14: depends on "nope", which is not defined\n`,
  });
});

test('every problem is printed as path:line:col: message and the exit code is 1', async (t) => {
  const dir = specDir(t, {
    'web.yaml': 'command: [node]\nreplicas: "three"\nrestrat: always\n',
    'api.yaml': 'command: [node]\ndepends_on: [ghost]\n',
  });
  const rel = relative(process.cwd(), dir);
  const { code, out } = await run([rel]);
  assert.equal(code, 1);
  assert.equal(
    out,
    [
      `${rel}/api.yaml:2:14: depends on "ghost", which is not defined`,
      `${rel}/web.yaml:2:11: replicas must be an integer >= 0, got "three"`,
      `${rel}/web.yaml:3:1: unknown key "restrat", did you mean "restart"?`,
      '',
    ].join('\n'),
  );
});

test('-o json prints a list of {file, line, column, message}', async (t) => {
  const dir = specDir(t, { 'web.yaml': 'command: [node]\nreplicas: -2\n' });
  const bad = await run([dir], { json: true });
  assert.equal(bad.code, 1);
  assert.deepEqual(JSON.parse(bad.out), [{ file: join(dir, 'web.yaml'), line: 2, column: 11, message: 'replicas must be an integer >= 0, got -2' }]);
  const good = specDir(t, { 'web.yaml': 'command: [node]\n' });
  assert.deepEqual(await run([good], { json: true }), { code: 0, out: '[]\n' });
});

test('a file is checked with its directory around it, reporting only its own problems', async (t) => {
  const dir = specDir(t, {
    'api.yaml': 'command: [node]\ndepends_on: [db]\n',
    'db.yaml': 'command: [db]\n',
    'broken.yaml': 'command: [\n',
    'env.yaml': 'command: [x]\nenv_file: bad.env\n',
    'bad.env': 'nope\n',
  });
  assert.deepEqual(await run([join(dir, 'api.yaml')]), { code: 0, out: `${join(dir, 'api.yaml')}: 1 service OK\n` });
  const broken = await run([join(dir, 'broken.yaml'), join(dir, 'env.yaml')]);
  assert.equal(broken.code, 1);
  assert.deepEqual(broken.out.trim().split('\n').map((l) => l.replace(`${dir}/`, '').replace(/: .*/, '')), ['broken.yaml:2:1', 'bad.env:1:1']);
});

test('a file that is not named *.yaml is checked on its own', async (t) => {
  const dir = specDir(t, { 'svc.txt': 'name: svc\ncommand: [x]\n' });
  assert.deepEqual(await run([join(dir, 'svc.txt')]), { code: 0, out: `${join(dir, 'svc.txt')}: 1 service OK\n` });
});

test('a path that does not exist is a problem', async (t) => {
  const dir = specDir(t, {});
  const { code, out } = await run([join(dir, 'nope')]);
  assert.equal(code, 1);
  assert.equal(out, `${join(dir, 'nope')}:1:1: no such file or directory\n`);
});

test('maxReplicas caps replicas', async (t) => {
  const dir = specDir(t, { 'web.yaml': 'command: [x]\nreplicas: 20\n' });
  assert.equal((await run([dir])).code, 0);
  const capped = await run([dir], { json: false, maxReplicas: 10 });
  assert.equal(capped.code, 1);
  assert.match(capped.out, /replicas must be at most 10, got 20/);
});

test('without a path it validates ./services.d', async (t) => {
  if (process.cwd() !== ROOT) return t.skip('needs the repository root as cwd');
  assert.deepEqual(await run([]), { code: 0, out: 'services.d: 5 services OK\n' });
});
