// The memory reducer collects once a burst of work has grown the heap V8 holds and the daemon is
// quiet, and at no other time. The rule is checked with heap figures the test sets; the
// collections themselves are V8's real ones, reached the way the daemon reaches them, and the last
// test makes this process's V8 give back a young generation it grew.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { getHeapSpaceStatistics, getHeapStatistics } from 'node:v8';
import { exposeGc, lazyGc, MemoryReducer, type Collected } from '../../src/util/memory-reducer.js';
import { cleanup, waitFor } from '../helpers/index.js';

const MiB = 2 ** 20;

/** A reducer over figures the test sets. The fake `gc` records each call ('full' or 'minor'): a
 *  full one leaves `afterGc` committed; the young generation shrinks to 1 MiB at the minor
 *  collection numbered `shrinkAt` (never, unless set). */
function reducer(start: number, opts: { observeGc?: boolean } = {}) {
  let used = start;
  let quiet = 60_000;
  let busy = 10_000; // the last stretch of work: a cold start's
  let looks = 0; // how often the reducer asked how long the daemon has been quiet
  let young = 1 * MiB;
  let minors = 0;
  let shrinkAt = Infinity;
  const calls: string[] = [];
  const collected: Collected[] = [];
  let afterGc = start;
  const r = new MemoryReducer({
    gc: (o) => {
      if (o?.type === 'minor') {
        calls.push('minor');
        if (++minors >= shrinkAt) young = 1 * MiB;
      } else {
        calls.push('full');
        used = afterGc;
      }
    },
    quietForMs: () => {
      looks++;
      return quiet;
    },
    lastBusyMs: () => busy,
    // Unless the test says, V8 has not collected for a minute.
    ...(opts.observeGc ? {} : { gcQuietForMs: () => 60_000 }),
    heapCommitted: () => used,
    youngCommitted: () => young,
    shrinkGapMs: 1,
    onCollected: (c) => collected.push(c),
  });
  return {
    r,
    set used(v: number) {
      used = v;
    },
    set quiet(v: number) {
      quiet = v;
    },
    set busy(v: number) {
      busy = v;
    },
    set afterGc(v: number) {
      afterGc = v;
    },
    set young(v: number) {
      young = v;
    },
    /** The young generation shrinks at the n-th minor collection from now. */
    shrinkAfter(n: number) {
      shrinkAt = minors + n;
    },
    get looks() {
      return looks;
    },
    calls,
    collected,
  };
}

test('a heap grown well past what the last collection left is collected once the daemon is quiet: full, a train until V8 gives the young generation back, full again', async (t) => {
  const h = reducer(40 * MiB);
  cleanup(t, () => h.r.close());
  h.used = 100 * MiB;
  h.young = 32 * MiB; // grown by the burst
  h.quiet = 1000; // a pass a second ago: a cold start still going
  assert.equal(h.r.check(), false, 'not while busy');
  h.quiet = 6000;
  h.afterGc = 60 * MiB;
  h.shrinkAfter(3);
  assert.equal(h.r.check(), true);
  await waitFor(() => h.collected.length === 1, { what: 'the collection to end', timeoutMs: 10_000 });
  assert.deepEqual(h.calls, ['full', 'minor', 'minor', 'minor', 'full'], 'the train stops when the young generation shrinks');
  assert.deepEqual(h.collected[0], { ...h.collected[0], committedBefore: 100 * MiB, committedAfter: 60 * MiB, trainSteps: 3, youngBefore: 32 * MiB, youngAfter: 1 * MiB });
  h.used = 45 * MiB; // what V8 gives back later lowers the baseline
  assert.equal(h.r.check(), false);
  h.used = 70 * MiB; // +25 MiB: under the 32 MiB floor
  assert.equal(h.r.check(), false);
  h.used = 80 * MiB;
  assert.equal(h.r.check(), true);
  await waitFor(() => h.collected.length === 2, { what: 'the second collection to end', timeoutMs: 10_000 });
  assert.deepEqual(h.calls.slice(5), ['full', 'full'], 'a young generation that did not grow gets no train, only the wait for sweeping');
});

test('a young generation a burst grew is given back even when the whole heap grew little; again only after a pass did work', async (t) => {
  const h = reducer(23 * MiB);
  cleanup(t, () => h.r.close());
  h.used = 54 * MiB; // +31 MiB: under the 32 MiB of growth
  assert.equal(h.r.check(), false);
  h.young = 32 * MiB; // of which the young generation, grown from 1 MiB and idle
  h.afterGc = 31 * MiB;
  h.shrinkAfter(2);
  assert.equal(h.r.check(), true);
  await waitFor(() => h.collected.length === 1, { what: 'the collection to end', timeoutMs: 10_000 });
  h.young = 32 * MiB; // status reads grew it again, with no pass: left alone
  assert.equal(h.r.check(), false, 'no pass since: not again');
  h.quiet = 0; // a pass (a deploy), seen by the next look...
  assert.equal(h.r.check(), false, 'busy');
  h.quiet = 60_000; // ...then quiet
  h.shrinkAfter(2);
  assert.equal(h.r.check(), true, 'the next burst');
});

test("a collection by V8 is followed, half a second later and with no pass since, by the reducer's", async (t) => {
  const h = reducer(40 * MiB, { observeGc: true });
  cleanup(t, () => h.r.close());
  h.used = 100 * MiB;
  h.afterGc = 60 * MiB;
  h.r.start(); // its own looks are 10 s apart
  exposeGc()!(); // a collection V8 makes (here: asked for), which the reducer sees
  await waitFor(() => h.calls.includes('full'), { what: 'the collection after V8s', timeoutMs: 5_000 });
  assert.ok(h.r.gcsSeen > 0);
});

test('passes going on hold the nudge back; the collection comes once they stop', async (t) => {
  const h = reducer(40 * MiB, { observeGc: true });
  cleanup(t, () => h.r.close());
  h.used = 100 * MiB;
  h.afterGc = 60 * MiB;
  h.quiet = 0; // a pass just now, and (below) for as long as the test says
  h.r.start();
  exposeGc()!();
  await waitFor(() => h.r.gcsSeen > 0, { what: 'the collection seen' });
  await waitFor(() => h.looks >= 2, { what: 'two nudges', timeoutMs: 5_000 });
  assert.deepEqual(h.calls, [], 'busy: nothing collected');
  h.quiet = 60_000;
  await waitFor(() => h.calls.includes('full'), { what: 'the collection once quiet', timeoutMs: 5_000 });
});

test('a train the daemon outlasts gives up, the second full collection still comes, and the next quiet look asks once more, once', async (t) => {
  const h = reducer(40 * MiB);
  cleanup(t, () => h.r.close());
  h.used = 100 * MiB;
  h.young = 32 * MiB;
  h.afterGc = 60 * MiB; // shrinkAt never: V8 keeps the young generation
  assert.equal(h.r.check(), true);
  await waitFor(() => h.collected.length === 1, { what: 'the collection to end', timeoutMs: 10_000 });
  const minors = h.calls.filter((c) => c === 'minor').length;
  assert.ok(minors >= 10 && minors <= 40, `the train gave up after ${minors}`);
  assert.equal(h.calls.at(-1), 'full');
  assert.equal(h.collected[0]!.youngAfter, 32 * MiB);
  h.quiet = 500; // busy again: the retry waits
  assert.equal(h.r.check(), false);
  h.quiet = 60_000;
  h.shrinkAfter(1_000); // and V8 keeps it this time too
  assert.equal(h.r.check(), true, 'asked once more');
  await waitFor(() => h.collected.length === 2, { what: 'the retry to end', timeoutMs: 10_000 });
  assert.equal(h.r.check(), false, 'not a third time');
  assert.equal(h.r.check(), false);
  assert.equal(h.collected.length, 2);
});

test('a pass during the train ends it, and the second full collection waits for the next quiet look', async (t) => {
  const h = reducer(40 * MiB);
  cleanup(t, () => h.r.close());
  h.used = 100 * MiB;
  h.young = 32 * MiB;
  h.afterGc = 60 * MiB;
  assert.equal(h.r.check(), true);
  h.quiet = 0; // the daemon is busy again
  await waitFor(() => h.collected.length === 1, { what: 'the collection to end', timeoutMs: 10_000 });
  assert.equal(h.collected[0]!.interrupted, true);
  assert.ok(h.collected[0]!.trainSteps <= 2, `the train stopped (${h.collected[0]!.trainSteps} steps)`);
  assert.equal(h.calls.filter((c) => c === 'full').length, 1, 'no second full collection on top of the work');
  assert.equal(h.r.check(), false, 'busy');
  h.quiet = 60_000;
  h.shrinkAfter(1);
  assert.equal(h.r.check(), true, 'quiet: finished');
  await waitFor(() => h.collected.length === 2, { what: 'the retry to end', timeoutMs: 10_000 });
  assert.deepEqual(h.calls.slice(-3), ['full', 'minor', 'full']);
});

test('after short work (an edit, a crash) the nudge waits for 5 s of quiet; after a burst, half a second', async (t) => {
  const h = reducer(40 * MiB, { observeGc: true });
  cleanup(t, () => h.r.close());
  h.used = 100 * MiB;
  h.afterGc = 60 * MiB;
  h.busy = 120; // one edit's passes
  h.quiet = 1500; // and the next edit may come any moment
  h.r.start();
  exposeGc()!();
  await waitFor(() => h.r.gcsSeen > 0, { what: 'the collection seen' });
  await waitFor(() => h.looks >= 1, { what: 'the nudge', timeoutMs: 5_000 });
  assert.deepEqual(h.calls, [], 'not 1.5 s after an edit');
  h.busy = 10_000; // a cold start
  exposeGc()!();
  await waitFor(() => h.calls.includes('full'), { what: 'the collection after a burst', timeoutMs: 5_000 });
});

test('growth that is small next to a large heap is left to V8, and what V8 gives back lowers the baseline', (t) => {
  const h = reducer(200 * MiB);
  cleanup(t, () => h.r.close());
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

test("the train makes this process's V8 give back a young generation a burst grew", async (t) => {
  const young = () => getHeapSpaceStatistics().find((x) => x.space_name === 'new_space')!.space_size;
  const gc = lazyGc();
  gc(); // from the young generation this process has now
  // A burst whose objects survive a collection or two, as a cold start's do: V8 grows the young
  // generation (16 MiB semi-spaces on this machine's Node 20).
  let keep: unknown[] = [];
  const live: unknown[] = [];
  for (let i = 0; i < 3_000_000; i++) {
    const o = { i, s: `x${i}` };
    keep.push(o);
    if (i % 100 === 0) live.push(o);
    if (keep.length > 100_000) keep = [];
  }
  keep = [];
  const grown = young();
  assert.ok(grown >= 16 * MiB, `the burst grew the young generation (${grown / MiB} MiB)`);
  let done: Collected | undefined;
  const r = new MemoryReducer({ gc, quietForMs: () => 60_000, gcQuietForMs: () => 60_000, onCollected: (c) => (done = c) });
  cleanup(t, () => r.close());
  assert.equal(r.check(), true);
  await waitFor(() => done !== undefined, { what: 'the collection to end', timeoutMs: 10_000 });
  assert.ok(done!.youngBefore >= 16 * MiB, `a full collection alone kept it (${done!.youngBefore / MiB} MiB)`);
  assert.ok(done!.youngAfter < 16 * MiB, `given back after ${done!.trainSteps} young-generation collections: ${done!.youngBefore / MiB} → ${done!.youngAfter / MiB} MiB`);
  assert.ok(young() < 16 * MiB, 'and it stays small');
  assert.equal(live.length, 30_000);
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
