// The daemon's last log lines reach its log when it stops: a foreground `tend up` whose output goes
// to a file, stopped with Ctrl-C (SIGINT), and a daemon of `up -d` (tend.log) stopped by `tend
// down`. The lines a stop writes come in a burst, and the log is written asynchronously: lines
// still queued behind a write in flight when the process exited were lost (2 runs in 5 lost
// "all services stopped; bye", and some the lines before it).

import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { killMarkedGroups, markedGroups } from '../helpers/daemon.js';
import { cleanup, processReaper, tempDir, waitFor } from '../helpers/index.js';

const CLI = join(import.meta.dirname, '..', '..', 'dist', 'bin', 'tend.js');
const SPECS = Object.fromEntries(['a', 'b', 'c'].map((s) => [`services.d/${s}.yaml`, 'command: ["sleep", "1000"]\nreplicas: 3\n']));
const BYE = 'all services stopped; bye';

const lastMessage = (file: string): string => {
  const lines = readFileSync(file, 'utf8').trimEnd().split('\n');
  return (JSON.parse(lines.at(-1)!) as { msg: string }).msg;
};

test('a foreground tend up stopped with SIGINT writes its last line to the file its output goes to, every time', async (t) => {
  for (let run = 0; run < 5; run++) {
    const root = tempDir(t, SPECS);
    const state = join(root, '.tend');
    cleanup(t, () => killMarkedGroups(state));
    const reaper = processReaper(t); // the daemon is killed first (cleanups run last-made first)
    const log = join(root, 'up.log');
    const out = openSync(log, 'w');
    const env = { ...process.env };
    delete env['TEND_STATE_DIR'];
    const up = spawn(CLI, ['--state-dir', state, 'up', join(root, 'services.d')], { cwd: root, env, stdio: ['ignore', out, out] });
    closeSync(out);
    reaper.track(up.pid);
    const exited = new Promise<number | null>((r) => up.once('exit', (code) => r(code)));
    await waitFor(() => readFileSync(log, 'utf8').split('\n').filter((l) => l.includes(' started pid ')).length === 9, { what: '9 replicas started', timeoutMs: 20_000 });
    markedGroups(state);
    up.kill('SIGINT');
    assert.equal(await exited, 0, readFileSync(log, 'utf8'));
    assert.equal(lastMessage(log), BYE, `run ${run}: the log ends with\n${readFileSync(log, 'utf8').split('\n').slice(-4).join('\n')}`);
  }
});

test('a daemon of up -d stopped by tend down ends tend.log with its last line', async (t) => {
  for (let run = 0; run < 3; run++) {
    const root = tempDir(t, SPECS);
    const state = join(root, '.tend');
    cleanup(t, () => killMarkedGroups(state));
    const env = { ...process.env };
    delete env['TEND_STATE_DIR'];
    const tend = (...args: string[]) => spawnSync(CLI, ['--state-dir', state, ...args], { cwd: root, env, encoding: 'utf8', timeout: 30_000 });
    const up = tend('up', '-d', '--wait', join(root, 'services.d'));
    assert.equal(up.status, 0, up.stderr);
    markedGroups(state);
    const down = tend('down');
    assert.equal(down.status, 0, down.stderr);
    // `down` returns once the daemon has released its pid file; its last line follows.
    const ended = await waitFor(() => lastMessage(join(state, 'tend.log')) === BYE, { what: 'the last line in tend.log', timeoutMs: 5_000 }).catch(() => false);
    assert.ok(ended, `run ${run}: tend.log ends with\n${readFileSync(join(state, 'tend.log'), 'utf8').split('\n').slice(-4).join('\n')}`);
  }
});
