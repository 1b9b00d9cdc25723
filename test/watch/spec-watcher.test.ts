// The spec watcher on a real directory tree: what wakes a reload and what does not, for the
// changes a deployment makes to services.d itself (removed and made again, made after tend
// started, a release link renamed over it) and for a chatty neighbour (tend's own log beside it).

import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SpecWatcher } from '../../src/watch/spec-watcher.js';
import { cleanup, tempDir, waitFor } from '../helpers/index.js';

async function watching(t: TestContext, dir: string) {
  let settled = 0;
  const w = new SpecWatcher(dir, { settleMs: 60, onSettled: () => settled++ });
  await w.start();
  cleanup(t, () => w.close());
  return { settled: () => settled, watcher: w };
}

test('services.d removed and made again, or made after start, wakes a reload; changes in the new one too', async (t) => {
  const root = tempDir(t);
  const dir = join(root, 'services.d');
  const w = await watching(t, dir); // does not exist yet
  mkdirSync(dir);
  await waitFor(() => w.settled() === 1, { what: 'services.d made' });
  writeFileSync(join(dir, 'a.yaml'), 'command: ["true"]\n');
  await waitFor(() => w.settled() === 2, { what: 'a file in it' });
  rmSync(dir, { recursive: true });
  mkdirSync(dir);
  await waitFor(() => w.settled() === 3, { what: 'removed and made again' });
  writeFileSync(join(dir, 'b.yaml'), 'command: ["true"]\n');
  await waitFor(() => w.settled() === 4, { what: 'a file in the new directory' });
});

test('a release link renamed over services.d wakes a reload; the new release is watched', async (t) => {
  const root = tempDir(t);
  for (const r of ['1', '2']) mkdirSync(join(root, 'releases', r), { recursive: true });
  mkdirSync(join(root, 'other')); // a second directory beside the link (chokidar once missed the switch then)
  symlinkSync(join(root, 'releases/1'), join(root, 'services.d'));
  const w = await watching(t, join(root, 'services.d'));
  symlinkSync(join(root, 'releases/2'), join(root, 'services.d.tmp'));
  renameSync(join(root, 'services.d.tmp'), join(root, 'services.d'));
  await waitFor(() => w.settled() === 1, { what: 'release switched' });
  writeFileSync(join(root, 'releases/2/late.yaml'), 'command: ["true"]\n');
  await waitFor(() => w.settled() === 2, { what: 'a file in release 2' });
});

test('a release link further up the path (current/services.d, current -> releases/N) renamed: a reload, and the new release is watched', async (t) => {
  // Capistrano's layout: a shell in /srv/app/current started tend, which watches
  // current/services.d; a deploy renames a new link over `current` and removes the old release.
  const root = tempDir(t);
  for (const r of ['1', '2', '3']) mkdirSync(join(root, 'releases', r, 'services.d'), { recursive: true });
  symlinkSync(join(root, 'releases/1'), join(root, 'current'));
  const w = await watching(t, join(root, 'current', 'services.d'));
  const release = (n: string) => {
    symlinkSync(join(root, 'releases', n), join(root, 'current.tmp'));
    renameSync(join(root, 'current.tmp'), join(root, 'current'));
  };
  release('2');
  await waitFor(() => w.settled() === 1, { what: 'release 2 switched in' });
  rmSync(join(root, 'releases/1'), { recursive: true });
  writeFileSync(join(root, 'releases/2/services.d/late.yaml'), 'command: ["true"]\n');
  await waitFor(() => w.settled() === 2, { what: 'a file in release 2' });
  release('3'); // the link's parent is still watched after the first switch
  await waitFor(() => w.settled() === 3, { what: 'release 3 switched in' });
});

test('writes to a log beside services.d never wake a reload, and do not hold one back', async (t) => {
  const root = tempDir(t);
  const dir = join(root, 'services.d');
  mkdirSync(dir);
  writeFileSync(join(root, 'tend.log'), '');
  const w = await watching(t, dir);
  // `tend up services.d > tend.log`: a line every 5 ms, for 20 settle windows.
  let lines = 0;
  const chatter = setInterval(() => writeFileSync(join(root, 'tend.log'), `line ${++lines}\n`, { flag: 'a' }), 5);
  cleanup(t, () => clearInterval(chatter));
  await waitFor(() => lines >= 240, { what: '240 log lines', timeoutMs: 30_000 });
  assert.equal(w.settled(), 0, 'a log line woke a reload');
  writeFileSync(join(dir, 'a.yaml'), 'command: ["true"]\n');
  await waitFor(() => w.settled() === 1, { what: 'the change inside services.d, while the log goes on' });
});

test('an editor\'s atomic save (a temp file renamed over the spec) wakes one reload', async (t) => {
  const root = tempDir(t);
  const dir = join(root, 'services.d');
  mkdirSync(dir);
  writeFileSync(join(dir, 'web.yaml'), 'command: ["true"]\n');
  const w = await watching(t, dir);
  writeFileSync(join(dir, '.web.yaml.swp'), 'command: ["false"]\n');
  renameSync(join(dir, '.web.yaml.swp'), join(dir, 'web.yaml'));
  await waitFor(() => w.settled() === 1, { what: 'the save' });
  await new Promise((r) => setTimeout(r, 300)); // a second window would have closed by now
  assert.equal(w.settled(), 1, 'one save, one reload');
});

test('env files outside services.d wake a reload when written, made or removed; unwatched once dropped', async (t) => {
  const root = tempDir(t);
  const dir = join(root, 'services.d');
  mkdirSync(dir);
  mkdirSync(join(root, 'env'));
  const env = join(root, 'env', 'web.env');
  const later = join(root, 'env', 'later.env'); // named by a spec before it exists
  writeFileSync(env, 'A=1\n');
  const w = await watching(t, dir);
  w.watcher.setExtraFiles([env, later]);
  await waitFor(async () => {
    // Watched once a write is seen (chokidar sets its watches up asynchronously).
    writeFileSync(env, `A=${Date.now()}\n`);
    await new Promise((r) => setTimeout(r, 150));
    return w.settled() >= 1;
  }, { what: 'the env file written' });
  const n = w.settled();
  writeFileSync(later, 'B=1\n');
  await waitFor(() => w.settled() === n + 1, { what: 'the missing env file made' });
  rmSync(env);
  await waitFor(() => w.settled() === n + 2, { what: 'the env file removed' });
  w.watcher.setExtraFiles([]);
  await new Promise((r) => setTimeout(r, 200));
  const m = w.settled();
  writeFileSync(later, 'B=2\n');
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(w.settled(), m, 'an env file no spec names any more does not wake a reload');
});

test('onQuiet comes 60 ms into a longer window, numbered; an event after it changes the number the window closes with', async (t) => {
  const root = tempDir(t);
  const dir = join(root, 'services.d');
  mkdirSync(dir);
  const quiet: number[] = [];
  const settled: number[] = [];
  let writeOnQuiet: string | undefined;
  const w = new SpecWatcher(dir, {
    settleMs: 400,
    onQuiet: (g) => {
      quiet.push(g);
      // Inside the window, at once: no timing of the test's own decides which side it falls on.
      if (writeOnQuiet) writeFileSync(join(dir, writeOnQuiet), 'command: ["true"]\n');
      writeOnQuiet = undefined;
    },
    onSettled: (g) => settled.push(g),
  });
  await w.start();
  cleanup(t, () => w.close());

  writeFileSync(join(dir, 'a.yaml'), 'command: ["true"]\n');
  await waitFor(() => settled.length === 1, { what: 'the first window' });
  assert.equal(quiet.length, 1, 'one quiet call before the window closed');
  assert.equal(settled[0], quiet[0], 'nothing happened between them: the same generation');

  writeOnQuiet = 'b.yaml'; // an event after the quiet call
  writeFileSync(join(dir, 'a.yaml'), 'command: ["false"]\n');
  await waitFor(() => settled.length === 2, { what: 'the second window' });
  assert.equal(quiet.length, 3, 'quiet again after the write made at the first quiet call');
  assert.notEqual(settled[1], quiet[1], 'the write after the quiet call moved the generation');
  assert.equal(settled[1], quiet[2]);
});

test('no onQuiet when the window is no longer than the quiet time itself', async (t) => {
  const root = tempDir(t);
  const dir = join(root, 'services.d');
  mkdirSync(dir);
  let quiet = 0;
  let settled = 0;
  const w = new SpecWatcher(dir, { settleMs: 60, onQuiet: () => quiet++, onSettled: () => settled++ });
  await w.start();
  cleanup(t, () => w.close());
  writeFileSync(join(dir, 'a.yaml'), 'command: ["true"]\n');
  await waitFor(() => settled === 1, { what: 'the window' });
  assert.equal(quiet, 0);
});
