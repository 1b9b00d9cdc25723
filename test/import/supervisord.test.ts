// supervisord import: the INI and its quirks, the report, the generated specs, malformed input
// (bad INI, unknown keys, an include loop) and a real run in priority order.

import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { tempDir, waitFor } from '../helpers/index.js';
import type { FieldReport } from '../../src/import/types.js';
import { loadDirectory } from '../../src/spec/load.js';
import { expandReplica } from '../../src/spec/expand.js';
import { SUPERVISORD_MAPPING } from '../../src/import/supervisord.js';
import { runningPids } from '../helpers/daemon.js';
import {
  assertNothingWritten, assertReportComplete, assertValid, convertFixture, environOf, eventsWith, field, fixtureCopy, readSpecs,
  service, superviseImported, tendImport,
} from './helpers.js';

test('the minimal supervisord.conf: supervisord\'s defaults (autorestart=unexpected, startretries, 50 MB logs)', async (t) => {
  const dir = fixtureCopy(t, 'supervisord', 'minimal');
  const set = convertFixture('supervisord', join(dir, 'supervisord.conf'));
  assert.deepEqual(set.problems, []);
  assertReportComplete(set.fields);
  assert.equal(field(set.fields, 'foo', 'autorestart').outcome, 'converted');
  assert.match(field(set.fields, 'foo', 'autorestart').note, /default/);
  const r = await tendImport(dir, ['supervisord.conf']);
  assert.equal(r.code, 0, r.stderr);
  const specs = readSpecs(join(dir, 'services.d'));
  assert.equal(specs.get('foo')?.header[0], '# imported from supervisord.conf [program:foo] by tend import');
  assert.deepEqual(specs.get('foo')?.spec, {
    command: ['/bin/cat'],
    cwd: '..',
    restart: 'on-failure',
    backoff: { initial: '1s', factor: 2, reset_after: '1s' },
    max_restarts: 3,
    restart_window: '11s',
    stop_timeout: '10s',
    logs: { max_size: '50Mi', max_files: 10 },
  });
  await assertValid(join(dir, 'services.d'));
});

test('every documented supervisord option, expansions, includes, groups and event listeners', async (t) => {
  const dir = fixtureCopy(t, 'supervisord', 'full');
  const set = convertFixture('supervisord', join(dir, 'supervisord.conf'));
  assert.deepEqual(set.problems, []);
  assertReportComplete(set.fields);
  // %(process_num)02d cannot be a replica index: one service per process, named by process_name.
  assert.deepEqual(set.services.map((s) => s.name).sort(), ['cat_00', 'cat_01', 'cron', 'web']);
  assert.equal(field(set.fields, 'cat_00', 'numprocs').outcome, 'approximated');
  assert.equal(field(set.fields, 'cat_00', 'autorestart').outcome, 'approximated', 'exitcodes 0,2 with autorestart=unexpected');
  assert.equal(field(set.fields, 'cat_00', 'umask').outcome, 'dropped');
  assert.equal(field(set.fields, 'cat_00', 'stdout_capture_maxbytes').outcome, 'dropped');
  assert.equal(field(set.fields, 'cat_00', '%(ENV_HOME)s').outcome, 'approximated');
  assert.equal(field(set.fields, 'web', 'numprocs').outcome, 'converted');
  assert.equal(field(set.fields, 'web', 'stopasgroup').outcome, 'converted');
  assert.equal(field(set.fields, 'supervisord.conf [eventlistener:memmon]', '[eventlistener:memmon]').outcome, 'dropped');
  assert.equal(field(set.fields, 'supervisord.conf [supervisord]', 'environment').outcome, 'converted');
  assert.equal(field(set.fields, 'supervisord.conf [rpcinterface:supervisor]', '[rpcinterface:supervisor]').outcome, 'dropped');
  // Every option of [program:cat] is in the report.
  const catOptions = ['command', 'process_name', 'numprocs', 'numprocs_start', 'directory', 'umask', 'priority', 'autostart', 'startsecs', 'startretries',
    'autorestart', 'exitcodes', 'stopsignal', 'stopwaitsecs', 'stopasgroup', 'killasgroup', 'user', 'redirect_stderr', 'stdout_logfile',
    'stdout_logfile_maxbytes', 'stdout_logfile_backups', 'stdout_capture_maxbytes', 'stdout_events_enabled', 'stderr_logfile',
    'stderr_logfile_maxbytes', 'stderr_logfile_backups', 'stderr_capture_maxbytes', 'stderr_events_enabled', 'environment', 'serverurl'];
  for (const o of catOptions) field(set.fields, 'cat_01', o);

  const r = await tendImport(dir, ['supervisord.conf', '--strict']);
  assert.equal(r.code, 1, 'dropped fields fail --strict');
  assert.match(r.stderr, /--strict: some fields were dropped/);
  assertNothingWritten(join(dir, 'services.d'));
  const ok = await tendImport(dir, ['supervisord.conf']);
  assert.equal(ok.code, 0, ok.stderr);
  const specs = readSpecs(join(dir, 'services.d'));
  const cat1 = specs.get('cat_01')!.spec;
  assert.deepEqual(cat1.command, ['/bin/cat', '--id=01', '${HOME}']);
  assert.equal(cat1.cwd, '../tmp');
  assert.deepEqual(cat1.env, { KEY1: 'value1', KEY2: 'value two', A: '1', B: '2' });
  assert.equal(cat1.user, 'chrism');
  assert.deepEqual(cat1.logs, { max_size: '1Mi', max_files: 10 });
  assert.deepEqual(cat1.backoff, { initial: '1s', factor: 2, reset_after: '10s' });
  assert.deepEqual(cat1.labels, { group: 'backend' });
  assert.deepEqual(cat1.depends_on, { web: 'started' }, 'priority 999 starts after priority 1');
  const web = specs.get('web')!.spec;
  assert.deepEqual(web.command, ['gunicorn', 'app:application', '--bind', '127.0.0.1:80${TEND_REPLICA}']);
  assert.equal(web.replicas, 3);
  assert.equal(web.restart, 'always');
  assert.equal(web.depends_on, undefined);
  // Python's shlex keeps the quotes of 'say "hi"' and supervisord strips quote characters at both ends.
  assert.deepEqual(web.env, { KEY1: 'value1', KEY2: 'value two', PYTHONPATH: dir, GREETING: 'say "hi' });
  const cron = specs.get('cron')!.spec;
  assert.equal(specs.get('cron')?.header[0], '# imported from conf.d/cron.conf [program:cron] by tend import');
  assert.deepEqual(cron.command, ['cron', '-f', '-L', '15', '$$HOME'], 'supervisord passes $HOME literally');
  assert.equal(cron.replicas, 0);
  assert.equal(cron.restart, 'never');
  assert.equal(cron.stop_signal, 'SIGKILL');
  assert.deepEqual(await assertValid(join(dir, 'services.d')), ['cat_00', 'cat_01', 'cron', 'web']);
});

test('bad INI, unknown keys and an include loop: file:line:col, nothing written', async (t) => {
  const cases: [string, RegExp[]][] = [
    ['bad-ini', [/^supervisord\.conf:3:1: INI: expected `key = value` or a \[section\] header, got "this line is not an option"$/m]],
    ['unknown-key', [/^supervisord\.conf:3:1: unknown key "autorestrat" in \[program:web\]$/m, /^supervisord\.conf:4:10: %\(process_num\) must be present within process_name when numprocs > 1$/m]],
    ['include-loop', [/^b\.conf:2:9: include loop: supervisord\.conf → a\.conf → b\.conf → a\.conf$/m]],
  ];
  for (const [name, expected] of cases) {
    const dir = fixtureCopy(t, 'supervisord', name);
    const r = await tendImport(dir, ['supervisord.conf']);
    assert.equal(r.code, 1, name);
    for (const e of expected) assert.match(r.stderr, e, name);
    assert.match(r.stderr, /nothing written/);
    assertNothingWritten(join(dir, 'services.d'));
  }
});

// supervisord expands %(ENV_X)s once, from its own environment, when it loads the file; the
// program's environment= never feeds it. tend's ${X} would take an X that environment= sets.
test('%(ENV_X)s means supervisord\'s environment even where the program\'s environment= sets X, and the report says how', async (t) => {
  const conf = [
    '[program:app]',
    'command=/bin/echo --home %(ENV_HOME)s',
    'directory=%(ENV_HOME)s',
    'environment=HOME="/app",SECRET_PATH="%(ENV_HOME)s/secret",PATH="/app/bin:%(ENV_PATH)s"',
    '[program:swap]',
    'command=/bin/true',
    'environment=A="%(ENV_B)s",B="%(ENV_A)s"',
    '[program:www]',
    'command=/bin/echo %(ENV_HOME)s',
    'user=nobody',
    '',
  ].join('\n');
  const dir = tempDir(t, { 'supervisord.conf': conf });
  const r = await tendImport(dir, ['supervisord.conf', '--report', 'json']);
  assert.equal(r.code, 0, r.stderr);
  const loaded = await loadDirectory(join(dir, 'services.d'));
  assert.deepEqual(loaded.problems, []);
  // The environment supervisord (here: tend) runs in.
  const outer = { HOME: '/root', PATH: '/usr/bin', A: 'outer-a', B: 'outer-b' };
  const launch = (name: string) => expandReplica(loaded.services.find((s) => s.name === name)!, 0, outer);

  const app = launch('app');
  assert.equal(app.env.SECRET_PATH, '/root/secret', 'supervisord gives /root/secret, not /app/secret');
  assert.equal(app.env.HOME, '/app');
  assert.equal(app.env.PATH, '/app/bin:/usr/bin');
  assert.deepEqual(app.argv, ['/bin/echo', '--home', '/root']);
  assert.equal(app.cwd, '/root');
  const swap = launch('swap');
  assert.deepEqual([swap.env.A, swap.env.B], ['outer-b', 'outer-a']);

  const report = JSON.parse(r.stdout) as { fields: FieldReport[] };
  const rows = (svc: string) => report.fields.filter((f) => f.service === svc && f.field === '%(ENV_HOME)s');
  const notes = rows('app').map((f) => `${f.outcome} | ${f.to} | ${f.note}`).join('\n');
  assert.match(notes, /^approximated \| \$\{HOME\} \| .*written before it in env.*\(SECRET_PATH is written before HOME: its \$\{HOME\} is tend's HOME, not this program's HOME=\/app\)$/m);
  assert.match(notes, /^approximated \| \$\{SUPERVISORD_ENV_HOME\} \| .*env starts with SUPERVISORD_ENV_x: \$\{x\}.*\(in command: \$\{SUPERVISORD_ENV_HOME\} is tend's HOME, not this program's HOME=\/app\)$/m);
  assert.match(notes, /^approximated \| \$\{SUPERVISORD_ENV_HOME\} \| .*\(in directory: \$\{SUPERVISORD_ENV_HOME\} is tend's HOME, not this program's HOME=\/app\)$/m);
  assert.equal(rows('app').length, 3, 'one row per place HOME is used');
  assert.match(rows('www').map((f) => f.note).join('\n'), /with user=, tend sets x to that user's .*\(user nobody: \$\{HOME\} in command is nobody's HOME\)$/m);
  // PATH="/app/bin:%(ENV_PATH)s" uses itself: tend's PATH is the one there when it is expanded, the plain row.
  assert.equal(report.fields.find((f) => f.service === 'app' && f.field === '%(ENV_PATH)s')?.note, SUPERVISORD_MAPPING.find((m) => m.key === 'ENV_x')!.note);
});

test('imported supervisord programs run in priority order with numprocs replicas and supervisord\'s restart rules', { timeout: 90_000 }, async (t) => {
  const dir = fixtureCopy(t, 'supervisord', 'run');
  const r = await tendImport(dir, ['supervisord.conf']);
  assert.equal(r.code, 0, r.stderr);
  const services = join(dir, 'services.d');
  const d = await superviseImported(t, services);
  const s = await waitFor(async () => {
    const x = await d.status();
    return runningPids(x, 'worker').length === 3 && runningPids(x, 'queue').length === 1 && service(x, 'job').replicas[0]?.state === 'stopped' ? x : undefined;
  }, { what: 'queue, 3 workers running and the job done', timeoutMs: 30_000 });
  assert.ok(existsSync(join(dir, 'conf.d', 'job.txt')), '%(here)s pointed at the directory of job.conf');
  assert.match(service(s, 'job').replicas[0]!.reason ?? '', /exit code 0.*on-failure|on-failure/);
  const workers = service(s, 'worker').replicas;
  for (const w of workers) {
    const env = environOf(w.pid!);
    assert.equal(env.WORKER_ID, String(w.index));
    assert.equal(env.STACK, 'imported');
  }
  // Priority order: queue (1) started before any worker or the job (10).
  const events = await eventsWith(services, [['replica.started', 'queue'], ['replica.started', 'worker'], ['replica.started', 'job']]);
  const first = (svc: string) => events.findIndex((e) => e.type === 'replica.started' && e.service === svc);
  assert.ok(first('queue') >= 0 && first('queue') < first('worker') && first('queue') < first('job'), 'queue starts first');
  // autorestart=true: a killed worker comes back.
  const w1 = workers.find((w) => w.index === 1)!;
  process.kill(w1.pid!, 'SIGKILL');
  await waitFor(async () => {
    const x = await d.status();
    const r1 = service(x, 'worker').replicas.find((y) => y.index === 1);
    return r1?.state === 'running' && r1.pid !== w1.pid;
  }, { what: 'worker/1 restarted', timeoutMs: 15_000 });
});
