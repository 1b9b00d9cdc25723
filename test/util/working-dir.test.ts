// The working directory as the user's shell names it (src/util/working-dir.ts): $PWD when it names
// the directory the process stands in, a link kept; the real path otherwise; a clear error, not a
// stack, once the directory was removed. In process: process.chdir and $PWD as a shell sets them.

import assert from 'node:assert/strict';
import { mkdirSync, realpathSync, rmdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { TendError } from '../../src/errors.js';
import { displayPath, forgetWorkingDir, fromWorkingDir, relativeToWorkingDir, workingDir } from '../../src/util/working-dir.js';
import { cleanup, tempDir } from '../helpers/index.js';

/** As a shell's `cd`: the process moves to `dir`'s real directory, $PWD keeps `pwd` as given (null:
 *  no $PWD). */
function cd(t: TestContext, dir: string, pwd: string | null = dir): void {
  const was = { cwd: process.cwd(), pwd: process.env['PWD'] };
  cleanup(t, () => {
    process.chdir(was.cwd);
    if (was.pwd === undefined) delete process.env['PWD'];
    else process.env['PWD'] = was.pwd;
    forgetWorkingDir();
  });
  process.chdir(dir);
  if (pwd === null) delete process.env['PWD'];
  else process.env['PWD'] = pwd;
  forgetWorkingDir();
}

function releases(t: TestContext): { root: string; release: string; current: string } {
  const root = realpathSync(tempDir(t));
  const release = join(root, 'releases', '1');
  mkdirSync(join(release, 'services.d'), { recursive: true });
  symlinkSync(release, join(root, 'current'));
  return { root, release, current: join(root, 'current') };
}

test('$PWD naming the working directory through a link is kept; paths resolve and show from it', (t) => {
  const { root, current } = releases(t);
  cd(t, current);
  assert.equal(workingDir(), current);
  assert.equal(fromWorkingDir('services.d'), join(current, 'services.d'));
  assert.equal(fromWorkingDir('..', 'shared'), join(root, 'shared'), '`..` as the shell takes it: the link\'s parent');
  assert.equal(fromWorkingDir('/etc', 'x'), '/etc/x');
  assert.equal(displayPath(join(current, 'services.d', 'web.yaml')), 'services.d/web.yaml');
  assert.equal(displayPath(join(root, 'elsewhere')), join(root, 'elsewhere'));
  assert.equal(relativeToWorkingDir(join(root, 'elsewhere')), '../elsewhere');
  assert.equal(relativeToWorkingDir(current), '.');
  cd(t, current, `${current}/`);
  assert.equal(workingDir(), current, 'a trailing slash');
});

test('$PWD that does not name the working directory, or is not a clean absolute path, is not used', (t) => {
  const { root, release, current } = releases(t);
  const other = join(root, 'other');
  mkdirSync(other);
  for (const pwd of [other, 'current', `${root}/./current`, `${root}/releases/../current`, `/${current}`, null, '']) {
    cd(t, current, pwd);
    assert.equal(workingDir(), release, `PWD=${pwd}`);
  }
});

test('a removed working directory: CWD_GONE for what needs it, absolute paths and display still work', (t) => {
  const { root } = releases(t);
  const gone = join(root, 'gone');
  mkdirSync(gone);
  cd(t, gone);
  rmdirSync(gone);
  assert.throws(() => workingDir(), (err: unknown) => err instanceof TendError && err.code === 'CWD_GONE' && /^the working directory was removed: cd to a directory that exists/.test(err.message));
  assert.throws(() => fromWorkingDir('services.d'), (err: unknown) => err instanceof TendError && err.code === 'CWD_GONE');
  assert.equal(fromWorkingDir(join(root, 'state')), join(root, 'state'));
  assert.equal(displayPath(join(root, 'x')), join(root, 'x'));
  assert.equal(relativeToWorkingDir(join(root, 'x')), join(root, 'x'));
});
