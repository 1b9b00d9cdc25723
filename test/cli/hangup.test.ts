// A foreground `tend up` in a terminal that goes away (an ssh session that drops, a tmux session
// killed): the kernel sends SIGHUP, and tend, for which SIGHUP means "read the files again", runs on
// as under nohup. Its log went on to the dead terminal, lost; from then on it goes to tend.log in
// the state directory, where `tend daemon-log` reads it.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { StatusReport } from '../../src/api/types.js';
import { BUILT, cleanup, FIXTURE_BIN, isAlive, NODE, tempDir, waitFor, writeFiles } from '../helpers/index.js';
import { killDetachedDaemon, killMarkedGroups, markedGroups, runningPids } from '../helpers/daemon.js';
import { runCli } from './run-cli.js';
import { hasTmux, tmuxServer } from '../helpers/tmux.js';

test('a foreground tend up whose terminal closes runs on, and logs to tend.log from then', { skip: !hasTmux && 'tmux is not installed' }, async (t) => {
  const dir = tempDir(t);
  const state = join(dir, 'state');
  writeFiles(join(dir, 'services.d'), { 'w.yaml': `command: ${JSON.stringify([NODE, join(FIXTURE_BIN, 'forever.mjs')])}\nstop_timeout: 2s\n` });
  const tmux = tmuxServer(t, 'hup');
  cleanup(t, () => killMarkedGroups(state));
  tmux('new-session', '-d', '-s', 'up', '-x', '120', '-y', '30', 'sh', '-c', `cd ${JSON.stringify(dir)} && env -u TEND_STATE_DIR ${NODE} ${BUILT} --state-dir ${JSON.stringify(state)} up services.d --settle 50ms`);
  const status = async () => JSON.parse((await runCli(dir, ['--state-dir', state, 'status', '-o', 'json'])).stdout) as StatusReport;
  const first = await waitFor(async () => runningPids(await status().catch(() => undefined as never), 'w')[0], { what: 'w running', timeoutMs: 30_000 });
  const daemon = Number(readFileSync(join(state, 'tend.pid'), 'utf8').split('\n')[0]);
  cleanup(t, () => killDetachedDaemon(daemon, state));
  markedGroups(state);
  assert.equal(existsSync(join(state, 'tend.log')), false, 'at a terminal, the log goes to the terminal');

  tmux('kill-session', '-t', 'up'); // the terminal goes away: SIGHUP
  const log = () => (existsSync(join(state, 'tend.log')) ? readFileSync(join(state, 'tend.log'), 'utf8') : '');
  await waitFor(() => /the terminal is gone/.test(log()), { what: 'the note in tend.log', timeoutMs: 10_000 });
  assert.ok(isAlive(daemon), 'tend runs on');

  // It still supervises, and says so in the file.
  process.kill(first, 'SIGKILL');
  await waitFor(async () => runningPids(await status(), 'w').some((p) => p !== first), { what: 'w restarted', timeoutMs: 15_000 });
  await waitFor(() => new RegExp(`w/0 exited pid ${first} SIGKILL`).test(log()), { what: 'the exit in tend.log' });
  const shown = await runCli(dir, ['--state-dir', state, 'daemon-log']);
  assert.equal(shown.code, 0, shown.stderr);
  assert.match(shown.stdout, /the terminal is gone/);
  const down = await runCli(dir, ['--state-dir', state, 'down']);
  assert.equal(down.code, 0, down.stderr);
});

test('a foreground tend up whose output pipe closes (tend up | head -1) runs on, and logs to tend.log from then', async (t) => {
  const dir = tempDir(t);
  const state = join(dir, 'state');
  writeFiles(join(dir, 'services.d'), { 'w.yaml': `command: ${JSON.stringify([NODE, join(FIXTURE_BIN, 'forever.mjs')])}\nstop_timeout: 2s\n` });
  cleanup(t, () => killMarkedGroups(state));
  // head reads one line and exits; tend's next line meets a pipe with no reader (EPIPE).
  const pipeline = spawn('sh', ['-c', `env -u TEND_STATE_DIR ${NODE} ${BUILT} --state-dir ${JSON.stringify(state)} up services.d --settle 50ms | head -1 > /dev/null`], { cwd: dir, stdio: 'ignore', detached: true });
  cleanup(t, () => {
    try {
      process.kill(-pipeline.pid!, 'SIGKILL');
    } catch {
      /* gone */
    }
  });
  const status = async () => JSON.parse((await runCli(dir, ['--state-dir', state, 'status', '-o', 'json'])).stdout) as StatusReport;
  const first = await waitFor(async () => runningPids(await status().catch(() => undefined as never), 'w')[0], { what: 'w running', timeoutMs: 30_000 });
  const daemon = Number(readFileSync(join(state, 'tend.pid'), 'utf8').split('\n')[0]);
  cleanup(t, () => killDetachedDaemon(daemon, state));
  markedGroups(state);
  const log = () => (existsSync(join(state, 'tend.log')) ? readFileSync(join(state, 'tend.log'), 'utf8') : '');
  // Lines were lost for good: nothing reached tend.log, and `tend daemon-log` had nothing to show.
  process.kill(first, 'SIGKILL');
  await waitFor(() => /the output of tend went away/.test(log()), { what: 'the note in tend.log', timeoutMs: 10_000 });
  await waitFor(() => new RegExp(`w/0 exited pid ${first} SIGKILL`).test(log()), { what: 'the exit in tend.log' });
  assert.ok(isAlive(daemon), 'tend runs on');
  const down = await runCli(dir, ['--state-dir', state, 'down']);
  assert.equal(down.code, 0, down.stderr);
});
