// The memory reducer collects once a burst of work has grown the heap V8 holds and the daemon is
// quiet, and at no other time. The rule is checked with a heap figure the test sets; the
// collection itself is V8's real one, reached the way the daemon reaches it.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { getHeapStatistics } from 'node:v8';
import { exposeGc, lazyGc, MemoryReducer } from '../../src/util/memory-reducer.js';
import { waitFor } from '../helpers/index.js';

const MiB = 2 ** 20;

function reducer(start: number, opts: { gcQuietMs?: number } = {}) {
  let used = start;
  let quiet = 60_000;
  let gcQuiet: number | undefined;
  let young = 1 * MiB;
  const calls: string[] = [];
  let afterGc = start;
  let live: number | undefined;
  const r = new MemoryReducer({
    gc: (o) => {
      calls.push(o?.type === 'minor' ? 'minor' : (o?.execution ?? 'sync'));
      if (o?.type !== 'minor') used = afterGc;
    },
    quietForMs: () => quiet,
    // Unless the test says, V8's own collections are watched as in the daemon.
    ...(opts.gcQuietMs !== undefined ? { gcQuietMs: opts.gcQuietMs } : { gcQuietForMs: () => gcQuiet ?? 60_000 }),
    heapCommitted: () => used,
    youngCommitted: () => young,
    // In use: what is committed, unless the test says what is live.
    heapUsed: () => live ?? used,
  });
  return {
    r,
    set used(v: number) {
      used = v;
    },
    set live(v: number) {
      live = v;
    },
    set quiet(v: number) {
      quiet = v;
    },
    set afterGc(v: number) {
      afterGc = v;
    },
    set gcQuiet(v: number) {
      gcQuiet = v;
    },
    set young(v: number) {
      young = v;
    },
    calls,
  };
}

test('a heap grown well past what the last collection left is collected once the daemon is quiet', async (t) => {
  const h = reducer(40 * MiB);
  t.after(() => h.r.close());
  h.used = 100 * MiB;
  h.quiet = 1000; // a pass a second ago: a cold start still going
  assert.equal(h.r.check(), false, 'not while busy');
  h.quiet = 6000;
  h.afterGc = 60 * MiB;
  assert.equal(h.r.check(), true);
  assert.deepEqual(h.calls, ['sync']);
  // Then the same one from a task of V8's, a moment later: it is the one that gives the freed pages back.
  await waitFor(() => h.calls.length === 2, { what: 'the second collection', timeoutMs: 10_000 });
  assert.deepEqual(h.calls, ['sync', 'async']);
  h.used = 45 * MiB; // what the two left
  assert.equal(h.r.check(), false, 'the next look takes it as the baseline');
  h.used = 70 * MiB; // +25 MiB: under the 32 MiB floor
  assert.equal(h.r.check(), false);
  h.used = 80 * MiB;
  assert.equal(h.r.check(), true);
  assert.equal(h.calls.length, 3);
});

test('a young generation a burst grew is given back even when the whole heap grew little; once, until V8 shrinks it', async (t) => {
  const h = reducer(23 * MiB);
  t.after(() => h.r.close());
  h.used = 54 * MiB; // +31 MiB: under the 32 MiB of growth
  assert.equal(h.r.check(), false);
  h.young = 32 * MiB; // of which the young generation, grown from 1 MiB and idle
  h.afterGc = 31 * MiB;
  assert.equal(h.r.check(), true);
  await waitFor(() => h.calls.length === 2, { what: 'the second collection', timeoutMs: 10_000 });
  h.used = 31 * MiB;
  assert.equal(h.r.check(), false, 'the baseline');
  assert.equal(h.r.check(), false, 'V8 kept it large: not again');
  h.young = 1 * MiB;
  assert.equal(h.r.check(), false, 'shrunk');
  h.young = 32 * MiB; // the next burst
  assert.equal(h.r.check(), true);
});

test("not within 5.5 s of V8's own last collection: the young generation's pages would stay", (t) => {
  const h = reducer(40 * MiB);
  t.after(() => h.r.close());
  h.used = 100 * MiB;
  h.gcQuiet = 2000; // the burst's last scavenge, 2 s ago
  assert.equal(h.r.check(), false);
  h.gcQuiet = 5600;
  h.afterGc = 60 * MiB;
  assert.equal(h.r.check(), true);
});

test("the look comes once V8 has not collected for a while, not at the next tick", async (t) => {
  const h = reducer(40 * MiB, { gcQuietMs: 300 });
  t.after(() => h.r.close());
  h.used = 100 * MiB;
  h.afterGc = 60 * MiB;
  h.r.start(); // its ticks are 10 s apart
  exposeGc()!(); // a collection V8 makes (here: asked for), which the reducer sees
  await waitFor(() => h.calls.includes('sync'), { what: 'the look after the collection', timeoutMs: 5_000 });
});

test('a second after the burst, much allocated since V8 last collected: a young-generation collection starts its count again', async (t) => {
  const h = reducer(40 * MiB, { gcQuietMs: 60_000 });
  t.after(() => h.r.close());
  h.used = 100 * MiB;
  h.r.start();
  exposeGc()!(); // the burst's last collection, seen at 100 MiB in use
  await waitFor(() => h.r.gcsSeen > 0, { what: 'the collection seen' });
  h.used = 130 * MiB; // then 30 MiB allocated, and quiet
  await waitFor(() => h.calls.includes('minor'), { what: 'the young-generation collection', timeoutMs: 5_000 });
  assert.deepEqual(h.calls, ['minor'], 'and no full one yet: it comes gcQuietMs after that');
});

test('collections that leave their pages committed are asked for once more, once', async (t) => {
  const h = reducer(40 * MiB);
  t.after(() => h.r.close());
  h.used = 100 * MiB;
  h.afterGc = 97 * MiB; // V8 had begun marking on its own: little given back
  h.live = 30 * MiB;
  assert.equal(h.r.check(), true);
  await waitFor(() => h.calls.length === 2, { what: 'the second collection', timeoutMs: 10_000 });
  h.quiet = 500; // busy again: the retry waits
  assert.equal(h.r.check(), false);
  h.quiet = 60_000;
  h.afterGc = 35 * MiB;
  assert.equal(h.r.check(), true, '67 MiB committed and free: asked again');
  await waitFor(() => h.calls.length === 4, { what: 'the second pair', timeoutMs: 10_000 });
  assert.deepEqual(h.calls, ['sync', 'async', 'sync', 'async']);
  h.afterGc = 97 * MiB;
  h.used = 97 * MiB; // and if that left them too, no third time
  assert.equal(h.r.check(), false);
  assert.equal(h.r.check(), false);
  assert.equal(h.calls.length, 4);
});

test('growth that is small next to a large heap is left to V8, and what V8 gives back lowers the baseline', (t) => {
  const h = reducer(200 * MiB);
  t.after(() => h.r.close());
  h.used = 260 * MiB; // +60 MiB, under half of 200
  assert.equal(h.r.check(), false);
  h.used = 150 * MiB; // V8 shrank it on its own: the new baseline
  assert.equal(h.r.check(), false);
  h.used = 230 * MiB; // +80 MiB over 150: more than half
  h.afterGc = 150 * MiB;
  assert.equal(h.r.check(), true);
});

test('no gc to be had: the reducer does nothing', () => {
  const r = new MemoryReducer({ gc: undefined, quietForMs: () => 60_000, heapCommitted: () => 1e12 });
  r.start();
  assert.equal(r.check(), false);
  r.close();
});

test("exposeGc gives V8's full collection on this Node, and the flag stays off for later contexts", async () => {
  const gc = exposeGc();
  assert.equal(typeof gc, 'function');
  const { runInNewContext } = await import('node:vm');
  assert.equal(runInNewContext('typeof gc'), 'undefined');
  gc!();
  const base = getHeapStatistics().used_heap_size;
  // Garbage that survives the young generation: reachable until the list is dropped.
  let keep: unknown[] | undefined = Array.from({ length: 200_000 }, (_, i) => ({ i, s: `x${i}` }));
  for (let k = 0; k < 5; k++) await new Promise((r) => setImmediate(r));
  const grown = getHeapStatistics().used_heap_size;
  assert.ok(grown > base + 5 * MiB, `the list takes room (${((grown - base) / MiB).toFixed(1)} MiB)`);
  keep = undefined;
  gc!();
  const after = getHeapStatistics().used_heap_size;
  assert.equal(keep, undefined);
  assert.ok(after < grown - 5 * MiB, `collected: ${(grown / MiB).toFixed(1)} → ${(after / MiB).toFixed(1)} MiB`);
});

test('lazyGc makes its context on the first collection only, then collects like exposeGc', async () => {
  const contexts = () => getHeapStatistics().number_of_native_contexts;
  const before = contexts();
  const gc = lazyGc();
  assert.equal(contexts(), before, 'no context before the first call');
  let keep: unknown[] | undefined = Array.from({ length: 200_000 }, (_, i) => ({ i, s: `y${i}` }));
  for (let k = 0; k < 5; k++) await new Promise((r) => setImmediate(r));
  const grown = getHeapStatistics().used_heap_size;
  keep = undefined;
  gc();
  assert.equal(keep, undefined);
  assert.ok(getHeapStatistics().used_heap_size < grown - 5 * MiB, 'collected');
});
