// The built `tend top` under a REAL pseudo-terminal: tmux runs it in a pane of its own server (its own
// socket name), the test reads the screen with capture-pane and types with send-keys. Checked: the
// view and its sorting keys, no full-screen clears after the first draw (no flicker), q quits with
// exit 0 and gives the screen back; into a pipe it prints one snapshot without escapes.

import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { StatusReport } from '../../src/api/types.js';
import { BUILT, FIXTURE_BIN, NODE, processReaper, tempDir, waitFor, writeFiles } from '../helpers/index.js';
import { runCli } from './run-cli.js';
import { hasTmux, tmuxServer } from '../helpers/tmux.js';

test('tend top in a real terminal: live table, sort keys, no flicker, q quits', { timeout: 600_000, skip: !hasTmux && 'tmux is not installed' }, async (t) => {
  const dir = tempDir(t);
  const reaper = processReaper(t);
  const forever = JSON.stringify([NODE, join(FIXTURE_BIN, 'forever.mjs')]);
  writeFiles(join(dir, 'services.d'), {
    'web.yaml': `command: ${forever}\nreplicas: 2\nstop_timeout: 2s\n`,
    'api.yaml': `command: ${forever}\nstop_timeout: 2s\n`,
  });
  const up = await runCli(dir, ['up', '-d', '--wait', '--timeout', '30s', '--settle', '50ms']);
  reaper.track(Number(readFileSync(join(dir, '.tend', 'tend.pid'), 'utf8').split('\n')[0]), true);
  assert.equal(up.code, 0, up.stdout + up.stderr);
  const s = JSON.parse((await runCli(dir, ['status', '-o', 'json'])).stdout) as StatusReport;
  for (const svc of s.services) for (const r of svc.replicas) reaper.track(r.pid ?? undefined, true);

  const tmux = tmuxServer(t, 'top');
  const raw = join(dir, 'pane.raw');
  // The exit status is written by the shell that ran top, not read from tmux: tmux 3.3 sometimes
  // marks the pane dead (its pty closed) and leaves the exited process unreaped, with no status.
  const exitFile = join(dir, 'top.exit');
  const command = `cd ${JSON.stringify(dir)} && env -u TEND_STATE_DIR TERM=xterm-256color ${NODE} ${BUILT} top --interval 200ms; echo $? > ${JSON.stringify(exitFile)}`;
  tmux('new-session', '-d', '-s', 'top', '-x', '110', '-y', '20', 'sh', '-c', `sleep 0.2; ${command}`);
  tmux('set-option', '-t', 'top', 'remain-on-exit', 'on');
  tmux('pipe-pane', '-t', 'top', '-o', `cat >> ${JSON.stringify(raw)}`);
  const screen = () => tmux('capture-pane', '-t', 'top', '-p');
  const shows = (re: RegExp) => waitFor(() => (re.test(screen()) ? screen() : undefined), { what: `screen matching ${re}`, timeoutMs: 90_000 });

  const first = await shows(/tend top · 3 replicas · sorted by cpu/);
  assert.match(first, /REPLICA\s+STATE\s+PID\s+CPU\s+MEM\s+RESTARTS\s+AGE/);
  await shows(/web\/1\s+running\s+\d+\s+\d+\.\d%\s+\d/); // figures arrive with the first sample

  tmux('send-keys', '-t', 'top', 'n');
  const byName = await shows(/sorted by name/);
  const order = [...byName.matchAll(/^(api\/0|web\/0|web\/1)\s/gm)].map((m) => m[1]);
  assert.deepEqual(order, ['api/0', 'web/0', 'web/1']);
  tmux('send-keys', '-t', 'top', 'm');
  await shows(/sorted by mem/);

  // Several refreshes later the screen was never cleared again: changes are drawn cell by cell.
  const before = existsSync(raw) ? readFileSync(raw, 'latin1').length : 0;
  await waitFor(() => existsSync(raw) && readFileSync(raw, 'latin1').length > before + 200, { what: 'more refreshes', timeoutMs: 90_000 });
  const clears = readFileSync(raw, 'latin1').split('\x1b[2J').length - 1;
  assert.ok(clears <= 1, `the screen was cleared ${clears} times`);

  tmux('send-keys', '-t', 'top', 'q');
  const status = await waitFor(() => (existsSync(exitFile) ? readFileSync(exitFile, 'utf8').trim() || undefined : undefined), {
    what: "tend top to exit (its exit status written by the shell that ran it)",
    timeoutMs: 60_000,
  });
  assert.equal(status, '0');
  // The alternate screen is left: the table is gone from the visible screen.
  assert.doesNotMatch(screen(), /REPLICA\s+STATE/);

  // Not a terminal: one snapshot, sorted, no escape codes.
  const piped = await runCli(dir, ['top', '-s', 'name']);
  assert.equal(piped.code, 0, piped.stderr);
  assert.doesNotMatch(piped.stdout, /\x1b/);
  assert.deepEqual([...piped.stdout.matchAll(/^(\S+\/\d+)\s/gm)].map((m) => m[1]), ['api/0', 'web/0', 'web/1']);
  const bad = await runCli(dir, ['top', '-s', 'nope']);
  assert.equal(bad.code, 5);

  assert.equal((await runCli(dir, ['down'])).code, 0);
});
