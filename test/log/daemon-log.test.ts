// The daemon's log on a full disk: a real 256 KiB tmpfs, filled with a real file. Logging must drop
// and count lines instead of looping or throwing, hold a bounded buffer, and recover once space
// returns; the real daemon, its log on that tmpfs (as `up -d` has it), keeps supervising throughout.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { closeSync, fstatSync, mkdirSync, openSync, readFileSync, readlinkSync, statSync, unlinkSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import pino from 'pino';
import { ApiClient } from '../../src/api/client.js';
import { BoundedLogWriter, logLoss } from '../../src/log/daemon-log.js';
import { SOCKET_NAME } from '../../src/state/pid-file.js';
import { killAfter } from '../helpers/daemon.js';
import { cleanup, FIXTURES, NODE, ROOT, smallTmpfs, specDir, tempDir, waitFor } from '../helpers/index.js';
import { sleepService } from '../helpers/supervisor.js';

/** A 256 KiB tmpfs, unmounted and removed after the test; undefined (test skipped) without root. */
const smallDisk = (t: TestContext): string | undefined => smallTmpfs(t, '256k');

/** Writes a file until the disk is full; returns its path (delete it to free the space). */
function fill(dir: string): string {
  const path = join(dir, 'filler');
  const fd = openSync(path, 'w');
  const block = Buffer.alloc(4096, 0x41);
  try {
    for (;;) writeSync(fd, block);
  } catch (err) {
    assert.equal((err as NodeJS.ErrnoException).code, 'ENOSPC');
  } finally {
    closeSync(fd);
  }
  return path;
}

test('a full disk: lines are dropped and counted, the buffer stays bounded, writing resumes when space returns', async (t) => {
  const mnt = smallDisk(t);
  if (!mnt) return;
  const logPath = join(mnt, 'tend.log');
  const fd = openSync(logPath, 'a');
  cleanup(t, () => closeSync(fd));
  const recovered: number[] = [];
  const writer = new BoundedLogWriter(fd, { maxBufferBytes: 32 * 1024, retryMs: 20, onRecovered: (n) => recovered.push(n) });
  const log = pino({ level: 'info' }, writer);
  log.info('before the disk filled');
  await waitFor(() => readFileSync(logPath, 'utf8').includes('before the disk filled'), { what: 'the first line on disk' });

  const filler = fill(mnt);
  const before = logLoss();
  const line = 'x'.repeat(200);
  for (let i = 0; i < 5000; i++) log.info({ i }, line);
  // All 5000 calls returned: nothing looped. Now the writer fails, retries, and drops past its bound.
  await waitFor(() => logLoss().failedWrites > before.failedWrites, { what: 'a failed write (ENOSPC)' });
  assert.equal(logLoss().lastError, 'ENOSPC');
  assert.ok(writer.pendingBytes <= 32 * 1024, `at most the bound is held (${writer.pendingBytes})`);
  const dropped = logLoss().droppedLines - before.droppedLines;
  assert.ok(dropped > 4000, `most lines were dropped and counted (${dropped})`);
  // Retries keep failing while the disk stays full, without an 'error' that would end this process.
  await waitFor(() => logLoss().failedWrites > before.failedWrites + 3, { what: 'retries' });

  unlinkSync(filler);
  log.info('after space returned');
  await waitFor(() => readFileSync(logPath, 'utf8').includes('after space returned'), { what: 'writing resumed' });
  // The line can be on disk a moment before the write's completion clears the error.
  await waitFor(() => logLoss().lastError === null, { what: 'the error cleared' });
  assert.deepEqual(recovered, [dropped]);
  const text = readFileSync(logPath, 'utf8');
  // What was held in the buffer is written in order before the new line.
  assert.ok(text.indexOf('"i":0,') < text.indexOf('after space returned'));
});

test('the daemon with its log on a full disk keeps supervising and answering, and logs again later', async (t) => {
  const mnt = smallDisk(t);
  if (!mnt) return;
  const { dir } = specDir(t, { 'calm.yaml': sleepService() });
  const state = join(mnt, 'state');
  mkdirSync(state, { mode: 0o700 }); // private, as tend requires of a state directory
  // As `up -d` has it: the daemon's stdout and stderr are tend.log in the state directory.
  const logPath = join(state, 'tend.log');
  const out = openSync(logPath, 'a');
  const child = spawn(NODE, ['--import', 'tsx', join(FIXTURES, 'run-daemon.ts'), dir, state], { cwd: ROOT, stdio: ['ignore', out, out] });
  closeSync(out);
  killAfter(t, child, state);
  const api = new ApiClient(join(state, SOCKET_NAME), { timeoutMs: 5000 });
  const running = (n: number) => async () => (await api.service('calm')).replicas.filter((r) => r.state === 'running').length === n;
  await waitFor(running(1), { what: 'calm running', timeoutMs: 20_000 });

  const filler = fill(mnt);
  const sizeWhenFull = statSync(logPath).size;
  // Every change is logged; the disk is full. The daemon must still apply them and answer.
  for (const n of [2, 3, 1]) {
    writeFileSync(join(dir, 'calm.yaml'), sleepService(`replicas: ${n}`));
    await waitFor(running(n), { what: `calm at ${n} replicas with the disk full`, timeoutMs: 20_000 });
  }
  assert.equal(child.exitCode, null, 'tend is still running');

  unlinkSync(filler);
  writeFileSync(join(dir, 'calm.yaml'), sleepService('replicas: 2'));
  await waitFor(running(2), { what: 'calm at 2 replicas after space returned', timeoutMs: 20_000 });
  // What was logged meanwhile was held (or dropped and counted) and reaches the file now.
  await waitFor(() => statSync(logPath).size > sizeWhenFull, { what: 'tend.log written again', timeoutMs: 20_000 });
  assert.equal(child.exitCode, null, 'tend is still running');
});

test('reopen moves the writer to a new file and closes the old descriptor once its write is done (one leaked at each state directory put back)', async (t) => {
  const dir = tempDir(t);
  const oldPath = join(dir, 'old.log');
  const newPath = join(dir, 'new.log');
  const fd = openSync(oldPath, 'a');
  const writer = new BoundedLogWriter(fd);
  const log = pino({ level: 'info' }, writer);
  log.info('before'); // its write is in flight now
  const next = openSync(newPath, 'a');
  cleanup(t, () => closeSync(next));
  writer.reopen(next);
  log.info('after');
  await waitFor(() => writer.pendingBytes === 0, { what: 'both lines written' });
  assert.match(readFileSync(oldPath, 'utf8'), /"msg":"before"/);
  assert.match(readFileSync(newPath, 'utf8'), /"msg":"after"/);
  assert.doesNotMatch(readFileSync(newPath, 'utf8'), /before/);
  const target = (() => {
    try {
      return readlinkSync(`/proc/self/fd/${fd}`);
    } catch {
      return undefined;
    }
  })();
  assert.notEqual(target, oldPath, 'the old descriptor is closed');
  // Never the process's own stdio, which Node itself writes to.
  const onStdout = new BoundedLogWriter(1);
  const again = openSync(newPath, 'a');
  onStdout.reopen(again);
  cleanup(t, () => closeSync(again));
  assert.doesNotThrow(() => fstatSync(1));
});

test('lines dropped because writes fell behind (no failure) are reported once the writer caught up', async (t) => {
  const dir = tempDir(t);
  const logPath = join(dir, 'tend.log');
  const fd = openSync(logPath, 'a');
  cleanup(t, () => closeSync(fd));
  const recovered: [number, string][] = [];
  const writer = new BoundedLogWriter(fd, { maxBufferBytes: 8 * 1024, onRecovered: (n, why) => recovered.push([n, why]) });
  const log = pino({ level: 'info' }, writer);
  // One long synchronous stretch (as a long pass of the loop was): nothing can be written meanwhile.
  for (let i = 0; i < 1000; i++) log.info({ i }, 'y'.repeat(100));
  await waitFor(() => recovered.length > 0, { what: 'the drop reported' });
  const [[n, why]] = recovered as [[number, string]];
  assert.ok(n > 900, `most of the 1000 lines were dropped (${n})`);
  assert.match(why, /fell behind/);
  await waitFor(() => writer.pendingBytes === 0, { what: 'the queue written' });
  assert.ok(readFileSync(logPath, 'utf8').includes('"i":0,'), 'what fitted the buffer was written');
});

test("with the default bounds, a stop of 5000 replicas' worth of lines (~200 KB a turn of the loop, 2 MB in all) is written whole", async (t) => {
  const dir = tempDir(t);
  const logPath = join(dir, 'tend.log');
  const fd = openSync(logPath, 'a');
  cleanup(t, () => closeSync(fd));
  const before = logLoss().droppedLines;
  const writer = new BoundedLogWriter(fd);
  const log = pino({ level: 'info' }, writer);
  // A turn that folds 1000 exits logs ~200 KB; with 64 KB a write (one in flight, its completion a
  // turn later) the queue outgrew 1 MiB and `tend down` of 5000 lost thousands of lines.
  for (let turn = 0; turn < 10; turn++) {
    for (let i = 0; i < 1600; i++) log.info(`bench/${turn * 1600 + i} stopped ${'x'.repeat(40)}`);
    await new Promise((r) => setImmediate(r));
  }
  await waitFor(() => writer.pendingBytes === 0, { what: 'the queue written' });
  assert.equal(logLoss().droppedLines - before, 0, 'no line dropped');
  assert.equal(readFileSync(logPath, 'utf8').trim().split('\n').length, 16_000);
});
