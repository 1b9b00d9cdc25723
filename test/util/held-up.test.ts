// Deadline (src/util/held-up.ts): a timeout on another process's answer that does not count time in
// which this process did not run. Here the loop is held up for real (Atomics.wait blocks the
// thread) while a child process writes to a pipe; the answer waits in the pipe, unread, when the
// deadline's time comes.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { test } from 'node:test';
import { Deadline, HELD_UP_MS, heldUpFor } from '../../src/util/held-up.js';
import { NODE, processReaper } from '../helpers/index.js';

/** Blocks this thread, and so its event loop, for `ms`. */
function holdUp(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** A child that writes `answer` to its stdout after `afterMs` (never when undefined) and exits. */
function answerer(t: Parameters<typeof processReaper>[0], afterMs: number | undefined) {
  const code = afterMs === undefined ? 'setTimeout(() => {}, 60_000)' : `setTimeout(() => process.stdout.write('answer'), ${afterMs})`;
  const child = spawn(NODE, ['-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
  processReaper(t).track(child.pid);
  return new Promise<typeof child>((resolve) => child.once('spawn', () => resolve(child)));
}

test('heldUpFor: a timer late by HELD_UP_MS or more says how long; an earlier one says 0', () => {
  assert.equal(heldUpFor(1000, 1000 + HELD_UP_MS - 1), 0);
  assert.equal(heldUpFor(1000, 1000), 0);
  assert.equal(heldUpFor(1000, 1000 + HELD_UP_MS), HELD_UP_MS);
  assert.equal(heldUpFor(1000, 4000), 3000);
});

test('Deadline: an answer that arrived while the loop was held up is read before the deadline expires', async (t) => {
  const child = await answerer(t, 50);
  const verdict = await new Promise<string>((resolve) => {
    const deadline = new Deadline(200, () => resolve('expired'));
    child.stdout.once('data', () => {
      deadline.cancel();
      resolve('answered');
    });
    // Held up past the deadline; the child answers meanwhile (the answer waits in the pipe).
    holdUp(600);
  });
  assert.equal(verdict, 'answered');
});

test('Deadline: with no answer, it expires after its second look', async (t) => {
  const child = await answerer(t, undefined);
  const started = performance.now();
  const verdict = await new Promise<string>((resolve) => {
    new Deadline(200, () => resolve('expired'));
    child.stdout.once('data', () => resolve('answered'));
    holdUp(600);
  });
  assert.equal(verdict, 'expired');
  // The first look came at ~600 ms (held up), the second a timeout (200 ms) later.
  assert.ok(performance.now() - started >= 600 + 200 - 5, `expired after ${Math.round(performance.now() - started)} ms`);
});

test('Deadline: on time, it expires once, after its ms; a cancelled one never', async () => {
  let cancelledExpired = 0;
  const started = performance.now();
  // The cancelled one is due first: timers run in order, so it would have run by the other's time.
  new Deadline(50, () => cancelledExpired++).cancel();
  const expired = await new Promise<number>((resolve) => {
    let n = 0;
    new Deadline(100, () => resolve(++n));
  });
  assert.equal(expired, 1);
  assert.equal(cancelledExpired, 0);
  assert.ok(performance.now() - started >= 100 - 1);
});
