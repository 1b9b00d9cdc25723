// Log paths and copy-and-truncate rotation, with a child writing to the log throughout; the
// LogRotator (prompt rotation, time index, run marks) and following and reading across rotation.

import assert from 'node:assert/strict';
import { appendFileSync, existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';

import { FileFollower, readHistory, type LogRecord } from '../../src/api/log-follow.js';
import { LogBook } from '../../src/runtime/log-book.js';
import { readIndex } from '../../src/runtime/log-index.js';
import { LogRotator } from '../../src/runtime/log-rotator.js';
import { logPath, rotateIfNeeded } from '../../src/runtime/logs.js';
import { cleanup, fixture, tempDir, waitFor } from '../helpers/index.js';
import { harness, launch } from './helpers.js';
import type { LogsSpec } from '../../src/spec/types.js';

/** What the controller does around a spawn: prepare the log, then record where the run begins. */
function newRun(rotator: LogRotator, log: string, spec: LogsSpec): void {
  rotator.prepareRun(log, spec);
  rotator.runStarted(log, existsSync(log) ? statSync(log).size : 0);
}

test('logPath is <logDir>/<svc>/<n>.log', () => {
  assert.equal(logPath('/s/logs', 'web', 3), '/s/logs/web/3.log');
});

test('a file under the size, or missing, is left alone', async (t) => {
  const dir = tempDir(t, { 'a.log': 'short\n' });
  assert.equal(await rotateIfNeeded(join(dir, 'a.log'), 100, 3), false);
  assert.equal(await rotateIfNeeded(join(dir, 'missing.log'), 100, 3), false);
  assert.equal(readFileSync(join(dir, 'a.log'), 'utf8'), 'short\n');
  assert.equal(existsSync(join(dir, 'a.log.1')), false);
});

test('rotation shifts generations and keeps max_files', async (t) => {
  const dir = tempDir(t);
  const log = join(dir, 'a.log');
  for (let gen = 1; gen <= 4; gen++) {
    writeFileSync(log, `generation ${gen}\n`.repeat(10));
    assert.equal(await rotateIfNeeded(log, 50, 2), true);
    assert.equal(statSync(log).size, 0);
  }
  assert.match(readFileSync(`${log}.1`, 'utf8'), /^generation 4\n/);
  assert.match(readFileSync(`${log}.2`, 'utf8'), /^generation 3\n/);
  assert.equal(existsSync(`${log}.3`), false);
});

test('max_files 0 truncates without keeping a copy', async (t) => {
  const dir = tempDir(t, { 'a.log': 'x'.repeat(100) });
  assert.equal(await rotateIfNeeded(join(dir, 'a.log'), 10, 0), true);
  assert.equal(statSync(join(dir, 'a.log')).size, 0);
  assert.equal(existsSync(join(dir, 'a.log.1')), false);
});

test('the child keeps writing at the start of the truncated file', async (t) => {
  const dir = tempDir(t);
  const h = harness(t);
  const log = join(dir, 'logs', 'svc', '0.log');
  await h.start({ launch: launch(fixture('print-lines.mjs', 0, 1), dir), logFile: log });
  await waitFor(() => existsSync(log) && statSync(log).size > 2000, { what: 'log over 2000 bytes' });
  assert.equal(await rotateIfNeeded(log, 2000, 3), true);
  const rotated = readFileSync(`${log}.1`, 'latin1');
  const lastRotated = Number(/line (\d+)\n$/.exec(rotated)![1]);
  // New lines arrive in the live file, numbered after the rotated ones, with no hole of NUL bytes
  // before them (O_APPEND writes go to the new end of file, not the old offset).
  const fresh = await waitFor(() => {
    const s = readFileSync(log, 'latin1');
    return s.split('\n').length > 5 ? s : '';
  }, { what: 'new lines after truncation' });
  assert.match(fresh, /^line \d+\n/);
  assert.ok(!fresh.includes('\0'));
  assert.ok(Number(/^line (\d+)/.exec(fresh)![1]) > lastRotated);
});

// ---- LogRotator: prompt rotation, time index, run marks; following across rotation ------------

test('the rotator keeps a chatty log near max_size, not at the next stats tick', async (t) => {
  const dir = tempDir(t);
  const h = harness(t);
  const book = new LogBook();
  const rotator = new LogRotator({ book });
  cleanup(t, () => rotator.close());
  const log = join(dir, 'logs', 'svc', '0.log');
  const max = 4096;
  newRun(rotator, log, { maxSizeBytes: max, maxFiles: 10 });
  // About 10 KB/s: a 4 KiB file fills in ~0.4 s, far sooner than the 5 s stats tick.
  await h.start({ launch: launch(fixture('print-lines.mjs', 0, 1), dir), logFile: log });
  await waitFor(() => book.rotations(log) >= 4, { what: 'four rotations', timeoutMs: 20_000 });
  for (let n = 1; n <= 3; n++) {
    const size = statSync(`${log}.${n}`).size;
    // The documented bound is what the child writes in CHECK_MS plus the copy (~1 KiB here); 6x max
    // leaves room for a loaded machine and still fails the old 5 s tick (~50 KiB per file).
    assert.ok(size >= max && size < 6 * max, `${log}.${n} is ${size} bytes`);
    // Each rotated copy took its time index with it.
    const index = readIndex(`${log}.${n}`);
    assert.ok(index.some((r) => r.kind === 't' && r.offset === size), `index of .${n} ends at its size`);
  }
});

test('a follower loses and repeats no line while the file is rotated under it, many times', async (t) => {
  const dir = tempDir(t);
  const h = harness(t);
  const book = new LogBook();
  const rotator = new LogRotator({ book, checkMs: 20 });
  cleanup(t, () => rotator.close());
  const log = join(dir, 'logs', 'svc', '0.log');
  const spec = { maxSizeBytes: 64 * 1024, maxFiles: 1000 };
  newRun(rotator, log, spec);
  const seen: string[] = [];
  const follower = new FileFollower(log, 0, async (records) => {
    for (const r of records) if (!r.run) seen.push(r.text);
  }, { book });
  // The writer runs until the file has been rotated five times (on a loaded machine a fixed amount
  // of output can be written before the rotator's first check), then is stopped.
  const { handle, exited } = await h.start({ launch: launch(fixture('write-fast.mjs', 100_000_000, 200), dir), logFile: log });
  let done = false;
  void exited.then(() => (done = true));
  const deadline = Date.now() + 60_000;
  let stopped = false;
  // Polls as `logs -f` does, while the rotator copies and truncates underneath.
  while (!done) {
    await follower.poll();
    if (!stopped && (book.rotations(log) >= 5 || Date.now() > deadline)) {
      stopped = true;
      process.kill(-handle.pgid, 'SIGTERM');
    }
    await new Promise((r) => setTimeout(r, 5));
  }
  await waitFor(async () => (await rotateIfNeeded(log, spec.maxSizeBytes, spec.maxFiles, book), true), { what: 'last rotation' });
  await follower.poll();
  await follower.flush();
  assert.ok(book.rotations(log) >= 5, `rotated ${book.rotations(log)} times`);
  // What the follower printed is exactly what is on disk, generation by generation.
  const gens: string[] = [];
  for (let n = book.rotations(log); n >= 1; n--) if (existsSync(`${log}.${n}`)) gens.push(readFileSync(`${log}.${n}`, 'utf8'));
  gens.push(readFileSync(log, 'utf8'));
  const disk = gens.join('').split('\n').filter((l) => l !== '');
  assert.equal(seen.length, disk.length);
  assert.deepEqual(seen, disk);
  // And in order, with no number twice.
  const numbers = seen.map((l) => Number(/^line (\d+) /.exec(l)?.[1]));
  for (let i = 1; i < numbers.length; i++) assert.ok(numbers[i]! > numbers[i - 1]!, `line ${numbers[i]} after ${numbers[i - 1]}`);
});

test('history: lines stamped from the index, in order, with a run record where a new run began', async (t) => {
  const dir = tempDir(t);
  const book = new LogBook();
  const rotator = new LogRotator({ book });
  cleanup(t, () => rotator.close());
  const log = join(dir, 'web', '0.log');
  newRun(rotator, log, { maxSizeBytes: 0, maxFiles: 0 });
  writeFileSync(log, 'first run 1\nfirst run 2\n');
  newRun(rotator, log, { maxSizeBytes: 0, maxFiles: 0 }); // a restart
  appendFileSync(log, 'second run\n');
  rotator.flushIndex(log);
  const { records, end } = await readHistory(log, { book });
  const all: LogRecord[] = [];
  for await (const r of records) all.push(r);
  assert.deepEqual(all.map((r) => (r.run ? '--run--' : r.text)), ['--run--', 'first run 1', 'first run 2', '--run--', 'second run']);
  for (let i = 1; i < all.length; i++) assert.ok(all[i]!.at >= all[i - 1]!.at);
  assert.equal(end.position, statSync(log).size);
  // --since after everything: nothing; -n 1: the last line only.
  const later = await readHistory(log, { book, since: Date.now() + 60_000 });
  assert.equal((await later.records.next()).done, true);
  // -n counts lines, as `docker compose logs --tail` does: a run mark before the first line shown
  // is not one of them, and is left out; one between two lines shown stays.
  const tailed = async (n: number) => {
    const out: string[] = [];
    for await (const r of (await readHistory(log, { book, tail: n })).records) out.push(r.run ? '--run--' : r.text);
    return out;
  };
  assert.deepEqual(await tailed(1), ['second run']);
  assert.deepEqual(await tailed(2), ['first run 2', '--run--', 'second run']);
  assert.deepEqual(await tailed(3), ['first run 1', 'first run 2', '--run--', 'second run']);
});

test('an untracked log is forgotten once its window ends: its last bytes indexed from the watch; a new run in time keeps it watched', async (t) => {
  const dir = tempDir(t);
  const book = new LogBook();
  const rotator = new LogRotator({ book, checkMs: 20 });
  cleanup(t, () => rotator.close());
  const gone = join(dir, 'web', '0.log');
  const back = join(dir, 'web', '1.log');
  for (const log of [gone, back]) {
    newRun(rotator, log, { maxSizeBytes: 0, maxFiles: 0 });
    appendFileSync(log, 'hello\n');
  }
  await waitFor(() => [gone, back].every((log) => (rotator.flushIndex(log), readIndex(log).some((r) => r.kind === 't'))), { what: 'both runs indexed' });
  // The replica's last words, written just before its slot goes (scale down, tend down).
  appendFileSync(gone, 'last words\n');
  rotator.untrack(gone);
  rotator.untrack(back);
  newRun(rotator, back, { maxSizeBytes: 0, maxFiles: 0 }); // scaled up again at once
  const size = statSync(gone).size;
  await waitFor(() => readIndex(gone).some((r) => r.kind === 't' && r.offset === size), { what: 'the last bytes in the index' });
  // The slot that came back is still watched: a write is indexed as it comes.
  appendFileSync(back, 'still here\n');
  const backSize = statSync(back).size;
  await waitFor(() => { rotator.flushIndex(back); return readIndex(back).some((r) => r.kind === 't' && r.offset === backSize); }, { what: 'the returning slot indexed' });
  // The one that left is not: a later write is not indexed.
  await new Promise((r) => setTimeout(r, 100));
  appendFileSync(gone, 'after it left\n');
  rotator.flushIndex(gone);
  await new Promise((r) => setTimeout(r, 100));
  assert.ok(!readIndex(gone).some((r) => r.offset > size), 'a log forgotten is not indexed any more');
});

test('a follower prints a run separator where a restart began, after the old run\'s last lines', async (t) => {
  const dir = tempDir(t);
  const book = new LogBook();
  const rotator = new LogRotator({ book });
  cleanup(t, () => rotator.close());
  const log = join(dir, 'web', '0.log');
  newRun(rotator, log, { maxSizeBytes: 0, maxFiles: 0 });
  writeFileSync(log, 'old 1\n');
  const got: string[] = [];
  const follower = new FileFollower(log, 0, async (rs) => void got.push(...rs.map((r) => (r.run ? '--run--' : r.text))), { book });
  await follower.poll();
  appendFileSync(log, 'old 2 (while stopping)\n');
  newRun(rotator, log, { maxSizeBytes: 0, maxFiles: 0 });
  appendFileSync(log, 'new 1\n');
  await follower.poll();
  assert.deepEqual(got, ['old 1', 'old 2 (while stopping)', '--run--', 'new 1']);
});
