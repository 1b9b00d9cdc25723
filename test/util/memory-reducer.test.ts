// The memory reducer collects once a burst of work has grown the heap V8 holds and the daemon is
// quiet, and at no other time. The rule is checked with heap figures the test sets; the collection
// itself is V8's real one (reducingCollector), checked in this process and in a fresh node.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { test } from 'node:test';
import { getHeapSpaceStatistics, getHeapStatistics } from 'node:v8';
import { MemoryReducer, reducingCollector } from '../../src/util/memory-reducer.js';
import { waitFor } from '../helpers/index.js';

const MiB = 2 ** 20;

/** A reducer over a heap of `start` bytes; collect() brings it to `afterCollect`. */
function reducer(start: number) {
  const h = {
    committed: start,
    afterCollect: start,
    quiet: 60_000,
    young: 1 * MiB,
    collections: 0,
  };
  const r = new MemoryReducer({
    collect: () => {
      h.collections++;
      h.committed = h.afterCollect;
      h.young = 1 * MiB;
    },
    quietForMs: () => h.quiet,
    heapCommitted: () => h.committed,
    youngCommitted: () => h.young,
    afterGcMs: 20,
  });
  return { r, h };
}

test('a heap grown well past what the last collection left is collected once the daemon is quiet, once', (t) => {
  const { r, h } = reducer(40 * MiB);
  t.after(() => r.close());
  h.committed = 60 * MiB; // +20 MiB: under MIN_GROWTH_BYTES
  assert.equal(r.check(), false);
  h.committed = 120 * MiB;
  h.quiet = 500; // a pass half a second ago: the burst goes on
  assert.equal(r.check(), false);
  h.quiet = 1500;
  h.afterCollect = 45 * MiB;
  assert.equal(r.check(), true);
  assert.equal(h.collections, 1);
  // What the collection left is the new baseline: the same heap is not collected again.
  assert.equal(r.check(), false);
  h.committed = 70 * MiB;
  assert.equal(r.check(), false);
  assert.equal(h.collections, 1);
});

test('a second after V8 last collected, the end of the burst is seen; passes still coming put the look off', async (t) => {
  const { r, h } = reducer(40 * MiB);
  t.after(() => r.close());
  h.committed = 140 * MiB;
  h.afterCollect = 42 * MiB;
  h.quiet = 0; // replicas still reporting
  r.gcSeen();
  await new Promise((res) => setTimeout(res, 100));
  assert.equal(h.collections, 0, 'not while passes come');
  h.quiet = 1200;
  // The look after a busy one comes QUIET_MS (1 s) later.
  await waitFor(() => h.collections === 1, { timeoutMs: 5000, what: 'the collection after the burst' });
  // The collection's own collections are seen too: a look after them finds nothing grown.
  r.gcSeen();
  await new Promise((res) => setTimeout(res, 100));
  assert.equal(h.collections, 1);
});

test('a collection of V8 with nothing grown brings no look after it', async (t) => {
  const { r, h } = reducer(40 * MiB);
  t.after(() => r.close());
  h.committed = 50 * MiB;
  r.gcSeen();
  await new Promise((res) => setTimeout(res, 100));
  assert.equal(h.collections, 0);
});

test('a young generation a burst grew is given back even when the whole heap grew little; once, until V8 shrinks it', (t) => {
  const { r, h } = reducer(40 * MiB);
  t.after(() => r.close());
  h.committed = 60 * MiB;
  h.young = 32 * MiB;
  h.afterCollect = 40 * MiB;
  assert.equal(r.check(), true);
  // A collector that left the young generation large (say, an older V8): not at every look.
  h.young = 32 * MiB;
  assert.equal(r.check(), false);
  h.young = 1 * MiB; // V8 shrank it: the rule may fire again after the next burst
  assert.equal(r.check(), false);
  h.young = 16 * MiB;
  assert.equal(r.check(), true);
  assert.equal(h.collections, 2);
});

test('growth that is small next to a large heap is left to V8, and what V8 gives back lowers the baseline', (t) => {
  const { r, h } = reducer(200 * MiB);
  t.after(() => r.close());
  h.committed = 260 * MiB; // +60 MiB, under half of 200
  assert.equal(r.check(), false);
  h.committed = 150 * MiB; // V8 shrank it on its own: the new baseline
  assert.equal(r.check(), false);
  h.committed = 230 * MiB; // +80 MiB over 150: more than half
  assert.equal(r.check(), true);
});

test('no collector to be had: the reducer does nothing', () => {
  const r = new MemoryReducer({ collect: undefined, quietForMs: () => 60_000, heapCommitted: () => 1e12 });
  r.start();
  assert.equal(r.check(), false);
  r.gcSeen();
  r.close();
});

test("reducingCollector: V8's collection of all it can, which gives back the young generation a burst grew", async () => {
  const collect = reducingCollector();
  assert.equal(typeof collect, 'function', 'this Node has v8.queryObjects');
  const young = () => getHeapSpaceStatistics().find((x) => x.space_name === 'new_space')!.space_size;
  // Objects that survive scavenges grow the young generation (to 16–32 MiB on this V8).
  let keep: unknown[] | undefined = [];
  for (let k = 0; k < 20; k++) {
    for (let i = 0; i < 50_000; i++) keep.push({ i, s: `x${i}`, a: [i] });
    await new Promise((r) => setImmediate(r));
  }
  const grownYoung = young();
  const grownUsed = getHeapStatistics().used_heap_size;
  assert.ok(grownYoung >= 8 * MiB, `the young generation grew (${(grownYoung / MiB).toFixed(1)} MiB)`);
  keep = undefined;
  collect!();
  assert.equal(keep, undefined);
  assert.ok(young() <= 2 * MiB, `young generation ${(grownYoung / MiB).toFixed(1)} → ${(young() / MiB).toFixed(1)} MiB`);
  assert.ok(getHeapStatistics().used_heap_size < grownUsed - 20 * MiB, 'the garbage is collected');
});

test('reducingCollector says nothing on stderr (queryObjects is marked experimental)', () => {
  const module = resolve(import.meta.dirname, '../../src/util/memory-reducer.ts');
  const r = spawnSync(
    process.execPath,
    ['--import', 'tsx', '--input-type=module', '-e', `import { reducingCollector } from ${JSON.stringify(module)}; reducingCollector()(); reducingCollector()(); console.log('ok');`],
    { encoding: 'utf8', timeout: 60_000 },
  );
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim(), 'ok');
  assert.equal(r.stderr, '');
});
