// What a datagram sender said once survives a kill -9 of tend and a new one: the watchdog period it
// set itself (WATCHDOG_USEC=) and its last STATUS, kept with its notify session in state.json.

import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { StatusReport } from '../../src/api/types.js';
import { specDir, waitFor } from '../helpers/index.js';
import { runningPids, startDaemon } from '../helpers/daemon.js';

const heartbeats = async (metrics: Promise<string>) => Number(/^tend_notify_messages_total\{kind="heartbeat"\} (\d+)/m.exec(await metrics)?.[1] ?? 0);
const replica = (s: StatusReport) => s.services.find((x) => x.name === 'sd')?.replicas[0];

test('kill -9 of tend and a new up: the watchdog period a replica set itself, and its STATUS, are kept', async (t) => {
  const { dir, state } = specDir(t, {
    // The spec's watchdog is 1 s; the replica asks for 6 s and beats every 2 s, saying STATUS once.
    'sd.yaml': [
      `command: 'systemd-notify --ready WATCHDOG_USEC=6000000 STATUS=serving; while :; do sleep 2; systemd-notify WATCHDOG=1; done'`,
      'notify: systemd',
      'readiness: { notify: true }',
      'watchdog: 1s',
      'stop_timeout: 2s',
    ].join('\n'),
  });
  const d1 = await startDaemon(t, dir, state);
  const s1 = await d1.converged((s) => replica(s)?.ready === true && replica(s)?.status_text === 'serving', 30_000);
  const pid = replica(s1)!.pid;
  // Two heartbeats 2 s apart under the 6 s period: not stale under the first tend.
  await waitFor(async () => (await heartbeats(d1.api.metrics())) >= 2, { what: 'two heartbeats on d1', timeoutMs: 20_000 });
  // Wait for the state file to have the status (its writes are coalesced), then kill tend.
  await waitFor(() => readFileSync(join(state, 'state.json'), 'utf8').includes('serving'), { what: 'status in state.json' });
  d1.child.kill('SIGKILL');
  await d1.exited;

  const d2 = await startDaemon(t, dir, state);
  const s2 = await d2.converged((s) => runningPids(s).length === 1, 30_000);
  assert.equal(replica(s2)!.pid, pid, 'adopted');
  assert.equal(replica(s2)!.status_text, 'serving', 'its STATUS, said once, is kept');
  // Two more heartbeats (4 s and more of 2 s silences) under the new tend: the 6 s period holds.
  await waitFor(async () => (await heartbeats(d2.api.metrics())) >= 2, { what: 'two heartbeats on d2', timeoutMs: 20_000 });
  const h = await d2.api.eventHistory(500);
  assert.deepEqual(h.filter((e) => e.type === 'replica.stale'), [], 'no stale: the 6 s period was restored');
  assert.equal(replica(await d2.status())!.pid, pid);
  await d2.api.shutdown();
  await d2.exited;
});
