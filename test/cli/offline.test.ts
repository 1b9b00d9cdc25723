// `tend logs` and `tend events` with no daemon running, from the user's side: after `tend down`, or
// after tend was killed, the replicas' output and the event history are still in the state
// directory. Both commands said "no tend daemon" and the files had to be found by hand; now they
// read the files as the daemon serves them (src/cli/offline.ts), and say so on stderr.

import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { isAlive, specDir, tempDir, waitFor } from '../helpers/index.js';
import { runCli, upDetached } from './run-cli.js';

const lines = (text: string) => text.split('\n').filter((l) => l !== '');

test('after `tend down`, `tend logs` and `tend events` read the state directory: the same lines and events the daemon served, replicas scaled away too', { timeout: 120_000 }, async (t) => {
  const { root } = specDir(t, {
    'w.yaml': 'command: ["sh", "-c", "for i in 1 2 3; do echo w$TEND_REPLICA line $i; done; exec sleep 1000"]\nreplicas: 3\nstop_timeout: 2s\n',
    'db.yaml': 'command: ["sh", "-c", "echo db up; exec sleep 1000"]\nstop_timeout: 2s\n',
  });
  await upDetached(t, root);

  await waitFor(async () => lines((await runCli(root, ['logs'])).stdout).filter((l) => / line 3$| db up$/.test(l)).length === 4, { what: 'every replica\'s output' });
  const online = await runCli(root, ['logs', '-t']);
  const onlineEvents = await runCli(root, ['events', '-o', 'json']);
  assert.equal((await runCli(root, ['scale', 'w=1'])).code, 0);
  await waitFor(async () => (await runCli(root, ['status', 'w', '-o', 'json'])).stdout.includes('"replicas_desired": 1'), { what: 'w scaled to 1' });
  assert.equal((await runCli(root, ['down'])).code, 0);

  const offline = await runCli(root, ['logs', '-t']);
  assert.equal(offline.code, 0, offline.stderr);
  assert.equal(offline.stderr, 'tend: no tend daemon on .tend/tend.sock; read from .tend/logs\n');
  assert.equal(offline.stdout, online.stdout, 'every line, stamp and run separator as the daemon served them, w/1 and w/2 included');

  const some = await runCli(root, ['logs', 'w/2', 'db']);
  assert.equal(some.code, 0, some.stderr);
  assert.deepEqual(lines(some.stdout).filter((l) => !l.includes('new run')).sort(), ['db/0 | db up', 'w/2 | w2 line 1', 'w/2 | w2 line 2', 'w/2 | w2 line 3']);
  // As the replica wrote it, for jq or grep: no prefix, no run separator (--no-log-prefix as compose).
  for (const flag of ['--no-prefix', '--no-log-prefix']) {
    assert.equal((await runCli(root, ['logs', 'w/2', flag])).stdout, 'w2 line 1\nw2 line 2\nw2 line 3\n', flag);
  }
  const tail = await runCli(root, ['logs', '-n', '1', 'w/0']);
  assert.deepEqual(lines(tail.stdout), ['w/0 | w0 line 3']);
  // -n counts lines, as compose's --tail (also accepted) does: db's one line, without the mark of
  // the run it began.
  for (const flag of ['-n', '--tail']) assert.deepEqual(lines((await runCli(root, ['logs', flag, '1', 'db'])).stdout), ['db/0 | db up'], flag);
  const unknown = await runCli(root, ['logs', 'nope']);
  assert.equal(unknown.code, 4);
  assert.equal(unknown.stderr, 'tend: no logs of a service named "nope" in .tend/logs\n');
  assert.equal((await runCli(root, ['logs', 'dv'])).stderr, 'tend: no logs of a service named "dv" in .tend/logs, did you mean "db"?\n');
  const follow = await runCli(root, ['logs', '-f']);
  assert.equal(follow.code, 3, 'following needs a daemon');
  assert.match(follow.stderr, /^tend: no tend daemon on \.tend\/tend\.sock — start one with `tend up -d`\n$/);

  const events = await runCli(root, ['events', '-o', 'json']);
  assert.equal(events.code, 0, events.stderr);
  assert.equal(events.stderr, 'tend: no tend daemon on .tend/tend.sock; read from .tend/events.jsonl\n');
  const ids = lines(events.stdout).map((l) => (JSON.parse(l) as { id: number }).id);
  assert.deepEqual(ids, ids.map((_, i) => i + 1), 'every event, in order');
  assert.equal(events.stdout.slice(0, onlineEvents.stdout.length), onlineEvents.stdout, 'as the daemon served them');
  assert.match(lines(events.stdout).at(-1)!, /"type":"daemon\.stopped"|"type":"replica\.stopped"/);
  const last = await runCli(root, ['events', '-n', '2', '-o', 'json']);
  assert.deepEqual(lines(last.stdout).map((l) => (JSON.parse(l) as { id: number }).id), ids.slice(-2));
  assert.equal((await runCli(root, ['events', '-n', '0'])).stdout, '');
});

test('after tend was killed, `tend logs` reads what its replicas wrote; with no state directory at all, the error is as before', { timeout: 120_000 }, async (t) => {
  const { root } = specDir(t, { 'w.yaml': 'command: ["sh", "-c", "echo before the crash; exec sleep 1000"]\nstop_timeout: 2s\n' });
  const { daemon } = await upDetached(t, root);
  await waitFor(async () => (await runCli(root, ['logs'])).stdout.includes('before the crash'), { what: 'the replica\'s line' });
  process.kill(daemon, 'SIGKILL');
  await waitFor(() => !isAlive(daemon), { what: 'the daemon gone' });

  const r = await runCli(root, ['logs', 'w']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^w\/0 \| before the crash$/m);

  const empty = tempDir(t);
  const none = await runCli(empty, ['logs']);
  assert.equal(none.code, 3);
  assert.match(none.stderr, /no tend daemon on .*start one with `tend up -d`/);
  const noEvents = await runCli(empty, ['events']);
  assert.equal(noEvents.code, 3);
});

test('with the daemon running, `tend logs` of a service whose file was removed reads what it left in the state directory', { timeout: 120_000 }, async (t) => {
  const { root, dir } = specDir(t, {
    'old.yaml': 'command: ["sh", "-c", "echo old says goodbye; exec sleep 1000"]\nstop_timeout: 2s\n',
    'db.yaml': 'command: ["sleep", "1000"]\nstop_timeout: 2s\n',
  });
  await upDetached(t, root);
  await waitFor(async () => (await runCli(root, ['logs', 'old'])).stdout.includes('old says goodbye'), { what: 'old\'s output' });
  rmSync(join(dir, 'old.yaml'));
  await waitFor(async () => !(await runCli(root, ['status'])).stdout.includes('old'), { what: 'old removed' });
  const r = await runCli(root, ['logs', 'old']);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(lines(r.stdout).filter((l) => !l.includes('new run')), ['old/0 | old says goodbye']);
  assert.equal(r.stderr, 'tend: old is in no spec file now; read what it left in .tend/logs\n');
  // A name that never had logs is still a typo.
  const typo = await runCli(root, ['logs', 'dbb']);
  assert.equal(typo.code, 4);
  assert.match(typo.stderr, /did you mean "db"\?/);
});
