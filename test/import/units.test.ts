// The pure pieces under the converters, table-tested: INI reading as Python does it, word
// splitting as shlex does it, format detection, and merging several sources.

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { detectFormat } from '../../src/import/detect.js';
import { fsReader } from '../../src/import/fs-reader.js';
import { parseIni } from '../../src/import/ini.js';
import { importSources } from '../../src/import/index.js';
import { serviceName, shellSplit, signalName } from '../../src/import/util.js';
import { tempDir, writeFiles } from '../helpers/index.js';
import { IMPORT_FIXTURES } from './helpers.js';

test('INI as Python\'s RawConfigParser reads supervisord files', () => {
  const text = [
    '; a comment',
    '[program:a]',
    'command = sleep 1 ; inline comment after whitespace',
    'url=http://x/#fragment;kept',
    'Environment: A="1",',
    '  B="2"',
    '',
    '[program:a]',
    'numprocs=2',
  ].join('\n');
  const { sections, problems } = parseIni('f.conf', text);
  assert.deepEqual(problems, []);
  assert.equal(sections.length, 1, 'a repeated section is merged (strict=False)');
  const o = sections[0]!.options;
  assert.equal(o.get('command')?.value, 'sleep 1');
  assert.equal(o.get('url')?.value, 'http://x/#fragment;kept');
  assert.equal(o.get('environment')?.value, 'A="1",\nB="2"', 'keys lowercased, continuation lines joined');
  assert.equal(o.get('numprocs')?.value, '2');
  const bad = parseIni('f.conf', 'key=1\n[s]\n  \nnot an option\n');
  assert.deepEqual(bad.problems.map((p) => `${p.line}:${p.column}: ${p.message}`), [
    '1:1: INI: an option before any [section] header',
    '4:1: INI: expected `key = value` or a [section] header, got "not an option"',
  ]);
});

test('words are split as shlex does (POSIX), signals and names normalised', () => {
  assert.deepEqual(shellSplit(`nginx -g 'daemon off;' "a \\"b\\"" c\\ d`), ['nginx', '-g', 'daemon off;', 'a "b"', 'c d']);
  assert.deepEqual(shellSplit('a "unterminated'), { error: 'unterminated double quote', offset: 2 });
  assert.equal(signalName('TERM'), 'SIGTERM');
  assert.equal(signalName('sigint'), 'SIGINT');
  assert.equal(signalName(15), 'SIGTERM');
  assert.equal(signalName('NOPE'), undefined);
  assert.equal(serviceName('Web.API'), 'web-api');
  assert.equal(serviceName('_x_'), 'x');
});

test('formats are detected from names, then contents', (t) => {
  const dir = tempDir(t);
  writeFiles(dir, {
    'pc.yaml': 'processes:\n  a:\n    command: x\n',
    'apps.yml': 'apps:\n  - script: a.js\n',
    'svc.yaml': 'exec: sleep 1\n',
    'other.yaml': 'hello: world\n',
    'setup': '[program:a]\ncommand=x\n',
  });
  const cases: [string, string][] = [
    [join(IMPORT_FIXTURES, 'procfile', 'foreman', 'Procfile'), 'procfile'],
    [join(IMPORT_FIXTURES, 'supervisord', 'minimal', 'supervisord.conf'), 'supervisord'],
    [join(IMPORT_FIXTURES, 'pm2', 'js', 'ecosystem.config.js'), 'pm2'],
    [join(IMPORT_FIXTURES, 'zinit', 'full'), 'zinit'],
    [join(dir, 'pc.yaml'), 'process-compose'],
    [join(dir, 'apps.yml'), 'pm2'],
    [join(dir, 'svc.yaml'), 'zinit'],
    [join(dir, 'setup'), 'supervisord'],
  ];
  for (const [path, format] of cases) assert.deepEqual(detectFormat(path, fsReader), { format }, path);
  const unknown = detectFormat(join(dir, 'other.yaml'), fsReader);
  assert.ok('error' in unknown && /--from/.test(unknown.error));
});

test('several sources merge; a name produced twice is a problem', (t) => {
  const dir = tempDir(t);
  writeFiles(dir, { Procfile: 'web: sleep 1\nworker: sleep 2\n', 'zinit/web.yaml': 'exec: sleep 3\n', 'zinit/db.yaml': 'exec: sleep 4\n' });
  const set = importSources([join(dir, 'Procfile'), join(dir, 'zinit')], fsReader, { cpus: 2 });
  assert.deepEqual(set.sources.map((s) => s.format), ['procfile', 'zinit']);
  assert.deepEqual(set.services.map((s) => s.name), ['web', 'worker', 'db']);
  assert.equal(set.problems.length, 1);
  assert.match(set.problems[0]!.message, /web\.yaml becomes service "web", which Procfile web \(Procfile\) already is/);
});
