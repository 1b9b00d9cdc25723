// Loading a directory: which files count, each file standing alone with its last good version,
// duplicates against kept versions, symlinked release directories, and the fingerprint.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, renameSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { isSpecFileName, loadDirectory, loadFiles } from '../../src/spec/load.js';
import { DirectorySource } from '../../src/spec/source.js';
import { formatRelative, specDir } from '../helpers/spec.js';
import { writeFiles } from '../helpers/index.js';

const svc = (cmd = 'x') => `command: [${cmd}]\n`;

test('only *.yaml and *.yml at the top level count; dotfiles and editor leftovers are ignored', async (t) => {
  const dir = specDir(t, {
    'a.yaml': svc(),
    'b.yml': svc(),
    '.hidden.yaml': 'broken: [',
    '.#a.yaml': 'broken: [',
    'a.yaml.swp': 'broken: [',
    'a.yaml~': 'broken: [',
    '4913': 'broken: [',
    'notes.txt': 'broken: [',
    'sub/c.yaml': svc(),
  });
  assert.deepEqual(
    ['a.yaml', 'b.yml', '.hidden.yaml', '.#a.yaml', 'a.yaml.swp', 'a.yaml~', '4913', 'x.json'].map(isSpecFileName),
    [true, true, false, false, false, false, false, false],
  );
  const result = await loadDirectory(dir);
  assert.deepEqual(result.problems, []);
  assert.deepEqual(result.services.map((s) => s.name), ['a', 'b']);
  assert.deepEqual([...result.files.keys()], [join(dir, 'a.yaml'), join(dir, 'b.yml')]);
});

test('a broken file keeps its last good services while the other files change', async (t) => {
  const dir = specDir(t, { 'web.yaml': 'command: [web]\nreplicas: 2\n', 'db.yaml': svc('db'), 'job.yaml': svc('job') });
  const first = await loadDirectory(dir);
  assert.deepEqual(first.problems, []);

  writeFiles(dir, { 'web.yaml': 'command: [web]\nreplicas: "three"\n', 'db.yaml': 'command: [db, --v2]\n' });
  unlinkSync(join(dir, 'job.yaml'));
  writeFiles(dir, { 'cache.yaml': svc('cache') });
  const second = await loadDirectory(dir, { previous: first });
  assert.deepEqual(second.problems.map((p) => formatRelative(dir, p)), ['web.yaml:2:11: replicas must be an integer >= 0, got "three"']);
  const byName = new Map(second.services.map((s) => [s.name, s]));
  assert.deepEqual([...byName.keys()].sort(), ['cache', 'db', 'web'], 'job was removed, cache added, web kept');
  assert.equal(byName.get('web'), first.services.find((s) => s.name === 'web'), 'web is its last good version');
  assert.deepEqual(byName.get('db')!.command, ['db', '--v2'], 'db changed although web is broken');
  assert.deepEqual(second.files.get(join(dir, 'web.yaml')), ['web']);

  // Without `previous`, a broken file contributes nothing.
  const fresh = await loadDirectory(dir);
  assert.deepEqual(fresh.services.map((s) => s.name).sort(), ['cache', 'db']);
  assert.deepEqual(fresh.files.get(join(dir, 'web.yaml')), []);
});

test('one bad document withholds every service of its file', async (t) => {
  const dir = specDir(t, { 'stack.yaml': 'name: a\ncommand: x\n---\nname: b\ncommand: y\nreplicas: -1\n' });
  const result = await loadDirectory(dir);
  assert.deepEqual(result.services, []);
  assert.equal(result.problems.length, 1);
  assert.equal(result.problems[0]!.service, 'b');
});

test('a new file that takes the name of a kept service is refused, the kept one stays', async (t) => {
  const dir = specDir(t, { 'web.yaml': svc('web') });
  const first = await loadDirectory(dir);
  writeFiles(dir, { 'web.yaml': 'command: [\n', 'other.yaml': `name: web\n${svc('other')}` });
  const second = await loadDirectory(dir, { previous: first });
  const lines = second.problems.map((p) => formatRelative(dir, p));
  assert.ok(lines.includes('other.yaml:1:7: service "web" is also defined in web.yaml (its last good version); names must be unique'), lines.join('\n'));
  assert.deepEqual(second.services.map((s) => s.command), [['web']]);
  assert.deepEqual(second.files.get(join(dir, 'other.yaml')), []);
});

test('duplicate names across two good files: both are errors and neither defines it', async (t) => {
  const dir = specDir(t, { 'a.yaml': 'name: web\ncommand: [a]\n', 'b.yaml': 'name: web\ncommand: [b]\n' });
  const result = await loadDirectory(dir);
  assert.deepEqual(result.problems.map((p) => [relative(dir, p.file), p.code, p.service]), [
    ['a.yaml', 'SPEC_DUPLICATE', 'web'],
    ['b.yaml', 'SPEC_DUPLICATE', 'web'],
  ]);
  assert.deepEqual(result.services, []);
});

test('graph problems are reported but the services stay for the reconciler to block', async (t) => {
  const dir = specDir(t, { 'a.yaml': `${svc()}depends_on: [b]\n`, 'b.yaml': `${svc()}depends_on: [a]\n`, 'c.yaml': `${svc()}depends_on: [ghost]\n` });
  const result = await loadDirectory(dir);
  assert.deepEqual(result.services.map((s) => s.name), ['a', 'b', 'c']);
  assert.deepEqual(result.problems.map((p) => p.code), ['GRAPH_CYCLE', 'GRAPH_CYCLE', 'GRAPH_MISSING_DEP']);
});

test('the fingerprint changes with names, contents and env files, and only then', async (t) => {
  const dir = specDir(t, { 'web.yaml': `${svc()}env_file: .env\n`, '.env': 'A=1\n' });
  const a = (await loadDirectory(dir)).fingerprint;
  assert.equal((await loadDirectory(dir)).fingerprint, a, 'unchanged tree, same fingerprint');
  writeFileSync(join(dir, 'notes.txt'), 'ignored');
  assert.equal((await loadDirectory(dir)).fingerprint, a, 'files that are not specs do not count');
  writeFileSync(join(dir, '.env'), 'A=2\n');
  const b = (await loadDirectory(dir)).fingerprint;
  assert.notEqual(b, a, 'env file content counts');
  renameSync(join(dir, 'web.yaml'), join(dir, 'web2.yaml'));
  const c = (await loadDirectory(dir)).fingerprint;
  assert.notEqual(c, b, 'a rename counts');
  writeFileSync(join(dir, 'web2.yaml'), `${svc('y')}env_file: .env\n`);
  assert.notEqual((await loadDirectory(dir)).fingerprint, c, 'content counts');
});

test('a symlinked directory is resolved on every load: switching the link switches the release', async (t) => {
  const root = specDir(t, {
    'releases/1/services.d/web.yaml': 'command: [v1]\ncwd: ../app\n',
    'releases/2/services.d/web.yaml': 'command: [v1]\ncwd: ../app\n',
  });
  mkdirSync(join(root, 'releases/1/app'));
  mkdirSync(join(root, 'releases/2/app'));
  const link = join(root, 'services.d');
  symlinkSync(join(root, 'releases/1/services.d'), link);
  const source = new DirectorySource(link);
  assert.equal(source.describe(), link);
  const one = await source.load();
  assert.equal(one.services[0]!.cwd, join(root, 'releases/1/app'), 'relative paths resolve in the real directory');
  assert.equal(one.services[0]!.file, join(link, 'web.yaml'), 'files keep the path the user knows');

  const tmp = join(root, 'services.d.new');
  symlinkSync(join(root, 'releases/2/services.d'), tmp);
  renameSync(tmp, link);
  const two = await source.load(one);
  assert.equal(two.services[0]!.cwd, join(root, 'releases/2/app'));
  assert.notEqual(two.fingerprint, one.fingerprint, 'same contents in another release still counts as a change');
  assert.notEqual(two.services[0]!.hash, one.services[0]!.hash, 'new code, new hash');

  // A broken file in the new release keeps the version of the old one: files are keyed by name.
  writeFileSync(join(root, 'releases/1/services.d/web.yaml'), 'command: [\n');
  const tmp2 = join(root, 'services.d.new');
  symlinkSync(join(root, 'releases/1/services.d'), tmp2);
  renameSync(tmp2, link);
  const three = await source.load(two);
  assert.equal(three.problems.length, 1);
  assert.equal(three.services[0], two.services[0]);
});

test('a symlinked file counts; a dangling one is ignored', async (t) => {
  const dir = specDir(t, { 'real/web.yaml': svc(), 'specs/.keep': '' });
  symlinkSync(join(dir, 'real/web.yaml'), join(dir, 'specs/web.yaml'));
  symlinkSync(join(dir, 'real/none.yaml'), join(dir, 'specs/none.yaml'));
  const result = await loadDirectory(join(dir, 'specs'));
  assert.deepEqual(result.services.map((s) => s.name), ['web']);
});

test('a missing directory is one problem, not an exception', async (t) => {
  const dir = specDir(t, {});
  rmSync(dir, { recursive: true });
  const result = await loadDirectory(dir);
  assert.equal(result.services.length, 0);
  assert.match(result.problems[0]!.message, /^cannot read the directory: ENOENT/);
});

test('problems name files relative to the cwd when the directory was given relative', async (t) => {
  const dir = specDir(t, { 'web.yaml': 'command: 5\n' });
  const rel = relative(process.cwd(), dir);
  const result = await loadDirectory(rel);
  assert.equal(result.problems[0]!.file, join(rel, 'web.yaml'));
  assert.equal([...result.files.keys()][0], join(dir, 'web.yaml'), 'files are keyed by absolute path');
});

test('loadFiles loads the given files as one set, paths resolved against each file', async (t) => {
  const dir = specDir(t, { 'a/web.yaml': 'command: x\ncwd: .\ndepends_on: [db]\n', 'b/db.yml': svc(), 'b/odd.txt': 'name: odd\ncommand: y\n' });
  const result = await loadFiles([join(dir, 'a/web.yaml'), join(dir, 'b/db.yml'), join(dir, 'b/odd.txt')]);
  assert.deepEqual(result.problems, []);
  assert.deepEqual(result.services.map((s) => [s.name, s.cwd]), [['web', join(dir, 'a')], ['db', join(dir, 'b')], ['odd', join(dir, 'b')]]);
});

test('a directory source parses again only the files whose text, env files or limits changed; the rest keep their spec objects', async (t) => {
  const dir = specDir(t, {
    'a.yaml': svc('a'),
    'b.yaml': 'command: [b]\nenv_file: b.env\n',
    'b.env': 'X=1\n',
    'c.yaml': svc('c'),
  });
  const source = new DirectorySource(dir);
  const first = await source.load();
  const byName = (r: typeof first) => new Map(r.services.map((s) => [s.name, s]));
  const one = byName(first);
  assert.deepEqual([...one.keys()], ['a', 'b', 'c']);

  // Nothing changed: the same objects, the same fingerprint.
  const again = await source.load(first);
  for (const [name, s] of byName(again)) assert.equal(s, one.get(name), `${name} parsed again`);
  assert.equal(again.fingerprint, first.fingerprint);

  // One file edited, one env file edited: those two services are new, c is the same object.
  writeFileSync(join(dir, 'a.yaml'), svc('a2'));
  writeFileSync(join(dir, 'b.env'), 'X=2\n');
  const second = await source.load(again);
  const two = byName(second);
  assert.deepEqual(two.get('a')!.command, ['a2']);
  assert.equal(two.get('b')!.env.X, '2');
  assert.equal(two.get('c'), one.get('c'));
  assert.notEqual(two.get('a'), one.get('a'));
  assert.notEqual(two.get('b'), one.get('b'));

  // Broken, then written back as it was: its last good version while broken, then parsed anew.
  writeFileSync(join(dir, 'c.yaml'), 'command: [');
  const broken = await source.load(second);
  assert.equal(broken.problems.length, 1);
  assert.equal(byName(broken).get('c'), one.get('c'), 'the last good version stays in force');
  writeFileSync(join(dir, 'c.yaml'), svc('c'));
  const fixed = await source.load(broken);
  assert.deepEqual(fixed.problems, []);
  assert.deepEqual(byName(fixed).get('c')!.command, ['c']);

  // A limit of the source is part of what a file yields.
  const capped = new DirectorySource(dir, { maxReplicas: 1 });
  writeFileSync(join(dir, 'a.yaml'), 'command: [a]\nreplicas: 2\n');
  assert.equal((await capped.load()).problems.length, 1);
  assert.deepEqual((await source.load(fixed)).problems, []);
});
