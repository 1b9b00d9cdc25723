// The commands a docker compose or PM2 user reaches for, against a real daemon and real replicas:
// status columns and -l, inspect (masking, the release directory), exec, restart --wait,
// scale --wait in a git checkout (warning, --commit), daemon-log.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { InspectReport } from '../../src/api/inspect.js';
import type { StatusReport } from '../../src/api/types.js';
import { FIXTURE_BIN, NODE, processReaper, tempDir, writeFiles } from '../helpers/index.js';
import { runCli } from './run-cli.js';

const forever = JSON.stringify([NODE, join(FIXTURE_BIN, 'forever.mjs')]);

test('status columns, inspect, exec, restart --wait, scale --wait --commit, daemon-log', { timeout: 600_000 }, async (t) => {
  const dir = tempDir(t);
  const reaper = processReaper(t);
  // services.d is a release symlink, and the release is a git checkout.
  const release = join(dir, 'releases', '1');
  writeFiles(release, {
    'web.yaml': [
      `command: ${forever}`,
      'replicas: 2',
      'ports: { http: 18080 }',
      'labels: { tier: front, team: core }',
      'env:',
      '  LOG_LEVEL: info',
      '  DB_PASSWORD: hunter2-very-secret',
      '  DATABASE_URL: postgres://app:s3cr3t-pw@db:5432/app',
      'stop_timeout: 2s',
      '',
    ].join('\n'),
    'worker.yaml': `command: ${forever}\nlabels: { tier: back }\nstop_timeout: 2s\n`,
  });
  symlinkSync(release, join(dir, 'services.d'));
  const git = (...args: string[]) => execFileSync('git', ['-C', dir, ...args], { encoding: 'utf8', env: { ...process.env, GIT_CONFIG_GLOBAL: '/dev/null' } });
  git('init', '-q');
  git('config', 'user.email', 'test@example.com');
  git('config', 'user.name', 'Test');
  git('add', 'releases');
  git('commit', '-qm', 'release 1');

  const up = await runCli(dir, ['up', '-d', '--wait', '--timeout', '30s', '--settle', '50ms']);
  reaper.track(Number(readFileSync(join(dir, '.tend', 'tend.pid'), 'utf8').split('\n')[0]), true);
  assert.equal(up.code, 0, up.stdout + up.stderr);
  const status = async () => {
    const s = JSON.parse((await runCli(dir, ['status', '-o', 'json'])).stdout) as StatusReport;
    for (const svc of s.services) for (const r of svc.replicas) if (r.pid !== null) reaper.track(r.pid, true);
    return s;
  };
  await status();

  await t.test('status shows ports and labels, and -l filters by label', async () => {
    const all = await runCli(dir, ['status']);
    assert.match(all.stdout, /^NAME\s+READY\s+STATE\s+RESTARTS\s+CPU\s+MEM\s+AGE\s+PORTS\s+LABELS$/m);
    assert.match(all.stdout, /^web\s+2\/2\s+running\s.*http=18080-18081\s+team=core,tier=front$/m);
    assert.match(all.stdout, /^worker\s+1\/1\s+running\s.*-\s+tier=back$/m);
    const front = await runCli(dir, ['status', '-l', 'tier=front']);
    assert.match(front.stdout, /^web\s/m);
    assert.doesNotMatch(front.stdout, /^worker\s/m);
    const has = await runCli(dir, ['status', '-l', 'team']);
    assert.doesNotMatch(has.stdout, /^worker\s/m);
    const none = await runCli(dir, ['status', '-l', 'tier=nope']);
    assert.match(none.stdout, /^no service with the label tier=nope \(of 2 in \S+\)$/m, 'there are services, none with the label');
    const one = await runCli(dir, ['status', 'web']);
    assert.match(one.stdout, /^INDEX\s+STATE\s+PID\s+READY\s+RESTARTS\s+AGE\s+PORTS\s+REASON$/m);
    assert.match(one.stdout, /^1\s+running\s+\d+\s+yes\s+0\s+\S+\s+http=18081/m);
  });

  await t.test('inspect: the effective spec, masked secrets, per-replica argv, ports and env, the release directory', async () => {
    const r = await runCli(dir, ['inspect', 'web', '-o', 'json']);
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(r.stdout) as InspectReport;
    assert.equal(report.loaded_from, release);
    assert.equal(report.spec['replicas'], 2);
    assert.equal((report.spec['stop_timeout_ms'] as number), 2000);
    assert.deepEqual(report.spec['env'], { LOG_LEVEL: 'info', DB_PASSWORD: '******', DATABASE_URL: 'postgres://app:******@db:5432/app' });
    assert.equal(report.masked, true);
    assert.equal(report.replicas.length, 2);
    const r1 = report.replicas[1]!;
    assert.deepEqual(r1.argv, [NODE, join(FIXTURE_BIN, 'forever.mjs')]);
    assert.equal(r1.cwd, release);
    assert.deepEqual(r1.ports, { http: 18081 });
    assert.equal(r1.env['http'], '18081');
    assert.equal(r1.env['TEND_REPLICA'], '1');
    assert.equal(r1.env['DB_PASSWORD'], '******');
    assert.ok(r1.inherited_env_keys.includes('PATH'));
    assert.ok(!JSON.stringify(report).includes('hunter2'));
    assert.ok(!JSON.stringify(report).includes('TEND_STATE_DIR'));
    const shown = JSON.parse((await runCli(dir, ['inspect', 'web/1', '-o', 'json', '--show-secrets'])).stdout) as InspectReport;
    assert.equal(shown.replicas.length, 1);
    assert.equal(shown.replicas[0]!.env['DB_PASSWORD'], 'hunter2-very-secret');
    const text = await runCli(dir, ['inspect', 'web']);
    assert.match(text.stdout, /^loaded from: .*releases\/1$/m);
    assert.match(text.stdout, /^web\/0 \(pid \d+\)$/m);
    assert.match(text.stdout, /^ {4}DB_PASSWORD=\*{6}$/m);
    assert.match(text.stdout, /--show-secrets shows them/);
    assert.equal((await runCli(dir, ['inspect', 'nope'])).code, 4);
  });

  await t.test('exec runs with the replica\'s env and cwd and passes the exit code through', async () => {
    const r = await runCli(dir, ['exec', 'web/1', '--', NODE, '-e', 'console.log(process.env.http, process.env.TEND_REPLICA, process.env.DB_PASSWORD, process.cwd()); process.exit(3)']);
    assert.equal(r.code, 3, r.stderr);
    assert.equal(r.stdout, `18081 1 hunter2-very-secret ${release}\n`);
    const missing = await runCli(dir, ['exec', 'web/0', '--', 'no-such-command-xyz']);
    assert.equal(missing.code, 127);
    assert.match(missing.stderr, /^tend: command not found: no-such-command-xyz/);
    // As `docker compose exec web ls -l` is typed: no `--`; what follows the target is the command's.
    for (const [args, out] of [
      [['exec', 'web', 'sh', '-c', 'echo hi $TEND_REPLICA'], 'hi 0\n'],
      [['exec', 'web/1', 'echo', '--help', '-u', 'x'], '--help -u x\n'],
      [['--state-dir', join(dir, '.tend'), 'exec', 'web/1', 'env', '-u', 'DB_PASSWORD', 'sh', '-c', 'echo ${DB_PASSWORD:-none}'], 'none\n'],
    ] as const) {
      const r = await runCli(dir, [...args]);
      assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
      assert.equal(r.stdout, out, args.join(' '));
    }
  });

  await t.test('restart --wait returns once the replicas run again, ready', async () => {
    const before = (await status()).services.find((s) => s.name === 'worker')!.replicas[0]!.pid;
    const r = await runCli(dir, ['restart', 'worker', '--wait', '--timeout', '30s']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /^worker\/0: running, ready \(pid \d+\)$/m);
    assert.match(r.stdout, /restart of worker: done\n$/);
    const after = (await status()).services.find((s) => s.name === 'worker')!.replicas[0]!;
    assert.notEqual(after.pid, before);
    assert.equal(after.ready, true);
  });

  await t.test('scale in a git checkout warns that the tree is dirty; --commit commits just that file; --wait waits', async () => {
    const warned = await runCli(dir, ['scale', 'worker=2', '--wait', '--timeout', '30s']);
    assert.equal(warned.code, 0, warned.stderr);
    assert.match(warned.stderr, /^warning: releases\/1\/worker\.yaml is tracked by git .* and now differs from it; commit it \(tend scale --commit\)/m);
    assert.match(warned.stdout, /^worker: 2\/2 ready \(running\)$/m);
    assert.match(git('status', '--porcelain'), /^ M releases\/1\/worker\.yaml$/m);
    git('checkout', '--', 'releases/1/worker.yaml');
    // Something else staged stays out of tend's commit.
    writeFiles(dir, { 'notes.txt': 'not mine\n' });
    git('add', 'notes.txt');
    const committed = await runCli(dir, ['scale', 'web=3', '--commit', '--wait', '--timeout', '30s']);
    assert.equal(committed.code, 0, committed.stderr);
    assert.match(committed.stdout, /^committed releases\/1\/web\.yaml as [0-9a-f]+: tend scale: web: replicas 2 → 3$/m);
    assert.equal(git('log', '-1', '--format=%s').trim(), 'tend scale: web: replicas 2 → 3');
    assert.equal(git('show', '--name-only', '--format=', 'HEAD').trim(), 'releases/1/web.yaml');
    assert.match(git('status', '--porcelain'), /^A  notes\.txt$/m);
    assert.doesNotMatch(git('status', '--porcelain'), /web\.yaml/);
    const s = await status();
    assert.equal(s.services.find((x) => x.name === 'web')!.ready, 3);
  });

  await t.test('scale --wait exits 1 when the target is not reached in time', async () => {
    writeFiles(release, { 'slow.yaml': `command: ${forever}\nreadiness: { exec: [sh, -c, "exit 1"], interval: 100ms }\nstop_timeout: 2s\n` });
    const r = await runCli(dir, ['scale', 'slow=1', '--wait', '--timeout', '1s']);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stderr, /^tend: timed out after 1s waiting for slow at 1 replicas$/m);
  });

  await t.test('daemon-log renders tend.log with local times', async () => {
    const r = await runCli(dir, ['daemon-log', '-n', '5']);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trimEnd().split('\n');
    assert.equal(lines.length, 5);
    for (const l of lines) assert.match(l, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} (INFO |WARN |ERROR|DEBUG) \S/);
    const raw = await runCli(dir, ['daemon-log', '-n', '1', '-o', 'json']);
    assert.equal(typeof (JSON.parse(raw.stdout) as { time: number }).time, 'number');
  });

  const down = await runCli(dir, ['down']);
  assert.equal(down.code, 0, down.stderr);
});
