// Procfile (foreman, honcho) import: report, generated specs, malformed input, and a real run.

import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { waitFor } from '../helpers/index.js';
import { runningPids } from '../helpers/daemon.js';
import {
  assertNothingWritten, assertReportComplete, assertValid, convertFixture, environOf, field, fixtureCopy, readSpecs, service,
  superviseImported, tendImport,
} from './helpers.js';

test('foreman\'s documented Procfile: one service per line, run by the shell, PORT per process type', async (t) => {
  const dir = fixtureCopy(t, 'procfile', 'foreman');
  const set = convertFixture('procfile', join(dir, 'Procfile'));
  assert.deepEqual(set.problems, []);
  assert.deepEqual(set.services.map((s) => s.name), ['web', 'worker']);
  assertReportComplete(set.fields);
  assert.equal(field(set.fields, 'web', 'command').outcome, 'converted');
  assert.equal(field(set.fields, 'web', 'restart').outcome, 'approximated');
  assert.match(field(set.fields, 'worker', 'PORT').note, /PORT 5100/);

  const r = await tendImport(dir, ['Procfile']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /wrote services\.d\/web\.yaml/);
  assert.match(r.stderr, /Procfile web → web\.yaml/);
  assert.match(r.stderr, /approximated\s+restart\s+restart: never/);
  const specs = readSpecs(join(dir, 'services.d'));
  assert.equal(specs.get('web')?.header[0], '# imported from Procfile web by tend import');
  const schema = /^# yaml-language-server: \$schema=(.+)$/.exec(specs.get('web')!.header[1]!)?.[1];
  assert.ok(schema && existsSync(resolve(dir, 'services.d', schema)), `the schema line points at the schema: ${schema}`);
  assert.deepEqual(specs.get('web')?.spec, {
    command: 'bundle exec thin start -p $PORT',
    cwd: '..',
    ports: { PORT: 5000 },
    restart: 'never',
    stop_signal: 'SIGTERM',
    stop_timeout: '5s',
  });
  assert.deepEqual(specs.get('worker')?.spec.ports, { PORT: 5100 });
  assert.deepEqual(await assertValid(join(dir, 'services.d')), ['web', 'worker']);
});

test('honcho\'s Procfile with a .env: env_file, PORT base from .env, names made tend-safe', async (t) => {
  const dir = fixtureCopy(t, 'procfile', 'honcho');
  const r = await tendImport(dir, ['Procfile', '-o', 'out', '--report', 'json']);
  assert.equal(r.code, 0, r.stderr);
  const report = JSON.parse(r.stdout) as { services: { name: string; source: string }[]; fields: { service: string; field: string; outcome: string; note: string }[]; written: string[] };
  assert.deepEqual(report.services.map((s) => s.name), ['web', 'redis', 'queue_worker']);
  assert.deepEqual(report.written, ['out/web.yaml', 'out/redis.yaml', 'out/queue_worker.yaml']);
  const name = report.fields.find((f) => f.service === 'queue_worker' && f.field === 'name');
  assert.match(name?.note ?? '', /"Queue_Worker" → "queue_worker"/);
  const specs = readSpecs(join(dir, 'out'));
  assert.deepEqual(specs.get('redis')?.spec.env_file, ['../.env']);
  assert.deepEqual(specs.get('web')?.spec.ports, { PORT: 8000 });
  assert.deepEqual(specs.get('queue_worker')?.spec.ports, { PORT: 8200 });
  await assertValid(join(dir, 'out'));
});

test('a Procfile line without a colon: file:line:col errors and nothing is written', async (t) => {
  const dir = fixtureCopy(t, 'procfile', 'bad');
  const r = await tendImport(dir, ['Procfile']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /^Procfile:2:1: expected `name: command`, found no colon$/m);
  assert.match(r.stderr, /^Procfile:3:8: process "worker" has no command$/m);
  assert.match(r.stderr, /nothing written/);
  assertNothingWritten(join(dir, 'services.d'));
});

test('an existing file is not replaced without --force; --dry-run writes nothing', async (t) => {
  const dir = fixtureCopy(t, 'procfile', 'foreman');
  const dry = await tendImport(dir, ['Procfile', '--dry-run']);
  assert.equal(dry.code, 0, dry.stderr);
  assert.match(dry.stdout, /^--- services\.d\/web\.yaml\n# imported from Procfile web by tend import\n/m);
  assertNothingWritten(join(dir, 'services.d'));
  assert.equal((await tendImport(dir, ['Procfile'])).code, 0);
  const again = await tendImport(dir, ['Procfile']);
  assert.equal(again.code, 1);
  assert.match(again.stderr, /services\.d\/web\.yaml exists \(use --force to replace it\)/);
  assert.equal((await tendImport(dir, ['Procfile', '--force'])).code, 0);
});

test('imported Procfile runs: every process once, PORT per type, the .env in its environment, no restarts', { timeout: 60_000 }, async (t) => {
  const dir = fixtureCopy(t, 'procfile', 'run');
  const r = await tendImport(dir, ['Procfile']);
  assert.equal(r.code, 0, r.stderr);
  const d = await superviseImported(t, join(dir, 'services.d'));
  const s = await d.converged((x) => runningPids(x).length === 2);
  assert.equal(service(s, 'web').replicas_desired, 1);
  const web = service(s, 'web').replicas[0]!;
  const env = environOf(web.pid!);
  assert.equal(env.PORT, '5000');
  assert.equal(env.APP_MODE, 'imported');
  assert.equal(environOf(service(s, 'worker').replicas[0]!.pid!).PORT, '5100');
  // foreman never restarts: a killed process stays down (tend leaves the other one running).
  process.kill(web.pid!, 'SIGKILL');
  const after = await waitFor(async () => {
    const x = await d.status();
    return service(x, 'web').replicas[0]?.state === 'failed' ? x : undefined;
  }, { what: 'web failed, not restarted', timeoutMs: 10_000 });
  assert.match(service(after, 'web').replicas[0]!.reason ?? '', /restart: never/);
  assert.equal(service(after, 'web').restarts, 0);
  assert.equal(service(after, 'worker').replicas[0]?.state, 'running');
});
