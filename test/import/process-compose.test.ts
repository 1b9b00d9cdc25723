// process-compose import: report, generated specs, malformed input, and a real run that keeps the
// source's dependency order, replica counts and restart behaviour.

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

test('the minimal process-compose.yaml: process-compose\'s defaults, not tend\'s (no restart, bash -c)', async (t) => {
  const dir = fixtureCopy(t, 'process-compose', 'minimal');
  const set = convertFixture('process-compose', join(dir, 'process-compose.yaml'));
  assert.deepEqual(set.problems, []);
  assertReportComplete(set.fields);
  const restart = field(set.fields, 'hello', 'availability.restart');
  assert.equal(restart.outcome, 'converted');
  assert.match(restart.note, /default is "no"/);
  assert.equal(field(set.fields, 'process-compose.yaml (top level)', 'version').outcome, 'dropped');
  const r = await tendImport(dir, ['process-compose.yaml']);
  assert.equal(r.code, 0, r.stderr);
  const specs = readSpecs(join(dir, 'services.d'));
  assert.equal(specs.get('hello')?.header[0], '# imported from process-compose.yaml processes.hello by tend import');
  assert.deepEqual(specs.get('hello')?.spec, {
    command: ['bash', '-c', "echo 'Hello World from Process Compose'"],
    cwd: '..',
    env: { PC_REPLICA_NUM: '${TEND_REPLICA}', PC_PROC_NAME: 'hello' },
    restart: 'never',
  });
  await assertValid(join(dir, 'services.d'));
});

test('every documented process-compose field is reported and converted to the source\'s behaviour', async (t) => {
  const dir = fixtureCopy(t, 'process-compose', 'full');
  const set = convertFixture('process-compose', join(dir, 'process-compose.yaml'));
  assert.deepEqual(set.problems, []);
  assertReportComplete(set.fields);
  const outcome = (svc: string, f: string) => field(set.fields, svc, f).outcome;
  assert.equal(outcome('postgres', 'is_daemon'), 'dropped');
  assert.equal(outcome('postgres', 'shutdown.command'), 'dropped');
  assert.equal(outcome('postgres', 'probe.initial_delay_seconds'.replace('probe', 'readiness_probe')), 'approximated');
  assert.equal(outcome('web', 'availability.restart'), 'approximated');
  assert.equal(outcome('web', 'availability.exit_on_end'), 'dropped');
  assert.equal(outcome('web', 'ready_log_line'), 'dropped');
  assert.equal(outcome('web', 'liveness_probe.http_get.status_code'), 'approximated');
  assert.equal(outcome('web', 'depends_on.migrate'), 'converted');
  assert.equal(outcome('web', 'shutdown.parent_only'), 'approximated');
  assert.equal(outcome('docs', 'disabled'), 'approximated');
  assert.equal(outcome('web-canary', 'extends'), 'converted');
  assert.equal(outcome('process-compose.yaml (top level)', 'log_level'), 'dropped');
  // Every key of every process appears in the report.
  for (const [svc, keys] of Object.entries({ web: ['command', 'environment', 'env_file', 'replicas', 'namespace', 'description', 'log_location'], migrate: ['working_dir', 'availability.backoff_seconds', 'availability.max_restarts'] })) {
    for (const k of keys) field(set.fields, svc, k);
  }

  const r = await tendImport(dir, ['process-compose.yaml']);
  assert.equal(r.code, 0, r.stderr);
  const specs = readSpecs(join(dir, 'services.d'));
  assert.deepEqual(specs.get('postgres')?.spec.readiness, {
    exec: ['bash', '-c', 'pg_isready -h 127.0.0.1'],
    interval: '2s',
    timeout: '4s',
    success_threshold: 1,
    failure_threshold: 20,
    start_period: '5s',
  });
  assert.equal(specs.get('postgres')?.spec.stop_timeout, '20s');
  assert.deepEqual(specs.get('postgres')?.spec.backoff, { initial: '1s', max: '1s', factor: 1 });
  assert.equal(specs.get('postgres')?.spec.max_restarts, 0);
  const migrate = specs.get('migrate')!.spec;
  assert.equal(migrate.cwd, '../db');
  assert.equal(migrate.oneshot, true, 'a process waited on with process_completed_successfully becomes a oneshot');
  assert.equal(migrate.restart, 'on-failure');
  assert.deepEqual(migrate.backoff, { initial: '2s', max: '2s', factor: 1 });
  assert.equal(migrate.max_restarts, 5);
  assert.deepEqual(migrate.depends_on, { postgres: 'healthy' });
  const web = specs.get('web')!.spec;
  assert.deepEqual(web.depends_on, { migrate: 'completed', postgres: 'started' });
  assert.equal(web.replicas, 2);
  assert.equal(web.stop_signal, 'SIGINT');
  assert.deepEqual(web.env_file, ['../.env', '../.env.web']);
  assert.deepEqual(web.env, { GLOBAL_ENV: 'global', PORT: '8080', ABC: '222', PC_REPLICA_NUM: '${TEND_REPLICA}', PC_PROC_NAME: 'web' });
  assert.deepEqual(web.liveness, { http: { url: 'http://127.0.0.1:8080/healthz' }, interval: '10s', timeout: '1s', success_threshold: 1, failure_threshold: 3 });
  assert.deepEqual(web.labels, { namespace: 'frontend', description: 'the web front end' });
  const canary = specs.get('web-canary')!.spec;
  assert.equal(canary.replicas, 1);
  assert.equal((canary.env as Record<string, string>).CANARY, '1');
  assert.equal((canary.env as Record<string, string>).PORT, '8080');
  assert.equal(specs.get('docs')?.spec.replicas, 0);
  assert.deepEqual(specs.get('tail')?.spec.command, ['tail', '-f', '/var/log/syslog']);
  assert.deepEqual(await assertValid(join(dir, 'services.d')), ['docs', 'migrate', 'postgres', 'tail', 'web', 'web-canary']);
});

test('bad YAML and unknown keys in process-compose.yaml: file:line:col, nothing written', async (t) => {
  const bad = fixtureCopy(t, 'process-compose', 'bad-yaml');
  const r1 = await tendImport(bad, ['process-compose.yaml']);
  assert.equal(r1.code, 1);
  assert.match(r1.stderr, /^process-compose\.yaml:5:\d+: YAML: /m);
  assertNothingWritten(join(bad, 'services.d'));

  const unknown = fixtureCopy(t, 'process-compose', 'unknown-key');
  const r2 = await tendImport(unknown, ['process-compose.yaml', '--report', 'json']);
  assert.equal(r2.code, 1);
  const report = JSON.parse(r2.stdout) as { problems: { file: string; line: number; column: number; message: string }[] };
  assert.deepEqual(report.problems, [
    { file: 'process-compose.yaml', line: 5, column: 5, message: 'unknown key "availabilty" in process "web"' },
    { file: 'process-compose.yaml', line: 11, column: 20, message: 'invalid process dependency condition "process_ready" (one of process_started, process_healthy, process_completed, process_completed_successfully, process_log_ready)' },
  ]);
  assertNothingWritten(join(unknown, 'services.d'));
});

test('imported process-compose project runs in the source\'s dependency order with its replicas and restart policies', { timeout: 90_000 }, async (t) => {
  const dir = fixtureCopy(t, 'process-compose', 'run');
  const r = await tendImport(dir, ['process-compose.yaml']);
  assert.equal(r.code, 0, r.stderr);
  const services = join(dir, 'services.d');
  const d = await superviseImported(t, services);
  const s = await d.converged((x) => service(x, 'web').ready === 2, 30_000);
  assert.equal(service(s, 'web').replicas_desired, 2);
  assert.equal(service(s, 'migrate').state, 'completed');
  assert.ok(existsSync(join(dir, 'migrated.txt')), 'the migration ran in the project directory');
  const webPids = runningPids(s, 'web');
  assert.equal(webPids.length, 2);
  assert.equal(environOf(webPids[0]!).STACK, 'imported');
  assert.deepEqual(webPids.map((p) => environOf(p).PC_REPLICA_NUM).sort(), ['0', '1']);

  // Dependency order, from the event log: db ready → migrate started … completed → web started.
  const events = await eventsWith(services, [['replica.ready', 'db'], ['replica.started', 'migrate'], ['replica.completed', 'migrate'], ['replica.started', 'web']]);
  const first = (type: string, svc: string) => events.findIndex((e) => e.type === type && e.service === svc);
  assert.ok(first('replica.ready', 'db') >= 0 && first('replica.ready', 'db') < first('replica.started', 'migrate'), 'migrate waits for db healthy');
  assert.ok(first('replica.completed', 'migrate') < first('replica.started', 'web'), 'web waits for migrate to complete');

  // restart: always → a killed web replica comes back; no restart policy → "once" stays down.
  const web0 = service(s, 'web').replicas.find((x) => x.index === 0)!;
  process.kill(web0.pid!, 'SIGKILL');
  await waitFor(async () => {
    const x = await d.status();
    const r0 = service(x, 'web').replicas.find((y) => y.index === 0);
    return r0?.state === 'running' && r0.pid !== web0.pid && r0.restarts === 1;
  }, { what: 'web/0 restarted', timeoutMs: 15_000 });
  const once = service(s, 'once').replicas[0]!;
  process.kill(once.pid!, 'SIGKILL');
  const after = await waitFor(async () => {
    const x = await d.status();
    return service(x, 'once').replicas[0]?.state === 'failed' ? x : undefined;
  }, { what: 'once failed, not restarted', timeoutMs: 15_000 });
  assert.match(service(after, 'once').replicas[0]!.reason ?? '', /restart: never/);
});
