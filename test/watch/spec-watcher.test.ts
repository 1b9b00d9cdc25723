// The spec watcher on a real directory tree: what wakes a reload and what does not, for the
// changes a deployment makes to services.d itself (removed and made again, made after tend
// started, a release link renamed over it) and for a chatty neighbour (tend's own log beside it).

import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SpecWatcher } from '../../src/watch/spec-watcher.js';
import { cleanup, tempDir, waitFor, writeFiles } from '../helpers/index.js';

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

test('env files outside services.d wake a reload when written, replaced, made or removed, their directory too; neighbours and dropped files do not', async (t) => {
  const root = tempDir(t);
  const dir = join(root, 'services.d');
  mkdirSync(dir);
  mkdirSync(join(root, 'env'));
  const env = join(root, 'env', 'web.env');
  const later = join(root, 'env', 'later.env'); // named by a spec before it exists
  const gone = join(root, 'gone', 'x.env'); // in a directory that does not exist yet
  writeFileSync(env, 'A=1\n');
  const w = await watching(t, dir);
  w.watcher.setExtraFiles([env, later, gone]);
  // Each step: the change, then the settle it must cause. A neighbour written first must not add
  // an event of its own: events of one directory arrive in order, so by the time the watched
  // file's has come, the neighbour's would have too.
  const step = async (what: string, change: () => void) => {
    const [n, g] = [w.settled(), w.watcher.currentGeneration];
    writeFileSync(join(root, 'env', 'neighbour.txt'), `${Date.now()}\n`);
    change();
    await waitFor(() => w.settled() > n, { what });
    return w.watcher.currentGeneration - g;
  };
  assert.equal(await step('the env file written', () => writeFileSync(env, 'A=2\n')), 1);
  // As `git pull` replaces a changed file: unlinked, then written anew (a watch on the file itself
  // followed the old inode and never saw this one again).
  rmSync(env);
  await waitFor(() => w.settled() > 0 && w.watcher.currentGeneration > 0, { what: 'the unlink' });
  await step('the env file made again', () => writeFileSync(env, 'A=3\n'));
  await step('the made-again file written', () => writeFileSync(env, 'A=4\n'));
  await step('the missing env file made', () => writeFileSync(later, 'B=1\n'));
  await step('a file in a directory made later', () => writeFiles(root, { 'gone/x.env': 'C=1\n' }));
  await step('the env directory removed and made again', () => {
    rmSync(join(root, 'env'), { recursive: true });
    writeFiles(root, { 'env/web.env': 'A=5\n' });
  });
  await step('a file in the directory made again', () => writeFileSync(env, 'A=6\n'));
  w.watcher.setExtraFiles([]);
  // A write in services.d (watched) is the sentinel: how many events it makes alone, then after
  // a write to the file no spec names any more.
  const sentinel = async (before: () => void) => {
    const [n, g] = [w.settled(), w.watcher.currentGeneration];
    before();
    writeFileSync(join(dir, 'sentinel.yaml'), `# ${Date.now()}\n`);
    await waitFor(() => w.settled() > n, { what: 'the sentinel' });
    return w.watcher.currentGeneration - g;
  };
  await sentinel(() => undefined); // made: its events are not a write's
  const alone = await sentinel(() => undefined);
  assert.equal(await sentinel(() => writeFileSync(later, 'B=2\n')), alone, 'an env file no spec names any more does not wake a reload');
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
