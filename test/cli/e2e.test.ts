// End to end: the real CLI drives a real detached daemon in a temp directory, from `up -d --wait`
// to `down`, with real replicas (test/fixtures/bin). Every pid the test sees is killed by process
// group afterwards, pass or fail.

import assert from 'node:assert/strict';
import { cpSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { test } from 'node:test';
import { ApiClient } from '../../src/api/client.js';
import type { StatusReport } from '../../src/api/types.js';
import { FIXTURE_BIN, NODE, isAlive, procState, processReaper, tempDir, waitFor, writeFiles } from '../helpers/index.js';
import { runCli, startCli } from './run-cli.js';

function specs(dir: string): Record<string, string> {
  const run = (script: string, ...args: (string | number)[]) => JSON.stringify([NODE, join(FIXTURE_BIN, script), ...args.map(String)]);
  // cwd is explicit so that a copy of the directory (for plan) differs only where the test edits it.
  return {
    'db.yaml': `command: ${run('forever.mjs')}\ncwd: ${dir}\nenv:\n  LOG_LEVEL: info\nstop_timeout: 2s\n`,
    'web.yaml': `# two printers, one line every 50 ms\ncommand: ${run('print-lines.mjs', 0, 50)}\ncwd: ${dir}\nreplicas: 2   # scaled by the test\ndepends_on: [db]\nstop_timeout: 2s\nbackoff: { initial: 10ms }\n`,
    'old.yaml': `command: ${run('forever.mjs')}\ncwd: ${dir}\nstop_timeout: 2s\n`,
  };
}

test('tend end to end: up -d --wait, status, logs, plan, scale, replica operations, events, down', { timeout: 600_000 }, async (t) => {
  const dir = tempDir(t);
  const reaper = processReaper(t);
  const files = specs(dir);
  writeFiles(join(dir, 'services.d'), files);
  const status = async (): Promise<StatusReport> => {
    const r = await runCli(dir, ['status', '-o', 'json']);
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(r.stdout) as StatusReport;
    for (const s of report.services) for (const rep of s.replicas) if (rep.pid !== null) reaper.track(rep.pid, true);
    return report;
  };
  const replica = (report: StatusReport, svc: string, index: number) =>
    report.services.find((s) => s.name === svc)?.replicas.find((r) => r.index === index);

  const up = await runCli(dir, ['up', '-d', '--wait', '--timeout', '30s', '--settle', '50ms']);
  const daemonPid = Number(readFileSync(join(dir, '.tend', 'tend.pid'), 'utf8').split('\n')[0]);
  reaper.track(daemonPid, true);
  assert.equal(up.code, 0, up.stdout + up.stderr);
  assert.match(up.stdout, /tend daemon started \(pid \d+\)/);
  assert.match(up.stdout, /web 2\/2 ready/);
  assert.match(up.stdout, /converged\n$/);

  await t.test('the socket has mode 0600 and a second daemon is refused', async () => {
    assert.equal(statSync(join(dir, '.tend', 'tend.sock')).mode & 0o777, 0o600);
    const again = await runCli(dir, ['up', '-d']);
    assert.equal(again.code, 6);
    assert.match(again.stderr, /already supervises/);
  });

  await t.test('status as a table and as JSON', async () => {
    const table = await runCli(dir, ['status']);
    assert.equal(table.code, 0, table.stderr);
    const lines = table.stdout.trimEnd().split('\n');
    assert.match(lines[0] ?? '', /^NAME\s+READY\s+STATE\s+RESTARTS\s+CPU\s+MEM\s+AGE$/);
    assert.match(table.stdout, /\nweb\s+2\/2\s+running\s+0\s/);
    assert.match(table.stdout, /\ndb\s+1\/1\s+running\s+0\s/);
    const report = await status();
    assert.equal(report.converged, true);
    assert.deepEqual(report.errors, []);
    const web = report.services.find((s) => s.name === 'web');
    assert.equal(web?.replicas_desired, 2);
    assert.equal(web?.ready, 2);
    for (const key of ['index', 'state', 'pid', 'ready', 'restarts', 'started_at', 'exit_code', 'reason']) {
      assert.ok(web?.replicas[0] && key in web.replicas[0], `replica field ${key}`);
    }
    const one = await runCli(dir, ['status', 'web']);
    assert.match(one.stdout, /INDEX\s+STATE\s+PID\s+READY\s+RESTARTS\s+AGE\s+REASON\n0\s+running\s+\d+\s+yes/);
  });

  await t.test('logs -f receives new lines with svc/n prefixes', async () => {
    const follower = startCli(dir, ['logs', 'web/0', '-f', '-n', '1']);
    reaper.track(follower.pid);
    try {
      const numbers = await waitFor(
        () => {
          const seen = [...follower.output().matchAll(/^web\/0 \| line (\d+)$/gm)].map((m) => Number(m[1]));
          return seen.length >= 3 ? seen : undefined;
        },
        { timeoutMs: 60_000, what: 'three lines from web/0' },
      );
      assert.ok(numbers.every((n, i) => i === 0 || n === (numbers[i - 1] as number) + 1), `consecutive: ${numbers.join(',')}`);
      assert.doesNotMatch(follower.output(), /web\/1/);
    } finally {
      follower.stop();
    }
  });

  await t.test('plan on a changed copy lists exactly the changes and exits 2', async () => {
    const next = join(dir, 'next.d');
    cpSync(join(dir, 'services.d'), next, { recursive: true });
    rmSync(join(next, 'old.yaml'));
    writeFileSync(join(next, 'db.yaml'), files['db.yaml']!.replace('LOG_LEVEL: info', 'LOG_LEVEL: debug'));
    writeFileSync(join(next, 'web.yaml'), files['web.yaml']!.replace('replicas: 2 ', 'replicas: 3 '));
    writeFileSync(join(next, 'extra.yaml'), files['old.yaml']!);
    const r = await runCli(dir, ['plan', next, '--exit-code']);
    assert.equal(r.code, 2, r.stderr);
    assert.equal(r.stdout, '~ db replace (env.LOG_LEVEL changed)\n+ extra/0 start\n- old stop\n= web scale 2 → 3\n');
    const same = await runCli(dir, ['plan', join(dir, 'services.d'), '--exit-code']);
    assert.equal(same.code, 0, same.stdout + same.stderr);
    assert.equal(same.stdout, 'no changes\n');
  });

  await t.test('a bad request gets a 4xx and /metrics is Prometheus text', async () => {
    const socket = join(dir, '.tend', 'tend.sock');
    const status = await new Promise<number>((resolve, reject) => {
      const req = request({ socketPath: socket, method: 'POST', path: '/v1/plan' }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.end('{"dir":');
    });
    assert.equal(status, 400);
    const text = await new ApiClient(socket).metrics();
    assert.match(text, /^# TYPE tend_replicas gauge$/m);
    assert.match(text, /^tend_service_ready_replicas\{service="web"\} 2$/m);
    assert.match(text, /^tend_reconcile_pass_duration_seconds_count [1-9]\d*$/m);
  });

  await t.test('events: history, and -f streams what happens next', async () => {
    const history = await runCli(dir, ['events', '-n', '50', '-o', 'json']);
    assert.equal(history.code, 0, history.stderr);
    const types = history.stdout.trim().split('\n').map((l) => (JSON.parse(l) as { type: string }).type);
    assert.ok(types.includes('replica.ready'), types.join(','));
    const follower = startCli(dir, ['events', '-f', '-n', '0', '-o', 'json']);
    reaper.track(follower.pid);
    try {
      // The stream is open once the daemon has sent its headers; a restart then shows up in it.
      const before = (await status()).services.find((s) => s.name === 'old')?.replicas[0]?.pid;
      await waitFor(async () => {
        const r = await runCli(dir, ['restart', 'old']);
        return r.code === 0 && /"service":"old"/.test(follower.output());
      }, { timeoutMs: 20_000, intervalMs: 500, what: 'an event about old in the live stream' });
      await waitFor(async () => {
        const pid = replica(await status(), 'old', 0)?.pid;
        return pid !== null && pid !== before;
      }, { timeoutMs: 60_000, what: 'old/0 restarted' });
    } finally {
      follower.stop();
    }
  });

  await t.test('restart, pause, resume and kill act on one replica', async () => {
    const before = await status();
    const web0 = replica(before, 'web', 0)?.pid;
    const web1 = replica(before, 'web', 1)?.pid;
    assert.ok(web0 && web1);

    const restart = await runCli(dir, ['restart', 'web/1']);
    assert.equal(restart.code, 0, restart.stderr);
    const afterRestart = await waitFor(async () => {
      const s = await status();
      const r = replica(s, 'web', 1);
      return r?.pid && r.pid !== web1 && r.ready ? s : undefined;
    }, { timeoutMs: 15_000, what: 'web/1 restarted and ready' });
    assert.equal(replica(afterRestart, 'web', 0)?.pid, web0, 'web/0 untouched');

    assert.equal((await runCli(dir, ['pause', 'web/0'])).code, 0);
    await waitFor(async () => replica(await status(), 'web', 0)?.state === 'paused' && procState(web0) === 'T', { what: 'web/0 paused' });
    assert.equal((await runCli(dir, ['resume', 'web/0'])).code, 0);
    await waitFor(async () => replica(await status(), 'web', 0)?.state === 'running' && procState(web0) !== 'T', { what: 'web/0 resumed' });

    const db = replica(before, 'db', 0)?.pid;
    assert.ok(db);
    const kill = await runCli(dir, ['kill', 'db', '-s', 'KILL']);
    assert.equal(kill.code, 0, kill.stderr);
    assert.equal(kill.stdout, 'signalled db (SIGKILL)\n');
    await waitFor(() => !isAlive(db), { what: 'db killed' });
    await waitFor(async () => {
      const r = replica(await status(), 'db', 0);
      return r?.pid && r.pid !== db && r.state === 'running';
    }, { timeoutMs: 15_000, what: 'db restarted after SIGKILL' });

    const unknown = await runCli(dir, ['restart', 'nope']);
    assert.equal(unknown.code, 4);
    assert.match(unknown.stderr, /^tend: no service .*"nope"/);
  });

  await t.test('scale with a daemon: the file changes, one replica is added, the others keep running', async () => {
    const before = await status();
    const pids = [0, 1].map((i) => replica(before, 'web', i)?.pid);
    const r = await runCli(dir, ['scale', 'web=3']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(readFileSync(join(dir, 'services.d', 'web.yaml'), 'utf8'), files['web.yaml']!.replace('replicas: 2 ', 'replicas: 3 '));
    const after = await waitFor(async () => {
      const s = await status();
      const web = s.services.find((x) => x.name === 'web');
      return web?.replicas_desired === 3 && web.ready === 3 ? s : undefined;
    }, { timeoutMs: 20_000, what: 'web at 3/3 ready' });
    assert.deepEqual([0, 1].map((i) => replica(after, 'web', i)?.pid), pids);
  });

  await t.test('a mistyped service name is told the closest one, by every command', async () => {
    for (const args of [['status', 'wbe'], ['logs', 'wbe'], ['restart', 'wbe'], ['inspect', 'wbe'], ['logs', 'web', 'wbe'], ['scale', 'wbe=1']]) {
      const r = await runCli(dir, args);
      assert.equal(r.code, 4, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, /^tend: no service named "wbe"( in \S+)?, did you mean "web"\?\n$/, args.join(' '));
    }
    assert.equal((await runCli(dir, ['status', 'zzzzzz'])).stderr, 'tend: no service named "zzzzzz"\n', 'no guess when nothing is close');
  });

  await t.test('down stops every replica and the daemon', async () => {
    const last = await status();
    const pids = last.services.flatMap((s) => s.replicas.map((r) => r.pid)).filter((p): p is number => p !== null);
    assert.ok(pids.length >= 5);
    const down = await runCli(dir, ['down']);
    assert.equal(down.code, 0, down.stderr);
    assert.match(down.stdout, /tend daemon stopped\n$/);
    assert.equal(isAlive(daemonPid), false);
    for (const pid of pids) assert.equal(isAlive(pid), false, `replica pid ${pid}`);
    const after = await runCli(dir, ['status']);
    assert.equal(after.code, 3);
  });
});

test('up -d --wait exits 1 with the reason when a service fails, and down still cleans up', { timeout: 60_000 }, async (t) => {
  const dir = tempDir(t);
  const reaper = processReaper(t);
  writeFiles(join(dir, 'services.d'), {
    'crash.yaml': `command: ["${join(dir, 'no-such-binary')}"]\n`,
    'fine.yaml': `command: ${JSON.stringify([NODE, join(FIXTURE_BIN, 'forever.mjs')])}\n`,
  });
  const up = await runCli(dir, ['up', '-d', '--wait', '--timeout', '30s']);
  reaper.track(Number(readFileSync(join(dir, '.tend', 'tend.pid'), 'utf8').split('\n')[0]), true);
  assert.equal(up.code, 1, up.stdout + up.stderr);
  assert.match(up.stderr, /^tend: crash failed \(crash\/0: .+\)$/m);
  const down = await runCli(dir, ['down']);
  assert.equal(down.code, 0, down.stderr);
});
