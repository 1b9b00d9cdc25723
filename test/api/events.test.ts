// Event history: ids that continue across a restart, history served from events.jsonl (and its
// rotated file) rather than only memory, SSE `id:` lines with Last-Event-ID / ?since= resume, and a
// reader that stops reading is cut off instead of growing the daemon. Real files, a real server on a
// temp Unix socket, real HTTP clients; the ControlPlane's events come from a real EventLog.

import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { request, type IncomingMessage } from 'node:http';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { ApiClient } from '../../src/api/client.js';
import { startApiServer, SSE_MAX_BACKLOG_BYTES } from '../../src/api/server.js';
import type { ControlPlane, TendEvent } from '../../src/api/types.js';
import { EventLog } from '../../src/events.js';
import { controlPlane } from '../helpers/control-plane.js';
import { cleanup, tempDir, waitFor } from '../helpers/index.js';

function lines(path: string): TendEvent[] {
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as TendEvent);
}

function ids(events: { id?: number }[]): (number | undefined)[] {
  return events.map((e) => e.id);
}

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}

test('every event gets the next id; fields that do not apply are left out', async (t) => {
  const dir = tempDir(t);
  const log = new EventLog({ path: join(dir, 'events.jsonl') });
  const a = (log as unknown as LooseEvents).emit({ type: 'spec.loaded' });
  const b = (log as unknown as LooseEvents).emit({ type: 'replica.exited', service: 'web', replica: 0, exit_code: null, signal: 'SIGKILL', reason: undefined });
  await log.close();
  assert.deepEqual([a.id, b.id], [1, 2]);
  const onDisk = lines(join(dir, 'events.jsonl'));
  assert.deepEqual(Object.keys(onDisk[1] as object), ['id', 'ts', 'type', 'service', 'replica', 'signal']);
});

test('ids continue after a restart, read back from events.jsonl or its rotated file', async (t) => {
  const dir = tempDir(t);
  const path = join(dir, 'events.jsonl');
  const first = new EventLog({ path });
  for (let i = 0; i < 5; i++) (first as unknown as LooseEvents).emit({ type: 'replica.started', replica: i });
  await first.close();

  const second = new EventLog({ path });
  assert.equal((second as unknown as LooseEvents).emit({ type: 'spec.loaded' }).id, 6);
  await second.close();

  // Rotated just before the restart: the live file is empty, the last id is in events.jsonl.1.
  const third = new EventLog({ path, maxBytes: 1 });
  assert.equal((third as unknown as LooseEvents).emit({ type: 'spec.loaded' }).id, 7);
  await third.close();
  assert.ok(existsSync(`${path}.1`));
  const fourth = new EventLog({ path });
  assert.equal((fourth as unknown as LooseEvents).emit({ type: 'spec.loaded' }).id, 8);
  await fourth.close();
});

test('history reaches past memory into events.jsonl and events.jsonl.1; -n 0 is nothing', async (t) => {
  const dir = tempDir(t);
  const path = join(dir, 'events.jsonl');
  // Small files and a small ring: 100 events span the rotated file, the live file and memory.
  const before = new EventLog({ path, maxBytes: 2000 });
  for (let i = 0; i < 60; i++) (before as unknown as LooseEvents).emit({ type: 'replica.started', service: 'web', replica: i });
  await before.close();
  const log = new EventLog({ path, maxBytes: 2000, keep: 10 });
  cleanup(t, () => log.close());
  for (let i = 60; i < 100; i++) (log as unknown as LooseEvents).emit({ type: 'replica.started', service: 'web', replica: i });

  assert.deepEqual(await log.history(0), []);
  assert.deepEqual(ids(await log.history(5)), range(96, 100), 'from memory');
  const all = await log.history(Number.POSITIVE_INFINITY);
  // What survives on disk is events.jsonl.1 and events.jsonl: everything since the last-but-one rotation.
  const onDisk = [...(existsSync(`${path}.1`) ? lines(`${path}.1`) : []), ...(existsSync(path) ? lines(path) : [])];
  const oldest = onDisk[0]?.id ?? 0;
  assert.ok(oldest > 1 && oldest < 90, `the files hold a window of the history (from ${oldest})`);
  assert.deepEqual(ids(all), range(oldest, 100), 'no gap, no duplicate across files and memory');
  assert.deepEqual(ids(await log.history(Number.POSITIVE_INFINITY, 94)), range(95, 100));
  assert.deepEqual(ids(await log.history(3, oldest + 1)), range(98, 100), 'the last 3 after an id');
  assert.deepEqual(ids(await log.history(Number.POSITIVE_INFINITY, oldest + 1)), range(oldest + 2, 100));
  assert.deepEqual(await log.history(10, 100), []);
});

test('history skips torn lines and keeps lines from before ids', async (t) => {
  const dir = tempDir(t);
  const path = join(dir, 'events.jsonl');
  writeFileSync(path, '{"ts":"2024-01-01T00:00:00.000Z","type":"spec.loaded"}\n{"id":1,"ts":"2024-01-01T00:00:01.000Z","type":"x"}\n{"id":2,"ts":"2024-01-0');
  const log = new EventLog({ path });
  cleanup(t, () => log.close());
  // Id 2 was handed out (a client may have seen it live) though its line is torn: never reused.
  assert.equal((log as unknown as LooseEvents).emit({ type: 'spec.loaded' }).id, 3);
  const all = await log.history(100);
  assert.deepEqual(
    all.map((e) => [e.id, e.type]),
    [
      [undefined, 'spec.loaded'],
      [1, 'x'],
      [3, 'spec.loaded'],
    ],
  );
});

// ---- over the socket ----------------------------------------------------------------------

function controlOf(events: EventLog): ControlPlane {
  return controlPlane({ recentEvents: (limit, since) => events.history(limit, since), subscribe: (l) => events.subscribe(l) });
}

async function serve(t: TestContext, events: EventLog): Promise<string> {
  const dir = tempDir(t);
  const socket = join(dir, 's.sock');
  const server = await startApiServer(socket, controlOf(events), { warn: () => {} });
  cleanup(t, () => server.close());
  return socket;
}

function get(socket: string, path: string, headers: Record<string, string> = {}): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath: socket, path, headers }, resolve);
    req.on('error', reject);
    req.end();
  });
}

async function text(res: IncomingMessage): Promise<string> {
  let s = '';
  for await (const c of res) s += String(c);
  return s;
}

/** Reads SSE frames until `count` events came; returns them with their `id:` lines. */
async function readFrames(res: IncomingMessage, count: number): Promise<{ id: string; data: TendEvent }[]> {
  const out: { id: string; data: TendEvent }[] = [];
  let buf = '';
  for await (const c of res) {
    buf += String(c);
    let end: number;
    while ((end = buf.indexOf('\n\n')) >= 0) {
      const block = buf.slice(0, end);
      buf = buf.slice(end + 2);
      const id = /^id: (.*)$/m.exec(block)?.[1];
      const data = /^data: (.*)$/m.exec(block)?.[1];
      if (id !== undefined && data !== undefined) out.push({ id, data: JSON.parse(data) as TendEvent });
      if (out.length === count) {
        res.destroy();
        return out;
      }
    }
  }
  return out;
}

test('SSE sends id: lines and resumes after Last-Event-ID, also across a daemon restart', async (t) => {
  const dir = tempDir(t);
  const path = join(dir, 'events.jsonl');
  const before = new EventLog({ path });
  for (let i = 0; i < 5; i++) (before as unknown as LooseEvents).emit({ type: 'replica.started', replica: i });
  await before.close();
  // A new daemon with nothing in memory: the history comes from the file.
  const events = new EventLog({ path });
  cleanup(t, () => events.close());
  const socket = await serve(t, events);

  const firstTwo = await readFrames(await get(socket, '/v1/events?tail=2'), 2);
  assert.deepEqual(firstTwo.map((f) => f.id), ['4', '5']);
  assert.equal(firstTwo[0]?.data.id, 4);

  const resumed = get(socket, '/v1/events', { 'last-event-id': '3' }).then((res) => readFrames(res, 4));
  // Emitted while the resume may still be reading the file: neither lost nor sent twice.
  (events as unknown as LooseEvents).emit({ type: 'spec.loaded' });
  (events as unknown as LooseEvents).emit({ type: 'spec.loaded' });
  assert.deepEqual((await resumed).map((f) => f.id), ['4', '5', '6', '7']);

  const since = await text(await get(socket, '/v1/events?follow=0&since=5'));
  assert.deepEqual(since.trim().split('\n').map((l) => (JSON.parse(l) as TendEvent).id), [6, 7]);
  assert.equal(await text(await get(socket, '/v1/events?follow=0&tail=0')), '', 'tail=0 is nothing');
  const bad = await get(socket, '/v1/events', { 'last-event-id': 'yesterday' });
  assert.equal(bad.statusCode, 400);
  assert.match(await text(bad), /Last-Event-ID header/);
});

test('the client resumes by id: `events -f` after a cut sees every event once', async (t) => {
  const events = new EventLog({ keep: 100_000 });
  const socket = await serve(t, events);
  const total = 3000;
  const ac = new AbortController();
  cleanup(t, () => ac.abort());
  const stream = new ApiClient(socket).events({ signal: ac.signal, tail: 0 });
  // The first pull connects; then nothing is read while the daemon emits far more than the backlog bound.
  const pad = 'x'.repeat(400);
  const firstPull = stream.next();
  await waitFor(() => (events as unknown as { listeners: Set<unknown> }).listeners.size === 1, { what: 'the subscription' });
  for (let i = 0; i < total; i++) (events as unknown as LooseEvents).emit({ type: 'replica.exited', replica: i, detail: pad });
  assert.ok(total * pad.length > 2 * SSE_MAX_BACKLOG_BYTES, 'the test emits more than the bound');
  const seen: number[] = [];
  const first = await firstPull;
  seen.push((first.value as TendEvent).id as number);
  for await (const e of stream) {
    seen.push(e.id as number);
    if (seen.length === total) break;
  }
  assert.deepEqual(seen, range(1, total));
});

test('a reader that stops reading is disconnected; a fast reader gets everything; memory stays bounded', async (t) => {
  const events = new EventLog({ keep: 10 });
  const socket = await serve(t, events);
  const listeners = (events as unknown as { listeners: Set<unknown> }).listeners;

  // Ten clients that connect and never read a byte.
  const slow: IncomingMessage[] = [];
  for (let i = 0; i < 10; i++) {
    const res = await get(socket, '/v1/events?tail=0');
    res.pause();
    slow.push(res);
  }
  cleanup(t, () => slow.forEach((r) => r.destroy()));
  const fast = await get(socket, '/v1/events?tail=0');
  const received: number[] = [];
  let buf = '';
  fast.on('data', (c: Buffer) => {
    buf += c.toString();
    let end: number;
    while ((end = buf.indexOf('\n\n')) >= 0) {
      const m = /^id: (\d+)$/m.exec(buf.slice(0, end));
      if (m) received.push(Number(m[1]));
      buf = buf.slice(end + 2);
    }
  });
  cleanup(t, () => fast.destroy());
  await waitFor(() => listeners.size === 11, { what: 'eleven subscribers' });

  // A crash loop's worth of events, emitted in turns so the fast reader keeps up.
  const pad = 'y'.repeat(1000);
  const total = 4000;
  for (let i = 0; i < total; i++) {
    (events as unknown as LooseEvents).emit({ type: 'replica.exited', replica: i, detail: pad });
    if (i % 100 === 99) await waitFor(() => received.length === i + 1, { what: `event ${i + 1} at the fast reader` });
  }
  await waitFor(() => received.length === total, { what: 'every event at the fast reader' });
  assert.deepEqual(received, range(1, total));
  // 4 MB went out; each slow client could hold at most the bound before being cut off.
  assert.equal(listeners.size, 1, 'the slow clients were disconnected; the fast one stays');
});

/** Tests and benches send hand-written events of any shape. */
type LooseEvents = { emit(e: object): import("../../src/reconcile/events.js").TendEvent };
