// The command line waits for the daemon's log writers before it exits (src/log/drain.ts), but not
// for ever: a log on a pipe whose reader stopped reading never drains.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { drainLogs, registerLogWriter } from '../../src/log/drain.js';

test('drainLogs waits for every writer to call back, and no longer than it is given', async () => {
  assert.equal(await Promise.race([drainLogs(60_000).then(() => 'drained'), new Promise((r) => setImmediate(() => r('waiting')))]), 'drained', 'nothing registered: at once');

  let callBack: (() => void) | undefined;
  registerLogWriter({ flush: (cb) => void (callBack = cb), flushSync: () => undefined });
  registerLogWriter({ flush: (cb) => setImmediate(cb), flushSync: () => undefined });
  let done = false;
  const draining = drainLogs(60_000).then(() => (done = true));
  for (let turn = 0; turn < 5; turn++) await new Promise((r) => setImmediate(r));
  assert.equal(done, false, 'one writer has not written what it holds');
  callBack!();
  await draining;

  // A writer that never calls back (its reader stalled): the wait still ends, when it is bounded to.
  registerLogWriter({ flush: () => undefined, flushSync: () => undefined });
  assert.equal(await drainLogs(50).then(() => 'ended'), 'ended');
});
