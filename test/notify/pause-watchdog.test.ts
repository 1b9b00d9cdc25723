// `tend pause` and `tend resume` of a replica under a watchdog: time paused is not silence, and after
// the resume the watchdog period starts afresh, so a replica that keeps beating stays, and one that
// went silent is found stale, as if it had just started.

import { strict as assert } from 'node:assert';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { StatusReport, TendEvent } from '../../src/api/types.js';
import { specDir, waitFor } from '../helpers/index.js';
import { startDaemon } from '../helpers/daemon.js';

const replica = (s: StatusReport, name: string) => s.services.find((x) => x.name === name)?.replicas[0];
const stale = (h: TendEvent[], name: string) => h.filter((e) => e.type === 'replica.stale' && e.service === name);

test('after pause and resume, the watchdog catches a replica that stopped beating, and spares one that beats', async (t) => {
  const { root, dir, state } = specDir(t, {});
  const go = join(root, 'go');
  // `mute` beats every 200 ms until `go` exists, then stays alive and silent; `beats` never stops.
  const spec = (loop: string) =>
    [`command: 'systemd-notify --ready; ${loop}'`, 'notify: systemd', 'readiness: { notify: true }', 'watchdog: 1s', 'backoff: { initial: 10s }', 'stop_timeout: 2s'].join('\n');
  writeFileSync(join(dir, 'mute.yaml'), spec(`while [ ! -f ${go} ]; do systemd-notify WATCHDOG=1; sleep 0.2; done; exec sleep 1000`));
  writeFileSync(join(dir, 'beats.yaml'), spec('while :; do systemd-notify WATCHDOG=1; sleep 0.2; done'));
  const d = await startDaemon(t, dir, state);
  const s = await d.converged((x) => replica(x, 'mute')?.ready === true && replica(x, 'beats')?.ready === true, 30_000);
  const pids = { mute: replica(s, 'mute')!.pid, beats: replica(s, 'beats')!.pid };

  await d.api.act('pause', 'mute');
  await d.api.act('pause', 'beats');
  await waitFor(
    async () => {
      const x = await d.status();
      return replica(x, 'mute')?.state === 'paused' && replica(x, 'beats')?.state === 'paused';
    },
    { what: 'both paused' },
  );
  // Paused for twice the watchdog period, in which nothing can beat: the watchdog's deadline passes.
  // (What is waited for is time itself.) `go` is made meanwhile: `mute` sees it once resumed.
  const pausedAt = Date.now();
  writeFileSync(go, '');
  await waitFor(() => Date.now() - pausedAt >= 2500, { what: '2.5 s paused', timeoutMs: 5000, intervalMs: 100 });
  assert.deepEqual(stale(await d.api.eventHistory(500), 'mute'), [], 'a paused replica is not stale');

  await d.api.act('resume', 'mute');
  await d.api.act('resume', 'beats');
  const h = await waitFor(
    async () => {
      const events = await d.api.eventHistory(500);
      return stale(events, 'mute').length >= 1 ? events : undefined;
    },
    { what: 'mute stale after its resume', timeoutMs: 10_000 },
  );
  assert.equal(stale(h, 'mute')[0]!.pid, pids.mute);
  assert.deepEqual(stale(h, 'beats'), [], 'one that beats after the resume is not stale');
  assert.equal(replica(await d.status(), 'beats')!.pid, pids.beats);
  await d.api.shutdown();
  await d.exited;
});
