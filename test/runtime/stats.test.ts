// Usage sampling: a group's members are summed, CPU is measured, and history drops dead pids.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { sampleUsage, usageHistorySize } from '../../src/runtime/stats.js';
import { fixture, NODE, tempDir, waitFor } from '../helpers/index.js';
import { harness, launch, logIn, waitForLog } from './helpers.js';

test('sums memory and counts the live members of a group', async (t) => {
  const dir = tempDir(t);
  const h = harness(t);
  const { handle } = await h.start({ launch: launch(fixture('fork-many.mjs', 3), dir), logFile: logIn(dir) });
  await waitForLog(logIn(dir), 'READY');
  const usage = await waitFor(async () => {
    const u = (await sampleUsage([handle.pgid])).get(handle.pgid)!;
    return u.processes === 4 ? u : null;
  }, { what: '4 processes' });
  // Four Node processes: each has well over 10 MB resident.
  assert.ok(usage.memory > 4 * 10 * 1024 * 1024, `memory ${usage.memory}`);
  assert.ok(usage.cpu >= 0);
  assert.deepEqual((await sampleUsage([2 ** 22 + 1])).get(2 ** 22 + 1), { cpu: 0, memory: 0, processes: 0 });
});

test('measures CPU of a busy process between samples, and forgets it once it is gone', async (t) => {
  const dir = tempDir(t);
  const h = harness(t);
  const { handle } = await h.start({ launch: launch([NODE, '-e', 'for (;;) {}'], dir), logFile: logIn(dir) });
  await sampleUsage([handle.pgid]);
  const base = Date.now();
  const cpu = await waitFor(async () => {
    // Elapsed time is read from /proc/uptime in 10 ms steps and CPU in 10 ms ticks: only a window
    // of half a second or more measures a percentage to within a few points.
    if (Date.now() - base < 500) return null;
    const u = (await sampleUsage([handle.pgid])).get(handle.pgid)!.cpu;
    // Over 20%: far from an idle 0, and reachable when other work shares the two cores.
    return u > 20 ? u : null;
  }, { intervalMs: 100, what: 'cpu over 20%, over at least 0.5 s' });
  assert.ok(cpu < 150, `one busy thread, measured ${cpu}%`);
  const before = usageHistorySize();
  assert.ok(before >= 1);
  await h.rt.stop(handle, 'SIGKILL', 1000);
  await sampleUsage([handle.pgid]);
  // The history is shared by the process: other tests' dead pids may be pruned in the same sample.
  assert.ok(usageHistorySize() <= before - 1, `history ${usageHistorySize()} after ${before}`);
});
