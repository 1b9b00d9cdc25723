// Files a spec depends on that live outside services.d, changed the way deployments change them:
// an env file that `git pull` replaces (unlinks and writes again), one a new service names before
// it exists, and the target of a spec file that is a symlink. The daemon must see each change, not
// only the first (test/watch/spec-watcher.test.ts has the watcher alone).

import { execFileSync } from 'node:child_process';
import { readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { StatusReport } from '../../src/api/types.js';
import { runningPids, startDaemon } from '../helpers/daemon.js';
import { tempDir, waitFor, writeFiles } from '../helpers/index.js';

const SLEEP = 'command: ["sleep", "1000"]\nstop_timeout: 2s\n';

/** The value of `name` in the environment of `service`'s first running replica. */
function envOf(s: StatusReport, service: string, name: string): string | undefined {
  const pid = runningPids(s, service)[0];
  if (pid === undefined) return undefined;
  const line = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').find((l) => l.startsWith(`${name}=`));
  return line?.slice(name.length + 1);
}

test('an env file outside services.d, replaced by every git pull: each pull replaces the replica, not only the first', { timeout: 120_000 }, async (t) => {
  const upstream = tempDir(t, { 'services.d/app.yaml': `${SLEEP}env_file: ../config/app.env\n`, 'config/app.env': 'V=1\n' });
  const git = (cwd: string, ...args: string[]) => execFileSync('git', ['-c', 'user.email=ci@example.test', '-c', 'user.name=CI', ...args], { cwd, encoding: 'utf8' });
  git(upstream, 'init', '-q', '-b', 'main');
  git(upstream, 'add', '.');
  git(upstream, 'commit', '-qm', 'v1');
  const root = tempDir(t);
  const checkout = join(root, 'app');
  git(root, 'clone', '-q', upstream, checkout);

  const d = await startDaemon(t, join(checkout, 'services.d'), join(root, 'state'));
  await d.converged((s) => envOf(s, 'app', 'V') === '1');
  for (const v of ['2', '3', '4']) {
    writeFileSync(join(upstream, 'config/app.env'), `V=${v}\n`);
    git(upstream, 'commit', '-qam', `v${v}`);
    git(checkout, 'pull', '-q', '--ff-only');
    await waitFor(async () => envOf(await d.api.status(), 'app', 'V') === v, { what: `the replica with V=${v} after the pull`, timeoutMs: 15_000 });
  }
});

test('a service whose env file does not exist yet starts once the file is made; a missing directory too', { timeout: 120_000 }, async (t) => {
  const root = tempDir(t, { 'services.d/base.yaml': SLEEP, 'conf/other.env': 'X=0\n' });
  const d = await startDaemon(t, join(root, 'services.d'), join(root, 'state'));
  await d.converged((s) => runningPids(s, 'base').length === 1);
  writeFiles(root, { 'services.d/new.yaml': `${SLEEP}env_file: ../conf/new.env\n`, 'services.d/later.yaml': `${SLEEP}env_file: ../later/x.env\n` });
  await waitFor(async () => (await d.api.status()).errors.length === 2, { what: 'both reported: the env files do not exist' });
  writeFiles(root, { 'conf/new.env': 'X=1\n' });
  await waitFor(async () => envOf(await d.api.status(), 'new', 'X') === '1', { what: 'new started once its env file was made', timeoutMs: 15_000 });
  writeFiles(root, { 'later/x.env': 'Y=1\n' });
  await waitFor(async () => envOf(await d.api.status(), 'later', 'Y') === '1', { what: 'later started once its directory and env file were made', timeoutMs: 15_000 });
});

test('a spec file that is a symlink to a file elsewhere: an edit of the target applies', { timeout: 120_000 }, async (t) => {
  const root = tempDir(t, { 'shared/ext.yaml': `${SLEEP}replicas: 1\n` });
  writeFiles(root, { 'services.d/base.yaml': SLEEP });
  symlinkSync(join(root, 'shared/ext.yaml'), join(root, 'services.d/ext.yaml'));
  const d = await startDaemon(t, join(root, 'services.d'), join(root, 'state'));
  await d.converged((s) => runningPids(s, 'ext').length === 1);
  writeFileSync(join(root, 'shared/ext.yaml'), `${SLEEP}replicas: 2\n`);
  await d.converged((s) => runningPids(s, 'ext').length === 2, 15_000);
});
