// `tend notify` as a shell script uses it: the real CLI against a real hub, inside and outside tend.

import { strict as assert } from 'node:assert';
import { join } from 'node:path';
import { test } from 'node:test';
import { NotifyHub } from '../../src/notify/hub.js';
import type { NotifyMessage } from '../../src/notify/protocol.js';
import { cleanup, tempDir, waitFor } from '../helpers/index.js';
import { runCli } from '../cli/run-cli.js';

test('outside tend, tend notify says so and exits 3', async (t) => {
  const dir = tempDir(t);
  const r = await runCli(dir, ['notify', '--ready'], { env: { TEND_NOTIFY_SOCKET: '', TEND_NOTIFY_TOKEN: '' } });
  assert.equal(r.code, 3);
  assert.match(r.stderr, /not running under tend: TEND_NOTIFY_SOCKET and TEND_NOTIFY_TOKEN are not set/);
  const gone = await runCli(dir, ['notify', '--ready'], { env: { TEND_NOTIFY_SOCKET: join(dir, 'nothing.sock'), TEND_NOTIFY_TOKEN: 'x' } });
  assert.equal(gone.code, 3);
  assert.match(gone.stderr, /tend is not listening on .*nothing\.sock \(ENOENT\)/);
});

test('tend notify sends status, ready and typed events; a refused event or bad input fails clearly', async (t) => {
  const got: NotifyMessage[] = [];
  const hub = new NotifyHub({ dir: join(tempDir(t), 'n'), onMessage: (_id, m) => got.push(m) });
  await hub.start();
  cleanup(t, () => hub.close());
  const env = hub.register({
    id: 'sh#1',
    service: 'sh',
    index: 0,
    token: NotifyHub.newToken(),
    events: { progress: { type: 'object', required: ['done'], properties: { done: { type: 'integer' } } } },
  });
  const cwd = tempDir(t);

  const ok = await runCli(cwd, ['notify', '--status', 'loading data', '--ready'], { env });
  assert.equal(ok.code, 0, ok.stderr);
  const ev = await runCli(cwd, ['notify', '--event', 'progress', '--data', '{"done": 3}'], { env });
  assert.equal(ev.code, 0, ev.stderr);
  await waitFor(() => got.length === 3, { what: 'three messages' });
  assert.deepEqual(got, [{ kind: 'status', text: 'loading data' }, { kind: 'ready' }, { kind: 'event', name: 'progress', data: { done: 3 } }]);

  const invalid = await runCli(cwd, ['notify', '--event', 'progress', '--data', '{"done": "three"}'], { env });
  assert.equal(invalid.code, 1);
  assert.match(invalid.stderr, /event "progress": data\/done must be integer/);
  const unknown = await runCli(cwd, ['notify', '--event', 'nope'], { env });
  assert.equal(unknown.code, 1);
  assert.match(unknown.stderr, /unknown event "nope" \(declared: progress\)/);
  const notJson = await runCli(cwd, ['notify', '--event', 'progress', '--data', '{done'], { env });
  assert.equal(notJson.code, 5);
  assert.match(notJson.stderr, /--data must be JSON/);
  const nothing = await runCli(cwd, ['notify'], { env });
  assert.equal(nothing.code, 5);
  const stranger = await runCli(cwd, ['notify', '--ready'], { env: { ...env, TEND_NOTIFY_TOKEN: 'forged' } });
  assert.equal(stranger.code, 3);
  assert.match(stranger.stderr, /tend does not know this replica's token/);
  assert.equal(got.length, 3, 'nothing refused got through');
});
