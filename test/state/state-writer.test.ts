// StateWriter on a real directory: background writes end with the newest text, a synchronous write
// is never overwritten by an older background one, and a failure is reported, not thrown.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { StateWriter } from '../../src/state/state-writer.js';
import { tempDir } from '../helpers/index.js';

test('a burst of background writes ends with the newest text, private, and no temp file left', async (t) => {
  const dir = tempDir(t);
  const path = join(dir, 'state.json');
  const errors: unknown[] = [];
  const w = new StateWriter(path, (e) => errors.push(e));
  const big = 'x'.repeat(1 << 20);
  for (let k = 0; k < 50; k++) w.write(`${k}:${big}`);
  await w.flush();
  assert.equal(readFileSync(path, 'utf8'), `49:${big}`);
  assert.equal(statSync(path).mode & 0o777, 0o600);
  assert.deepEqual(readdirSync(dir), ['state.json']);
  assert.deepEqual(errors, []);
});

test('a synchronous write wins over an older background write still in flight', async (t) => {
  const dir = tempDir(t);
  const path = join(dir, 'state.json');
  const w = new StateWriter(path, (e) => assert.fail(String(e)));
  w.write(`old:${'y'.repeat(4 << 20)}`); // large, so that it is still in flight below
  w.writeNow('now');
  assert.equal(readFileSync(path, 'utf8'), 'now');
  await w.flush();
  assert.equal(readFileSync(path, 'utf8'), 'now');
  assert.deepEqual(readdirSync(dir), ['state.json']);
  // And background writes carry on afterwards.
  w.write('later');
  await w.flush();
  assert.equal(readFileSync(path, 'utf8'), 'later');
});

test('a directory that vanished is reported through onError; nothing throws', async (t) => {
  const dir = tempDir(t);
  const path = join(dir, 'gone', 'state.json');
  const errors: NodeJS.ErrnoException[] = [];
  const w = new StateWriter(path, (e) => errors.push(e as NodeJS.ErrnoException));
  w.write('a');
  await w.flush();
  w.writeNow('b');
  assert.deepEqual(errors.map((e) => e.code), ['ENOENT', 'ENOENT']);
});

test('after close() no background write lands: the caller may remove the file for good', async (t) => {
  const dir = tempDir(t);
  const path = join(dir, 'state.json');
  const w = new StateWriter(path, (e) => assert.fail(String(e)));
  w.write(`in flight:${'z'.repeat(4 << 20)}`);
  await w.close();
  assert.ok(readFileSync(path, 'utf8').startsWith('in flight:'), 'the write in flight finished first');
  rmSync(path);
  w.write('too late'); // a timer that fired after shutdown began
  await w.flush();
  assert.deepEqual(readdirSync(dir), []);
});
