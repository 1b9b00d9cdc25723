// `tend history`: from the events a real daemon persisted, and across the rotated file.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { specDir, tempDir, waitFor } from '../helpers/index.js';
import { startDaemon } from '../helpers/daemon.js';
import { runCli } from './run-cli.js';
import type { TendEvent } from '../../src/api/types.js';

test('history of a crashing service: restarts, exits with their codes, the failure and the alert, as a table and as JSON', async (t) => {
  const { root, dir, state } = specDir(t, {
    'crash.yaml': 'command: ["sh", "-c", "exit 3"]\nbackoff: { initial: 10ms, max: 20ms }\nmax_restarts: 2\nrestart_window: 1m\n',
    'other.yaml': 'command: ["sleep", "1000"]\n',
  });
  const d = await startDaemon(t, dir, state);
  await waitFor(async () => (await d.status()).alerts?.some((a) => a.alert === 'crash_loop'), { what: 'crash loop alert', timeoutMs: 15_000 });

  const json = await runCli(root, ['--state-dir', state, 'history', 'crash', '-o', 'json']);
  assert.equal(json.code, 0, json.stderr);
  const h = JSON.parse(json.stdout) as { service: string; replica: null; events: TendEvent[] };
  assert.equal(h.service, 'crash');
  const types = h.events.map((e) => e.type);
  assert.ok(h.events.every((e) => e.service === 'crash'), 'only this service');
  assert.equal(types.filter((x) => x === 'replica.restarting').length, 2);
  const exits = h.events.filter((e) => e.type === 'replica.exited');
  assert.equal(exits.length, 3);
  assert.ok(exits.every((e) => e.exit_code === 3));
  assert.ok(types.includes('replica.failed'));
  assert.ok(types.includes('alert.firing'));
  assert.ok(types.indexOf('replica.failed') < types.indexOf('alert.firing'), 'oldest first');

  const table = await runCli(root, ['--state-dir', state, 'history', 'crash/0', '--since', '1h']);
  assert.equal(table.code, 0, table.stderr);
  assert.match(table.stdout, /^TIME +REPLICA +EVENT +DETAIL/m);
  assert.match(table.stdout, /crash\/0 +exited +code 3/);
  assert.match(table.stdout, /crash\/0 +ALERT crash_loop +crash\/0 is failed: crash loop: /);
  assert.match(table.stdout, /2 restarts, 3 exits \(3 failed\), 0 unhealthy, 1 alerts fired since 1h/);
});

test('history reads the rotated file first, filters by replica and --since, and survives a torn line', async (t) => {
  const root = tempDir(t);
  const state = join(root, 'state');
  mkdirSync(state);
  const at = (minutesAgo: number) => new Date(Date.now() - minutesAgo * 60_000).toISOString();
  const line = (e: Partial<TendEvent>) => JSON.stringify(e) + '\n';
  writeFileSync(join(state, 'events.jsonl.1'), line({ ts: at(120), type: 'replica.exited', service: 'web', replica: 0, exit_code: 1 }) + line({ ts: at(50), type: 'replica.exited', service: 'web', replica: 1, exit_code: 2 }));
  writeFileSync(join(state, 'events.jsonl'), line({ ts: at(40), type: 'replica.unhealthy', service: 'web', replica: 1, reason: 'liveness: timeout' }) + line({ ts: at(30), type: 'replica.exited', service: 'webx', replica: 1, exit_code: 9 }) + line({ ts: at(20), type: 'replica.ready', service: 'web', replica: 0 }) + '{"ts":"' + at(10) + '","type":"replica.exi');
  const r = await runCli(root, ['--state-dir', state, 'history', 'web/1', '--since', '1h', '-o', 'json']);
  assert.equal(r.code, 0, r.stderr);
  const events = (JSON.parse(r.stdout) as { events: TendEvent[] }).events;
  assert.deepEqual(events.map((e) => [e.type, e.replica, e.exit_code ?? null]), [['replica.exited', 1, 2], ['replica.unhealthy', 1, null]]);

  // A service the history has never heard of is a typo, answered as every command answers it.
  const typo = await runCli(root, ['--state-dir', state, 'history', 'wbe']);
  assert.equal(typo.code, 4, typo.stderr);
  assert.equal(typo.stderr, 'tend: no service named "wbe" in the event history, did you mean "web"?\n');
  const noReplica = await runCli(root, ['--state-dir', state, 'history', 'web/7']);
  assert.equal(noReplica.code, 4, noReplica.stderr);
  assert.equal(noReplica.stderr, 'tend: the event history has no replica 7 of web (it has web/0, web/1)\n');
  // Known, and quiet since: nothing to show is no error.
  const quiet = await runCli(root, ['--state-dir', state, 'history', 'webx', '--since', '10m']);
  assert.equal(quiet.code, 0, quiet.stderr);
  assert.equal(quiet.stdout, 'no history for webx since 10m\n');
  // --since as `tend logs` takes it: days, a clock time today.
  for (const since of ['1d', '00:00']) {
    const r2 = await runCli(root, ['--state-dir', state, 'history', 'web/1', '--since', since, '-o', 'json']);
    assert.equal(r2.code, 0, `${since}: ${r2.stderr}`);
  }
  const bad = await runCli(root, ['--state-dir', state, 'history', 'web', '--since', 'yesterday']);
  assert.equal(bad.code, 5);
  assert.match(bad.stderr, /--since to be a duration ago/);
  const empty = await runCli(root, ['--state-dir', join(root, 'nowhere'), 'history', 'web']);
  assert.equal(empty.code, 4);
  assert.match(empty.stderr, /no event history in/);
});

test('an exit after tend sent the stop signal is shown as a stop and not counted as a failure', async (t) => {
  const root = tempDir(t);
  const state = join(root, 'state');
  mkdirSync(state);
  const at = (secondsAgo: number) => new Date(Date.now() - secondsAgo * 1000).toISOString();
  const line = (e: Partial<TendEvent>) => JSON.stringify({ service: 'web', replica: 0, ...e }) + '\n';
  writeFileSync(
    join(state, 'events.jsonl'),
    // `tend down`: stopping, then the exit by the stop signal; later a crash, and a `tend kill`.
    line({ ts: at(60), type: 'replica.started', pid: 10 }) +
      line({ ts: at(50), type: 'replica.stopping', pid: 10, reason: 'Shutdown', message: 'tend is shutting down' }) +
      line({ ts: at(50), type: 'replica.exited', pid: 10, signal: 'SIGTERM', reason: 'Killed' }) +
      line({ ts: at(50), type: 'replica.stopped', pid: 10, signal: 'SIGTERM', reason: 'Shutdown', message: 'tend shut down' }) +
      line({ ts: at(40), type: 'replica.started', pid: 11 }) +
      line({ ts: at(30), type: 'replica.exited', pid: 11, exit_code: 1, reason: 'Exited' }) +
      line({ ts: at(20), type: 'replica.started', pid: 12 }) +
      line({ ts: at(10), type: 'replica.exited', pid: 12, signal: 'SIGTERM', reason: 'Killed' }),
  );
  const r = await runCli(root, ['--state-dir', state, 'history', 'web']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /web\/0 +stopping +tend is shutting down/);
  assert.match(r.stdout, /3 exits \(2 failed\)/);
});
