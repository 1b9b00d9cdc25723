// What a crashed replica printed last, shown by `tend status SVC` and by `tend up -d --wait` when it
// gives up (src/cli/last-output.ts). From the user's side: a service that cannot bind its port said
// "exit code 1" and no more, and the reason was a `tend logs` away.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { LogLine } from '../../src/api/log-stream.js';
import { lastRun } from '../../src/cli/last-output.js';
import { cleanup, specDir, waitFor } from '../helpers/index.js';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { killDetachedDaemon, markedGroups } from '../helpers/daemon.js';
import { runCli, upDetached } from './run-cli.js';

const sep = (ts: string): LogLine => ({ service: 's', replica: 0, ts, line: '', run: true });
const line = (text: string): LogLine => ({ service: 's', replica: 0, ts: '2026-01-01T00:00:00.000Z', line: text });

test('lastRun: the lines of the last run that printed any', () => {
  const cases: [string, LogLine[], string[]][] = [
    ['nothing read', [], []],
    ['no separator in the tail: every line is the last run\'s', [line('a'), line('b')], ['a', 'b']],
    ['the last run after its separator', [sep('1'), line('a'), sep('2'), line('b'), line('c')], ['b', 'c']],
    ['started again, nothing printed yet: the run before', [sep('1'), line('a'), line('b'), sep('2')], ['a', 'b']],
    ['two empty runs after one that printed', [line('a'), sep('2'), sep('3')], ['a']],
    ['only separators', [sep('1'), sep('2')], []],
  ];
  for (const [what, lines, expected] of cases) assert.deepEqual(lastRun(lines).map((l) => l.line), expected, what);
});

test('a crash-looping service: `tend status SVC`, `tend restart --wait` and `tend up -d --wait` show what it printed last; a healthy one shows nothing more', { timeout: 120_000 }, async (t) => {
  const { root } = specDir(t, {
    'api.yaml': 'command: ["sh", "-c", "echo starting on 8080; echo Error: listen EADDRINUSE: address already in use 127.0.0.1:8080 >&2; exit 1"]\n',
    'ok.yaml': 'command: ["sleep", "1000"]\nstop_timeout: 2s\n',
  });
  // Without --wait: api never converges.
  const { state } = await upDetached(t, root, { wait: false });
  const expected = 'api/0 backoff (exit code 1); its last output (tend logs api/0):\n  starting on 8080\n  Error: listen EADDRINUSE: address already in use 127.0.0.1:8080\n';
  const status = await waitFor(async () => {
    const r = await runCli(root, ['status', 'api']);
    return r.stdout.includes('its last output') ? r : undefined;
  }, { what: 'api in back-off with its output' });
  assert.equal(status.code, 0, status.stderr);
  assert.ok(status.stdout.endsWith(`\n\n${expected}`), status.stdout);
  const healthy = await runCli(root, ['status', 'ok']);
  assert.doesNotMatch(healthy.stdout, /last output/);
  const json = await runCli(root, ['status', 'api', '-o', 'json']);
  assert.doesNotThrow(() => JSON.parse(json.stdout), 'JSON stays JSON');

  // So do restart, scale, start and stop with --wait when they give up.
  const restart = await runCli(root, ['restart', 'api', '--wait', '--timeout', '2s']);
  assert.equal(restart.code, 1);
  assert.match(restart.stderr, /^tend: timed out after 2s waiting for restart of api\n/);
  assert.ok(restart.stderr.endsWith(expected), restart.stderr);

  assert.equal((await runCli(root, ['down'])).code, 0);
  const again = await runCli(root, ['up', '-d', '--wait', '--timeout', '3s']);
  const second = Number(readFileSync(join(state, 'tend.pid'), 'utf8').split('\n')[0]);
  cleanup(t, () => killDetachedDaemon(second, state));
  markedGroups(state);
  assert.equal(again.code, 1);
  // ok, started at the same time, may still be starting on a loaded machine: it is listed then.
  assert.match(again.stderr, /^tend: timed out after 3s waiting for: api 0\/1 ready \(backoff\)(; ok 0\/1 ready \(starting\))?\n/);
  assert.ok(again.stderr.endsWith(expected), again.stderr);
  assert.equal((await runCli(root, ['down'])).code, 0);
});
