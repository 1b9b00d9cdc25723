// PM2 ecosystem import (JSON and YAML; a .js file is refused with how to make JSON of it): report,
// generated specs, malformed input, and a real run with PM2's restart-on-anything.

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { tempDir, waitFor } from '../helpers/index.js';
import type { FieldReport } from '../../src/import/types.js';
import { runningPids } from '../helpers/daemon.js';
import {
  assertNothingWritten, assertReportComplete, assertValid, convertFixture, environOf, field, fixtureCopy, readSpecs, service,
  superviseImported, tendImport,
} from './helpers.js';

test('the minimal ecosystem file: PM2\'s defaults (restart always, SIGINT, 1600 ms, 16 restarts)', async (t) => {
  const dir = fixtureCopy(t, 'pm2', 'minimal');
  const r = await tendImport(dir, ['ecosystem.config.json']);
  assert.equal(r.code, 0, r.stderr);
  const specs = readSpecs(join(dir, 'services.d'));
  assert.equal(specs.get('app')?.header[0], '# imported from ecosystem.config.json apps[0] app by tend import');
  assert.deepEqual(specs.get('app')?.spec, {
    command: ['node', './app.js'],
    cwd: '..',
    env: { NODE_APP_INSTANCE: '${TEND_REPLICA}' },
    restart: 'always',
    backoff: { initial: '0', max: '0', factor: 1 },
    max_restarts: 16,
    restart_window: '16s',
    stop_signal: 'SIGINT',
    stop_timeout: '1600ms',
  });
  await assertValid(join(dir, 'services.d'));
});

test('every documented PM2 app option, with --env production', async (t) => {
  const dir = fixtureCopy(t, 'pm2', 'full');
  const set = convertFixture('pm2', join(dir, 'ecosystem.config.json'), 'production');
  assert.deepEqual(set.problems, []);
  assertReportComplete(set.fields);
  assert.deepEqual(set.services.map((s) => s.name), ['api', 'worker', 'bin']);
  const outcome = (svc: string, f: string) => field(set.fields, svc, f).outcome;
  assert.equal(outcome('api', 'env_production'), 'converted');
  assert.equal(outcome('api', 'env_staging'), 'dropped');
  assert.equal(outcome('api', 'instances'), 'approximated');
  assert.equal(outcome('api', 'exec_mode'), 'approximated');
  assert.equal(outcome('api', 'wait_ready'), 'dropped');
  assert.equal(outcome('api', 'watch'), 'dropped');
  assert.equal(outcome('api', 'source_map_support'), 'dropped');
  assert.equal(outcome('api', 'max_restarts'), 'approximated');
  assert.equal(outcome('api', 'stop_exit_codes'), 'converted');
  assert.equal(outcome('bin', 'increment_var'), 'converted');
  assert.equal(outcome('ecosystem.config.json (top level)', 'deploy'), 'dropped');
  for (const k of ['args', 'interpreter_args', 'cwd', 'max_memory_restart', 'kill_timeout', 'listen_timeout', 'restart_delay', 'min_uptime', 'ignore_watch', 'watch_delay', 'error_file', 'out_file', 'log_date_format', 'merge_logs', 'pid_file', 'namespace', 'instance_var', 'vizion', 'cron_restart']) {
    field(set.fields, 'api', k);
  }

  const r = await tendImport(dir, ['ecosystem.config.json', '--env', 'production']);
  assert.equal(r.code, 0, r.stderr);
  const specs = readSpecs(join(dir, 'services.d'));
  const api = specs.get('api')!.spec;
  assert.deepEqual(api.command, ['node', '--max-old-space-size=512', './api/index.js', '--color', '--port', '8000']);
  assert.equal(api.cwd, '../srv');
  assert.deepEqual(api.env, { NODE_ENV: 'production', DB_URL: 'postgres://db/prod', INSTANCE_ID: '${TEND_REPLICA}' });
  assert.equal(typeof api.replicas, 'number');
  assert.equal(api.restart, 'on-failure');
  assert.deepEqual(api.backoff, { initial: '4s', max: '4s', factor: 1 });
  assert.equal(api.max_restarts, 10);
  assert.equal(api.restart_window, '50s');
  assert.deepEqual(api.limits, { memory: '300Mi' });
  assert.equal(api.stop_timeout, '3s');
  assert.deepEqual(api.labels, { namespace: 'web' });
  const worker = specs.get('worker')!.spec;
  assert.deepEqual(worker.command, ['python3', 'worker.py']);
  assert.equal(worker.restart, 'never');
  const bin = specs.get('bin')!.spec;
  assert.deepEqual(bin.command, ['/usr/local/bin/tool']);
  assert.deepEqual(bin.ports, { PORT: 7000 }, 'port sets PORT, which increment_var counts up from');
  assert.equal(bin.replicas, 2);
  assert.equal(bin.user, 'www-data');
  await assertValid(join(dir, 'services.d'));
});

test('an ecosystem file in YAML', async (t) => {
  const dir = fixtureCopy(t, 'pm2', 'yaml');
  const r = await tendImport(dir, ['process.yml']);
  assert.equal(r.code, 0, r.stderr);
  const specs = readSpecs(join(dir, 'services.d'));
  assert.equal(specs.get('api-app')?.spec.replicas, 4);
  assert.deepEqual((specs.get('worker')?.spec.env as Record<string, string>).NODE_ENV, 'development');
  await assertValid(join(dir, 'services.d'));
});

test('a .js ecosystem is never run; bad YAML and unknown keys: file:line:col, nothing written', async (t) => {
  const js = fixtureCopy(t, 'pm2', 'js');
  const r1 = await tendImport(js, ['ecosystem.config.js']);
  assert.equal(r1.code, 1);
  assert.match(r1.stderr, /^ecosystem\.config\.js:1:1: ecosystem\.config\.js is JavaScript and tend import never runs it; write it out as JSON first \(node -e '.*' ecosystem\.config\.js > ecosystem\.json\), then: tend import ecosystem\.json$/m);
  assertNothingWritten(join(js, 'services.d'));

  const bad = fixtureCopy(t, 'pm2', 'bad-yaml');
  const r2 = await tendImport(bad, ['ecosystem.yml', '--from', 'pm2']);
  assert.equal(r2.code, 1);
  assert.match(r2.stderr, /^ecosystem\.yml:\d+:\d+: YAML: /m);
  assertNothingWritten(join(bad, 'services.d'));

  const unknown = fixtureCopy(t, 'pm2', 'unknown-key');
  const r3 = await tendImport(unknown, ['ecosystem.config.json']);
  assert.equal(r3.code, 1);
  assert.match(r3.stderr, /^ecosystem\.config\.json:6:7: unknown key "instance" in app "api"$/m);
  assertNothingWritten(join(unknown, 'services.d'));
});

test('each report row says what was done for that app: its interpreter, its instance_var, its restart', async (t) => {
  const apps = [
    { name: 'py', script: 'worker.py', interpreter: 'python3', interpreter_args: '-u', instance_var: 'INSTANCE_ID', stop_exit_codes: [0] },
    { name: 'bin', script: './server', interpreter: 'none', interpreter_args: '--inspect' },
  ];
  const dir = tempDir(t, { 'ecosystem.json': JSON.stringify({ apps }) });
  const r = await tendImport(dir, ['ecosystem.json', '--report', 'json']);
  assert.equal(r.code, 0, r.stderr);
  const report = JSON.parse(r.stdout) as { fields: FieldReport[] };
  const specs = readSpecs(join(dir, 'services.d'));
  const row = (svc: string, f: string) => {
    const x = field(report.fields, svc, f);
    return `${x.outcome} | ${x.to} | ${x.note}`;
  };

  // py: python3 runs the script, with -u; the instance number is INSTANCE_ID, as written.
  assert.deepEqual(specs.get('py')!.spec.command, ['python3', '-u', 'worker.py']);
  assert.equal((specs.get('py')!.spec.env as Record<string, string>).INSTANCE_ID, '${TEND_REPLICA}');
  assert.doesNotMatch(row('py', 'interpreter'), /none|directly/);
  assert.match(row('py', 'interpreter'), /^converted \| command\[0\]: python3 \| /);
  assert.match(row('py', 'interpreter_args'), /^converted \| command, after python3 \| .*-u/);
  assert.match(row('py', 'script'), /^converted \| command \(argv\) \| run by its interpreter \(python3\)$/);
  assert.match(row('py', 'instance_var'), /^converted \| env INSTANCE_ID: \$\{TEND_REPLICA\} \| /);
  // stop_exit_codes [0] makes PM2's restart-on-any-exit restart only on failure: both rows say so.
  assert.equal(specs.get('py')!.spec.restart, 'on-failure');
  assert.match(row('py', 'autorestart'), /^converted \| restart: on-failure \| /);

  // bin: "none" runs the script itself, and interpreter_args have nothing to go to.
  assert.deepEqual(specs.get('bin')!.spec.command, ['./server']);
  assert.match(row('bin', 'interpreter'), /^converted \| command: the script itself \| "none" runs the script directly$/);
  assert.match(row('bin', 'interpreter_args'), /^dropped \|  \| .*--inspect/);
  assert.match(row('bin', 'script'), /^converted \| command \(argv\) \| run directly/);
  assert.match(row('bin', 'instance_var'), /^converted \| env NODE_APP_INSTANCE: \$\{TEND_REPLICA\} \| .*absent/);
});

test('imported PM2 apps run: instances as replicas, restart on any exit (0 too), autorestart false stays down', { timeout: 90_000 }, async (t) => {
  const dir = fixtureCopy(t, 'pm2', 'run');
  const r = await tendImport(dir, ['ecosystem.config.json']);
  assert.equal(r.code, 0, r.stderr);
  const d = await superviseImported(t, join(dir, 'services.d'));
  const s = await waitFor(async () => {
    const x = await d.status();
    return runningPids(x, 'server').length === 2 && runningPids(x, 'once').length === 1 && service(x, 'tick').restarts >= 2 ? x : undefined;
  }, { what: 'two servers, once running, tick restarted after exiting 0', timeoutMs: 30_000 });
  const servers = service(s, 'server').replicas;
  assert.deepEqual(servers.map((x) => environOf(x.pid!).NODE_APP_INSTANCE).sort(), ['0', '1']);
  assert.equal(environOf(servers[0]!.pid!).STACK, 'imported');
  const once = service(s, 'once').replicas[0]!;
  process.kill(once.pid!, 'SIGKILL');
  const after = await waitFor(async () => {
    const x = await d.status();
    return service(x, 'once').replicas[0]?.state === 'failed' ? x : undefined;
  }, { what: 'once failed, not restarted', timeoutMs: 15_000 });
  assert.equal(service(after, 'once').restarts, 0);
});
