// `readiness.timeout` of `readiness: { notify: true }` applies live (docs/spec.md): raised in the
// spec file while a replica waits for READY, it reaches that replica, measured from its start.

import { strict as assert } from 'node:assert';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { StatusReport, TendEvent } from '../../src/api/types.js';
import { specDir, waitFor } from '../helpers/index.js';
import { startDaemon } from '../helpers/daemon.js';

const replica = (s: StatusReport) => s.services.find((x) => x.name === 'slow')?.replicas[0];
const ofType = (h: TendEvent[], type: string) => h.filter((e) => e.type === type && e.service === 'slow');
const spec = (timeout: string) => ['command: ["sleep", "1000"]', `readiness: { notify: true, timeout: ${timeout} }`, 'backoff: { initial: 10s }', 'stop_timeout: 2s'].join('\n');

test('a raised readiness.timeout reaches a replica already waiting for READY', async (t) => {
  const { dir, state } = specDir(t, { 'slow.yaml': spec('4s') });
  const d = await startDaemon(t, dir, state);
  const s = await waitFor(
    async () => {
      const x = await d.status();
      return replica(x)?.pid && replica(x)?.state === 'starting' ? x : undefined;
    },
    { what: 'slow waiting for READY', timeoutMs: 30_000 },
  );
  const startedAt = Date.now();
  const pid = replica(s)!.pid;
  writeFileSync(join(dir, 'slow.yaml'), spec('60s'));
  await waitFor(async () => (await d.api.eventHistory(500)).filter((e) => e.type === 'spec.loaded').length >= 2, { what: 'the raised timeout loaded', timeoutMs: 10_000 });
  // Past the old 4 s (with room for a sweep): what is waited for is time itself.
  await waitFor(() => Date.now() - startedAt >= 6000, { what: '6 s since its start', timeoutMs: 10_000, intervalMs: 100 });
  const h = await d.api.eventHistory(500);
  assert.deepEqual(ofType(h, 'replica.unhealthy'), [], 'not timed out by the old 4 s');
  const now = replica(await d.status())!;
  assert.equal(now.pid, pid);
  assert.equal(now.state, 'starting');
  await d.api.shutdown();
  await d.exited;
});
