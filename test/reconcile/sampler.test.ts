// The usage sampler scans only when something needs it (issue 13): a reader, at most once per gap;
// limited replicas on a timer; nothing at all otherwise. Real processes are scanned (a `sleep` in
// its own group); the clock of the reader gap is a fake one so that the test does not wait.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { test } from 'node:test';
import { UsageSampler, type SamplerTarget } from '../../src/reconcile/sampler.js';
import { cleanup, processReaper, waitFor } from '../helpers/index.js';

function sleeper(t: Parameters<typeof processReaper>[0]): number {
  const child = spawn('sleep', ['1000'], { detached: true, stdio: 'ignore' });
  processReaper(t).track(child.pid, true);
  return child.pid!;
}

test('a reader gets a scan at once, then none until the gap has passed; nobody reading means no scan', async (t) => {
  const pgid = sleeper(t);
  let clock = 1_000_000;
  const samples: string[] = [];
  const targets: SamplerTarget[] = [{ id: 'web#1', pgid, limited: false }];
  const sampler = new UsageSampler({
    intervalMs: 20,
    targets: () => targets,
    onSample: (id, u) => samples.push(`${id}:${u.processes}`),
    onError: (err) => assert.fail(String(err)),
    now: () => clock,
  });
  cleanup(t, () => sampler.close());
  sampler.start();
  // The timer runs but finds no limited replica: nothing is scanned and it goes to sleep.
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(samples.length, 0, 'nobody reads and nothing is limited: no scan');

  await sampler.refresh();
  assert.deepEqual(samples, ['web#1:1'], 'the first read scans at once');
  clock += 500;
  await sampler.refresh();
  assert.equal(samples.length, 1, 'a second read within a second reuses the last scan');
  // The gap is a second or 50 times what the scan cost (a machine with many processes scans
  // slower): ten minutes is past it either way.
  clock += 600_000;
  await sampler.refresh();
  assert.equal(samples.length, 2, 'after the gap a read scans again');
});

test('limited replicas are scanned on the timer without readers; a poke wakes a sleeping timer', async (t) => {
  const a = sleeper(t);
  const b = sleeper(t);
  const samples: string[] = [];
  const targets: SamplerTarget[] = [{ id: 'free#1', pgid: a, limited: false }];
  const sampler = new UsageSampler({
    intervalMs: 20,
    targets: () => targets,
    onSample: (id) => samples.push(id),
    onError: (err) => assert.fail(String(err)),
  });
  cleanup(t, () => sampler.close());
  sampler.start();
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(samples.length, 0, 'no limited replica: no scan');
  targets.push({ id: 'capped#1', pgid: b, limited: true });
  sampler.poke();
  await waitFor(() => samples.filter((s) => s === 'capped#1').length >= 3, { what: 'three timed scans of the limited replica', timeoutMs: 10_000 });
  assert.ok(!samples.includes('free#1'), 'the timer scans only limited replicas');
});

test('a scan yields to the loop as it reads /proc; readers that come meanwhile share it', async (t) => {
  const pgid = sleeper(t);
  const samples: string[] = [];
  const sampler = new UsageSampler({
    intervalMs: 0,
    targets: () => [{ id: 'web#1', pgid, limited: false }],
    onSample: (id) => samples.push(id),
    onError: (err) => assert.fail(String(err)),
    slice: 4, // a few /proc entries per turn (a machine has more than 4 processes)
  });
  cleanup(t, () => sampler.close());
  const order: string[] = [];
  const reading = sampler.refresh().then(() => order.push('scanned'));
  const second = sampler.refresh().then(() => order.push('second reader'));
  // Queued after the scan began: it runs while the scan is still reading.
  setImmediate(() => order.push('other work'));
  await Promise.all([reading, second]);
  assert.deepEqual(order, ['other work', 'scanned', 'second reader']);
  assert.deepEqual(samples, ['web#1'], 'one scan for both readers');
});
