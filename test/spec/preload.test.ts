// The read made before the settle window closes (src/spec/preload.ts), through the daemon's own
// wiring (Supervisor: watcher → preload → controller) on a real directory: it is used when nothing
// moved until the window closed, and thrown away when something did, so that what runs is always
// what the files said last.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LoadResult } from '../../src/spec/types.js';
import { sleepService, startSupervisor } from '../helpers/supervisor.js';
import { tempDir, waitFor } from '../helpers/index.js';

/** Counts the source's reads, and runs `afterRead` (once) when one has read the files; the read
 *  returns once what it returns has settled. */
function countReads(source: { load(prev?: LoadResult): Promise<LoadResult> }) {
  const load = source.load.bind(source);
  const c = { reads: 0, afterRead: undefined as (() => unknown) | undefined };
  source.load = async (prev?: LoadResult) => {
    c.reads++;
    const result = await load(prev);
    const f = c.afterRead;
    c.afterRead = undefined;
    await f?.();
    return result;
  };
  return c;
}

const replicasOf = (ts: Awaited<ReturnType<typeof startSupervisor>>) => ts.sup.controller.desiredState.services.get('a')?.replicas;

test('an edit is read once, before the window closes, and applied when it closes', async (t) => {
  const root = tempDir(t, { 'services.d/a.yaml': sleepService('replicas: 1\n') });
  const dir = join(root, 'services.d');
  const ts = await startSupervisor(t, dir, join(root, 'state'), { settleMs: 300 });
  await ts.waitReady('a', 1);
  const c = countReads(ts.sup.source);
  const written = Date.now();
  writeFileSync(join(dir, 'a.yaml'), sleepService('replicas: 2\n'));
  await ts.waitReady('a', 2);
  // Not before the window closed (less a few ms: a timer counts from the loop's cached clock).
  assert.ok(Date.now() - written >= 250, 'applied after the settle window, not before');
  assert.equal(c.reads, 1, 'the read made while the window was open was the one applied');
});

test('a write after the early read throws it away: what runs is the last write', async (t) => {
  const root = tempDir(t, { 'services.d/a.yaml': sleepService('replicas: 1\n') });
  const dir = join(root, 'services.d');
  const ts = await startSupervisor(t, dir, join(root, 'state'), { settleMs: 300 });
  await ts.waitReady('a', 1);
  const c = countReads(ts.sup.source);
  // The early read sees `replicas: 2`; the file changes again just after it, and the read is
  // still going when the next quiet moment comes (so no newer early read replaces it).
  c.afterRead = async () => {
    writeFileSync(join(dir, 'a.yaml'), sleepService('replicas: 3\n'));
    await new Promise((r) => setTimeout(r, 150)); // a slow read: longer than the 60 ms quiet time
  };
  writeFileSync(join(dir, 'a.yaml'), sleepService('replicas: 2\n'));
  await ts.waitReady('a', 3);
  assert.equal(replicasOf(ts), 3);
  assert.ok(c.reads >= 2, `read again after the second write (${c.reads} reads)`);
  const scaled = ts.events.filter((e) => e.type === 'service.scaled' && e.service === 'a').map((e) => e.message);
  assert.deepEqual(scaled, ['1 → 3'], 'the read of `replicas: 2` was never applied');
});

test('a reload asked for (SIGHUP, tend reload) reads afresh, whatever was read early', async (t) => {
  const root = tempDir(t, { 'services.d/a.yaml': sleepService('replicas: 1\n') });
  const dir = join(root, 'services.d');
  const ts = await startSupervisor(t, dir, join(root, 'state'), { settleMs: 300 });
  await ts.waitReady('a', 1);
  const c = countReads(ts.sup.source);
  writeFileSync(join(dir, 'a.yaml'), sleepService('replicas: 2\n'));
  await ts.waitReady('a', 2);
  const before = c.reads;
  ts.sup.controller.markSpecDirty();
  await ts.waitFor(() => c.reads > before, 'a fresh read');
  assert.equal(c.reads, before + 1);
});

// The daemon starts its first read before the rest of its start-up (Supervisor.watchAndRead):
// start() takes it only if the watcher, started with it, saw nothing since.

test('the first read, started ahead of start(), is the one applied when nothing moved', async (t) => {
  const root = tempDir(t, { 'services.d/a.yaml': sleepService('replicas: 2\n') });
  let c: ReturnType<typeof countReads> | undefined;
  const ts = await startSupervisor(t, join(root, 'services.d'), join(root, 'state'), {}, {
    beforeStart: (sup) => {
      c = countReads(sup.source);
      sup.watchAndRead();
    },
  });
  await ts.waitReady('a', 2);
  assert.equal(c?.reads, 1, 'one read: the early one');
});

test('a write between the first read and start() is what the first load applies', async (t) => {
  const root = tempDir(t, { 'services.d/a.yaml': sleepService('replicas: 1\n') });
  const dir = join(root, 'services.d');
  let c: ReturnType<typeof countReads> | undefined;
  const ts = await startSupervisor(t, dir, join(root, 'state'), { settleMs: 300 }, {
    beforeStart: async (sup) => {
      c = countReads(sup.source);
      let read!: () => void;
      const done = new Promise<void>((r) => (read = r));
      // The early read has seen `replicas: 1`; the file changes before start().
      c.afterRead = () => {
        writeFileSync(join(dir, 'a.yaml'), sleepService('replicas: 3\n'));
        read();
      };
      sup.watchAndRead();
      await done;
      await waitFor(() => sup.watcher.currentGeneration > 0, { what: 'the watcher to see the write' });
    },
  });
  await ts.waitReady('a', 3);
  assert.equal(replicasOf(ts), 3);
  assert.ok((c?.reads ?? 0) >= 2, `read again at start() (${c?.reads} reads)`);
  assert.deepEqual(ts.events.filter((e) => e.type === 'service.scaled'), [], '`replicas: 1` was never applied');
});
