// Every ProcessRuntime test again, with replicas forked by the spawn helper
// (libexec/tend-spawn-helper.mjs) instead of in process; then what only the helper can go through.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';

import { ProcessRuntime } from '../../src/runtime/process-runtime.js';
import { readProcStat } from '../../src/runtime/proc.js';
import type { ExitStatus } from '../../src/runtime/types.js';
import { fixture, isAlive, processReaper, tempDir, waitFor } from '../helpers/index.js';
import { launch, logIn, waitForLog } from './helpers.js';

process.env['TEND_TEST_RUNTIME'] = 'helper';
await import('./process-runtime.test.js');

/** The helper's pid: the one child of this process running tend-spawn-helper.mjs. */
function helperPid(): number {
  const out = spawnSync('ps', ['-o', 'pid=,args=', '--ppid', String(process.pid)], { encoding: 'utf8' }).stdout;
  const line = out.split('\n').find((l) => l.includes('tend-spawn-helper.mjs'));
  assert.ok(line, `no helper among this process's children:\n${out}`);
  return Number(line.trim().split(/\s+/)[0]);
}

test('helper: a replica that exits at once is seen to start, then to exit', async (t) => {
  const dir = tempDir(t);
  const rt = new ProcessRuntime({ helper: true, waitForHelper: true });
  t.after(() => rt.close());
  for (let i = 0; i < 20; i++) {
    let exited!: (s: ExitStatus) => void;
    const exit = new Promise<ExitStatus>((r) => (exited = r));
    const seen: string[] = [];
    const res = await rt.start({ launch: launch(['/bin/sh', '-c', 'exit 7'], dir), logFile: logIn(dir) }, (s) => {
      seen.push('exit');
      exited(s);
    });
    seen.push('started');
    assert.equal(res.ok, true);
    assert.equal((await exit).code, 7);
    // The exit may come in the same read as the fork's reply; it is still delivered after it.
    assert.deepEqual(seen, ['started', 'exit']);
  }
  assert.equal(await rt.helperReady(), true);
});

test('helper: killed, its replicas are watched from /proc and new ones fork in process', async (t) => {
  const dir = tempDir(t);
  const reaper = processReaper(t);
  const rt = new ProcessRuntime({ helper: true, waitForHelper: true, adoptPollMs: 20 });
  t.after(() => rt.close());
  const exits: ExitStatus[] = [];
  const res = await rt.start({ launch: launch(fixture('forever.mjs'), dir), logFile: logIn(dir) }, (s) => exits.push(s));
  assert.ok(res.ok);
  reaper.track(res.handle.pgid, true);
  await waitForLog(logIn(dir), 'READY');
  const helper = helperPid();
  assert.notEqual(readProcStat(res.handle.pid)?.ppid, process.pid, 'the helper, not tend, is its parent');
  process.kill(helper, 'SIGKILL');
  // Reaped by this process: its runtime has heard of the death by then.
  await waitFor(() => readProcStat(helper) === null, { what: 'the helper gone' });
  assert.ok(isAlive(res.handle.pid), 'the replica outlives its helper');

  // A new replica forks in process: this process is its parent.
  const next = await rt.start({ launch: launch(fixture('forever.mjs'), dir), logFile: logIn(dir, 'svc/1.log') }, () => {});
  assert.ok(next.ok);
  reaper.track(next.handle.pgid, true);
  assert.equal(readProcStat(next.handle.pid)?.ppid, process.pid);

  // The orphan's exit is still noticed (from /proc: its parent is gone).
  process.kill(res.handle.pid, 'SIGKILL');
  await waitFor(() => exits.length === 1, { what: 'the exit of the helper\'s replica' });
  const stop = await rt.stop(next.handle, 'SIGTERM', 2000);
  assert.equal(stop.killed, false);
});

test('helper: closing the runtime ends the helper and leaves the replicas running', async (t) => {
  const dir = tempDir(t);
  const reaper = processReaper(t);
  const rt = new ProcessRuntime({ helper: true, waitForHelper: true });
  const res = await rt.start({ launch: launch(fixture('forever.mjs'), dir), logFile: logIn(dir) }, () => {});
  assert.ok(res.ok);
  reaper.track(res.handle.pgid, true);
  const helper = helperPid();
  rt.close();
  await waitFor(() => !isAlive(helper), { what: 'the helper to leave with its stdin' });
  assert.ok(isAlive(res.handle.pid));
});
