// zinit import: report, generated specs, malformed input, and a real run in `after` order.

import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { waitFor } from '../helpers/index.js';
import { runningPids } from '../helpers/daemon.js';
import {
  assertNothingWritten, assertReportComplete, assertValid, convertFixture, environOf, eventsWith, field, fixtureCopy, readSpecs,
  service, superviseImported, tendImport,
} from './helpers.js';

test('a minimal zinit service: restarted forever, 2 s apart, as zinit does', async (t) => {
  const dir = fixtureCopy(t, 'zinit', 'minimal');
  const r = await tendImport(dir, ['.', '--from', 'zinit']);
  assert.equal(r.code, 0, r.stderr);
  const specs = readSpecs(join(dir, 'services.d'));
  assert.equal(specs.get('redis')?.header[0], '# imported from redis.yaml by tend import');
  assert.deepEqual(specs.get('redis')?.spec, {
    command: ['/usr/bin/redis-server', '--port', '6379'],
    cwd: '..',
    restart: 'always',
    backoff: { initial: '2s', max: '2s', factor: 1 },
    max_restarts: 0,
    stop_timeout: '10s',
  });
  await assertValid(join(dir, 'services.d'));
});

test('every documented zinit field: test, oneshot, after, env, dir, log, shutdown_timeout, signal.stop', async (t) => {
  const dir = fixtureCopy(t, 'zinit', 'full');
  const set = convertFixture('zinit', dir);
  assert.deepEqual(set.problems, []);
  assertReportComplete(set.fields);
  assert.equal(field(set.fields, 'nginx', 'test').outcome, 'approximated');
  assert.equal(field(set.fields, 'myapp', 'after: database').outcome, 'dropped');
  assert.equal(field(set.fields, 'myapp', 'after: nginx').outcome, 'converted');
  assert.equal(field(set.fields, 'nginx', 'log').outcome, 'approximated');
  for (const k of ['exec', 'env', 'dir', 'shutdown_timeout', 'signal.stop']) field(set.fields, 'myapp', k);
  const r = await tendImport(dir, ['.', '-o', 'out']);
  assert.equal(r.code, 0, r.stderr);
  const specs = readSpecs(join(dir, 'out'));
  assert.deepEqual(specs.get('nginx')?.spec.command, ['/usr/bin/nginx', '-g', 'daemon off;']);
  assert.deepEqual(specs.get('nginx')?.spec.readiness, { exec: ['curl', '-s', 'http://localhost', '>', '/dev/null'], interval: '2s' });
  assert.deepEqual(specs.get('nginx')?.spec.depends_on, { networking: 'completed' });
  assert.equal(specs.get('networking')?.spec.oneshot, true);
  assert.equal(specs.get('networking')?.spec.restart, 'never');
  const app = specs.get('myapp')!.spec;
  assert.deepEqual(app.depends_on, { nginx: 'healthy' });
  assert.equal(app.stop_signal, 'SIGINT');
  assert.equal(app.stop_timeout, '20s');
  assert.equal(app.cwd, '/opt/myapp');
  assert.deepEqual(app.env, { PORT: '8080', HOME_DIR: '$$HOME' }, 'zinit does not expand $HOME in env');
  assert.deepEqual(await assertValid(join(dir, 'out')), ['db-init', 'myapp', 'networking', 'nginx']);
});

test('bad YAML and unknown keys in zinit files: file:line:col, nothing written', async (t) => {
  const bad = fixtureCopy(t, 'zinit', 'bad-yaml');
  const r1 = await tendImport(bad, ['.', '--from', 'zinit']);
  assert.equal(r1.code, 1);
  assert.match(r1.stderr, /^web\.yaml:\d+:\d+: YAML: /m);
  assertNothingWritten(join(bad, 'services.d'));
  const unknown = fixtureCopy(t, 'zinit', 'unknown-key');
  const r2 = await tendImport(unknown, ['.', '--from', 'zinit']);
  assert.equal(r2.code, 1);
  assert.match(r2.stderr, /^web\.yaml:3:1: unknown key "restart" in a zinit service$/m);
  assertNothingWritten(join(unknown, 'services.d'));
});

test('imported zinit services run in `after` order: the test gates dependents, the oneshot completes first', { timeout: 90_000 }, async (t) => {
  const dir = fixtureCopy(t, 'zinit', 'run');
  const r = await tendImport(dir, ['.', '-o', '../services.d']);
  assert.equal(r.code, 0, r.stderr);
  const services = join(dir, '..', 'services.d');
  const d = await superviseImported(t, services);
  const s = await d.converged((x) => runningPids(x, 'app').length === 1, 30_000);
  assert.equal(service(s, 'init').state, 'completed');
  assert.ok(existsSync(join(dir, 'init.txt')), 'the oneshot ran in the directory of its file');
  const app = service(s, 'app').replicas[0]!;
  assert.equal(environOf(app.pid!).STACK, 'imported');
  const events = await eventsWith(services, [['replica.ready', 'db'], ['replica.started', 'init'], ['replica.completed', 'init'], ['replica.started', 'app']]);
  const at = (type: string, svc: string) => events.findIndex((e) => e.type === type && e.service === svc);
  assert.ok(at('replica.ready', 'db') >= 0 && at('replica.ready', 'db') < at('replica.started', 'init'), 'init waits for db\'s test');
  assert.ok(at('replica.completed', 'init') < at('replica.started', 'app'), 'app waits for the oneshot to exit 0');
  // Not a oneshot: restarted whatever the exit.
  process.kill(app.pid!, 'SIGKILL');
  await waitFor(async () => {
    const x = await d.status();
    const a = service(x, 'app').replicas[0];
    return a?.state === 'running' && a.pid !== app.pid;
  }, { what: 'app restarted', timeoutMs: 15_000 });
});
