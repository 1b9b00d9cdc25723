// `tend logs` against a real daemon and real replicas: every service in time order, --timestamps,
// --since/--until, a separator between runs, and -f that shows a stopping replica's last lines.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { StatusReport } from '../../src/api/types.js';
import { FIXTURE_BIN, NODE, processReaper, tempDir, waitFor, writeFiles } from '../helpers/index.js';
import { runCli, startCli } from './run-cli.js';

const run = (script: string, ...args: (string | number)[]) => JSON.stringify([NODE, join(FIXTURE_BIN, script), ...args.map(String)]);

test('tend logs: all services in time order, timestamps, since/until, run separators, -f through a restart', { timeout: 600_000 }, async (t) => {
  const dir = tempDir(t);
  const reaper = processReaper(t);
  writeFiles(join(dir, 'services.d'), {
    'ticker.yaml': `command: ${run('print-lines.mjs', 0, 40)}\nstop_timeout: 2s\n`,
    'greeter.yaml': `command: ${run('say-bye.mjs')}\nstop_timeout: 5s\n`,
  });
  const up = await runCli(dir, ['up', '-d', '--wait', '--timeout', '30s', '--settle', '50ms']);
  reaper.track(Number(readFileSync(join(dir, '.tend', 'tend.pid'), 'utf8').split('\n')[0]), true);
  assert.equal(up.code, 0, up.stdout + up.stderr);
  const pidOf = async (svc: string) => {
    const s = JSON.parse((await runCli(dir, ['status', '-o', 'json'])).stdout) as StatusReport;
    const pid = s.services.find((x) => x.name === svc)?.replicas[0]?.pid ?? null;
    if (pid !== null) reaper.track(pid, true);
    return pid;
  };
  const firstGreeter = await waitFor(() => pidOf('greeter'), { what: 'greeter pid', timeoutMs: 60_000 });

  await t.test('with no service: every service, interleaved in time order', async () => {
    await waitFor(async () => /ticker\/0 \| line 5\b/.test((await runCli(dir, ['logs'])).stdout), { what: 'six ticker lines', timeoutMs: 60_000 });
    const r = await runCli(dir, ['logs', '-t']);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trimEnd().split('\n');
    assert.ok(lines.some((l) => /^greeter\/0 \| \S+Z up \d+$/.test(l)), r.stdout);
    assert.ok(lines.some((l) => /^ticker\/0 \| \S+Z line 0$/.test(l)), r.stdout);
    const stamps = lines.filter((l) => !l.includes('new run')).map((l) => Date.parse(/\| (\S+) /.exec(l)![1]!));
    assert.ok(stamps.every((s) => !Number.isNaN(s)));
    for (let i = 1; i < stamps.length; i++) assert.ok(stamps[i]! >= stamps[i - 1]!, `line ${i} goes back in time:\n${r.stdout}`);
  });

  await t.test('--since and --until select by the time a line was written', async () => {
    const recent = await runCli(dir, ['logs', 'ticker', '--since', '1h']);
    assert.match(recent.stdout, /^ticker\/0 \| line 0$/m);
    const future = await runCli(dir, ['logs', '--since', '2999-01-01T00:00:00Z']);
    assert.equal(future.code, 0, future.stderr);
    assert.equal(future.stdout, '');
    const past = await runCli(dir, ['logs', '--until', '1h']);
    assert.equal(past.stdout, '');
    const bad = await runCli(dir, ['logs', '--since', 'yesterday-ish']);
    assert.equal(bad.code, 5);
    assert.match(bad.stderr, /^tend: expected --since to be a duration ago/);
  });

  await t.test('-f shows the last lines a replica writes while it stops, then a separator and the new run', async () => {
    const follower = startCli(dir, ['logs', 'greeter', '-f']);
    reaper.track(follower.pid);
    try {
      await waitFor(() => follower.output().includes(`up ${firstGreeter}`), { what: 'the first run in -f', timeoutMs: 60_000 });
      const restart = await runCli(dir, ['restart', 'greeter']);
      assert.equal(restart.code, 0, restart.stderr);
      const second = await waitFor(async () => {
        const pid = await pidOf('greeter');
        return pid !== null && pid !== firstGreeter ? pid : undefined;
      }, { what: 'a new greeter', timeoutMs: 60_000 });
      const out = await waitFor(() => (follower.output().includes(`up ${second}`) ? follower.output() : undefined), { what: 'the new run in -f', timeoutMs: 60_000 });
      const bye = out.indexOf(`greeter/0 | bye ${firstGreeter}\n`);
      const sep = bye < 0 ? -1 : bye + out.slice(bye).search(/greeter\/0 \| ──── new run, started \d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} ────\n/);
      const again = out.indexOf(`greeter/0 | up ${second}\n`);
      assert.ok(bye >= 0 && sep > bye && again > sep, out);
    } finally {
      follower.stop();
    }
    // The history shows the same separator between the two runs.
    const history = await runCli(dir, ['logs', 'greeter']);
    assert.match(history.stdout, new RegExp(`up ${firstGreeter}\\ngreeter/0 \\| bye ${firstGreeter}\\ngreeter/0 \\| ──── new run, started [^\\n]+ ────\\ngreeter/0 \\| up \\d+\\n`));
  });

  await t.test('several targets, and an unknown one', async () => {
    const both = await runCli(dir, ['logs', 'greeter', 'ticker/0', '-n', '2']);
    assert.equal(both.code, 0, both.stderr);
    assert.match(both.stdout, /^greeter\/0 \| /m);
    assert.match(both.stdout, /^ticker\/0 \| line \d+$/m);
    const nope = await runCli(dir, ['logs', 'nope']);
    assert.equal(nope.code, 4);
  });

  const down = await runCli(dir, ['down']);
  assert.equal(down.code, 0, down.stderr);
});
