// Log paths and copy-and-truncate rotation, with a child writing to the log throughout.

import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';

import { logPath, rotateIfNeeded } from '../../src/runtime/logs.js';
import { fixture, tempDir, waitFor } from '../helpers/index.js';
import { harness, launch } from './helpers.js';

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
