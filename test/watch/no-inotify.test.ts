// No inotify watch left for tend (ENOSPC: `fs.inotify.max_user_watches` used up, as IDEs and file
// watchers of a busy workstation do). Before the fix the daemon logged a warning at start and never
// saw an edit again: a `git pull` of services.d applied nothing. It now looks at the directory, and
// at the env files, every second, and goes back to inotify once a watch can be had.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { specDir } from '../helpers/index.js';
import { runningPids, startDaemon } from '../helpers/daemon.js';

// The daemon gets a user namespace of its own whose inotify limit is 0.
const canUnshare = spawnSync('unshare', ['-U', '-r', 'sh', '-c', 'echo 0 > /proc/sys/user/max_inotify_watches'], { stdio: 'ignore' }).status === 0;

test('with no inotify watch to be had, edits of services.d and of an env file still apply', { skip: canUnshare ? false : 'unshare -U is not allowed here' }, async (t) => {
  const { root, dir, state } = specDir(t, { 'w.yaml': 'command: ["sleep", "1000"]\nenv_file: ../w.env\nstop_timeout: 2s\n' });
  writeFileSync(join(root, 'w.env'), 'A=1\n');
  const d = await startDaemon(t, dir, state, { inotifyWatches: 0 });
  await d.converged((s) => runningPids(s, 'w').length === 1);

  writeFileSync(join(dir, 'w.yaml'), 'command: ["sleep", "1000"]\nenv_file: ../w.env\nreplicas: 3\nstop_timeout: 2s\n');
  await d.converged((s) => runningPids(s, 'w').length === 3, 20_000);

  const before = runningPids(await d.status(), 'w');
  writeFileSync(join(root, 'w.env'), 'A=2\n');
  const after = await d.converged((s) => runningPids(s, 'w').length === 3 && runningPids(s, 'w').every((p) => !before.includes(p)), 30_000);
  assert.equal(runningPids(after, 'w').length, 3);
});
