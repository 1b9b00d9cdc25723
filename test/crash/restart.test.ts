// Crash safety II, from the user's side: tend killed at the worst moments and started again costs no
// running service, runs no job twice, adopts the right process, and signals only what it started.
// Every scenario also runs a bystander: a process group that a user started with TEND_STATE_DIR
// (and the other TEND_* names) exported, which must survive everything.

import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cleanup, isAlive, NODE, processReaper, procStat, ROOT, specDir, waitFor } from '../helpers/index.js';
import { markedGroups, runningPids, startDaemon } from '../helpers/daemon.js';
import { runCli } from '../cli/run-cli.js';
import { readState } from '../../src/state/state-file.js';

const sleeper = (over = '') => `command: ["sleep", "1000"]\nstop_timeout: 2s\n${over}`;

/** A user's own process group with tend's variables exported, as `export TEND_STATE_DIR=…; setsid …`
 *  leaves it. Killed after the test. */
function bystander(t: TestContext, state: string): number {
  const child = spawn('sleep', ['1000'], {
    detached: true,
    stdio: 'ignore',
    env: { ...process.env, TEND_STATE_DIR: state, TEND_SERVICE: 'w', TEND_REPLICA: '0', TEND_SPEC_HASH: 'x' },
  });
  child.unref();
  processReaper(t).track(child.pid, true);
  return child.pid!;
}

test('a caller with TEND_STATE_DIR exported is never signalled: `timeout 60 tend up -d --wait` succeeds, and a bystander group survives a crash and restart of tend', async (t) => {
  const { root, dir, state } = specDir(t, { 'w.yaml': sleeper('replicas: 2') });
  const other = bystander(t, state);
  // The user's report: `export TEND_STATE_DIR=…; timeout 30 tend up DIR -d --wait` died with 143.
  const up = await new Promise<number | null>((resolve) => {
    const child = spawn('timeout', ['60', NODE, join(ROOT, 'dist/bin/tend.js'), 'up', dir, '-d', '--wait'], {
      cwd: root,
      env: { ...process.env, TEND_STATE_DIR: state },
      stdio: 'ignore',
    });
    child.on('close', (code) => resolve(code));
  });
  cleanup(t, () => void runCli(root, ['--state-dir', state, 'down']).catch(() => undefined));
  assert.equal(up, 0, '`timeout … tend up -d --wait` exits 0');
  assert.ok(isAlive(other), 'the bystander survived the start');

  // Crash and restart of the daemon (in a test harness process this time): the bystander lives on.
  const pidFile = readFileSync(join(state, 'tend.pid'), 'utf8').split('\n')[0]!;
  process.kill(Number(pidFile), 'SIGKILL');
  await waitFor(() => !isAlive(Number(pidFile)), { what: 'daemon gone' });
  const d = await startDaemon(t, dir, state);
  const s = await d.converged((x) => runningPids(x).length === 2);
  assert.equal(runningPids(s).length, 2);
  assert.ok(isAlive(other), 'the bystander survived adoption');
  await d.api.shutdown();
  await d.exited;
  assert.ok(isAlive(other), 'the bystander survived the shutdown');
});

test('restarted mid-deploy with services.d missing: every replica keeps running and is adopted', async (t) => {
  const { root, dir, state } = specDir(t, { 'a.yaml': sleeper('replicas: 2'), 'b.yaml': sleeper() });
  const other = bystander(t, state);
  const d1 = await startDaemon(t, dir, state);
  const before = runningPids(await d1.converged((s) => runningPids(s).length === 3));
  d1.child.kill('SIGKILL');
  await d1.exited;
  renameSync(dir, join(root, 'moved-away'));

  const d2 = await startDaemon(t, dir, state);
  const s = await waitFor(async () => {
    const x = await d2.status();
    return x.services.length === 2 && runningPids(x).length === 3 ? x : undefined;
  }, { what: 'adopted under the last good specs' });
  assert.deepEqual(runningPids(s), before, 'the same processes, none stopped');
  assert.ok(s.errors.some((e) => /cannot read the directory/.test(e.message)), 'the missing directory is reported');
  for (const pid of before) assert.ok(isAlive(pid));

  // The deployment finishes: the directory is back, with a change to b only.
  renameSync(join(root, 'moved-away'), dir);
  writeFileSync(join(dir, 'b.yaml'), sleeper('env: { V: "2" }'));
  const after = await d2.converged((x) => runningPids(x, 'b').length === 1 && !before.includes(runningPids(x, 'b')[0]!));
  assert.deepEqual(runningPids(after, 'a'), runningPids(s, 'a'), 'a untouched');
  assert.ok(isAlive(other));
});

test('restarted while a file has a typo the old daemon tolerated: its last good version keeps running', async (t) => {
  const { dir, state } = specDir(t, { 'a.yaml': sleeper(), 'b.yaml': sleeper() });
  const d1 = await startDaemon(t, dir, state);
  const before = await d1.converged((s) => runningPids(s).length === 2);
  writeFileSync(join(dir, 'a.yaml'), sleeper('restrat: always\n'));
  await waitFor(async () => (await d1.status()).errors.length > 0, { what: 'typo reported' });
  // state.json is written at most every 250 ms after a change: let the last good spec land.
  await waitFor(() => {
    const r = readState(join(state, 'state.json'));
    return r.kind === 'ok' && Object.keys(r.state.desired).length === 2;
  }, { what: 'state.json has both services' });
  d1.child.kill('SIGKILL');
  await d1.exited;

  const d2 = await startDaemon(t, dir, state);
  const s = await waitFor(async () => {
    const x = await d2.status();
    return x.errors.length > 0 && runningPids(x).length === 2 ? x : undefined;
  }, { what: 'both adopted, typo reported' });
  assert.deepEqual(runningPids(s), runningPids(before), 'a was adopted under its last good spec, not stopped');
  assert.match(s.errors[0]!.message, /restrat/);
});

test('a job that exits while tend is down is not run again: its exit is read, or it is held with the reason', async (t) => {
  const { root, dir, state } = specDir(t, {});
  const count = join(root, 'count');
  writeFileSync(join(dir, 'job.yaml'), `command: "echo ran >> ${count}; sleep 1"\noneshot: true\n`);
  const d1 = await startDaemon(t, dir, state);
  await waitFor(() => existsSync(count), { what: 'job started' });
  await waitFor(() => {
    const r = readState(join(state, 'state.json'));
    return r.kind === 'ok' && r.state.replicas.some((x) => x.service === 'job');
  }, { what: 'job recorded' });
  const recorded = readState(join(state, 'state.json'));
  const jobPid = recorded.kind === 'ok' ? recorded.state.replicas.find((x) => x.service === 'job')?.pid : undefined;
  d1.child.kill('SIGKILL');
  await d1.exited;
  // The job finishes while no tend watches it.
  await waitFor(() => markedGroups(state).length === 0, { what: 'job exited', timeoutMs: 10_000 });

  const restartedAt = Date.now();
  const d2 = await startDaemon(t, dir, state);
  const job = await waitFor(async () => {
    const svc = (await d2.status()).services.find((x) => x.name === 'job');
    return svc && (svc.state === 'completed' || svc.state === 'failed') ? svc : undefined;
  }, { what: 'job judged' });
  // Where the zombie was still there (init does not reap) its exit 0 was read; where something
  // reaped it, nobody can know how it ended, and tend says so instead of running it again.
  if (job.state === 'failed') assert.match(job.replicas[0]!.reason ?? '', /exit status unknown.*not run again/);
  // completed and failed are terminal: the planner starts a slot in them only after a spec change
  // or `tend restart` (table tests in test/reconcile/plan.test.ts).
  // The history spans restarts of tend: only what the new daemon did counts here.
  const events = (await d2.api.eventHistory(100)).filter((e) => Date.parse(e.ts) >= restartedAt);
  assert.ok(!events.some((e) => e.service === 'job' && (e.type === 'replica.starting' || e.type === 'replica.restarting')), 'no start of the job');
  // The exit read after the restart names the process it was.
  const exited = events.find((e) => e.service === 'job' && e.type === 'replica.exited');
  assert.equal(exited?.pid, jobPid);
  assert.equal(readFileSync(count, 'utf8'), 'ran\n', 'the job ran exactly once');
});

test('a completed job stays completed across crashes of tend and is never run again', async (t) => {
  const { root, dir, state } = specDir(t, {});
  const count = join(root, 'count');
  writeFileSync(join(dir, 'job.yaml'), `command: "echo ran >> ${count}"\noneshot: true\n`);
  writeFileSync(join(dir, 'after.yaml'), sleeper('depends_on: { job: completed }\n'));
  let d = await startDaemon(t, dir, state);
  const first = runningPids(await d.converged((x) => runningPids(x, 'after').length === 1), 'after');
  for (let crash = 0; crash < 2; crash++) {
    await waitFor(() => {
      const r = readState(join(state, 'state.json'));
      return r.kind === 'ok' && r.state.completions.some((c) => c.service === 'job');
    }, { what: 'completion recorded' });
    d.child.kill('SIGKILL');
    await d.exited;
    d = await startDaemon(t, dir, state);
    const s = await d.converged((x) => runningPids(x, 'after').length === 1);
    assert.equal(s.services.find((x) => x.name === 'job')!.state, 'completed');
    assert.deepEqual(runningPids(s, 'after'), first, 'its dependent was adopted, not restarted');
  }
  assert.equal(readFileSync(count, 'utf8'), 'ran\n', 'the job ran exactly once');
});

test('a replica whose child called setsid: the recorded replica is adopted, its escaped child is not taken for it and kept', async (t) => {
  const { dir, state } = specDir(t, {
    'w.yaml': `command: "setsid sleep 1000 & exec sleep 1001"\nstop_timeout: 2s\n`,
  });
  const d1 = await startDaemon(t, dir, state);
  const before = runningPids(await d1.converged((s) => runningPids(s).length === 1));
  await waitFor(() => markedGroups(state).length === 2, { what: 'the escaped child exists' });
  const escaped = markedGroups(state).find((p) => p !== before[0])!;
  processReaper(t).track(escaped, true);
  for (const remove of [false, true]) {
    await waitFor(() => readState(join(state, 'state.json')).kind === 'ok', { what: 'state.json' });
    const d = remove ? undefined : d1;
    if (d) {
      d.child.kill('SIGKILL');
      await d.exited;
    }
    // Without state.json too: then the oldest process carrying the spawn's nonce is the replica.
    if (remove) rmSync(join(state, 'state.json'), { force: true });
    const next = await startDaemon(t, dir, state);
    const after = runningPids(await next.converged((s) => runningPids(s).length === 1));
    assert.deepEqual(after, before, `the real replica was adopted${remove ? ' (no state.json)' : ''}`);
    assert.ok(isAlive(before[0]!));
    assert.ok(isAlive(escaped), 'the escaped child is kept (stop_escaped: keep)');
    if (!remove) {
      next.child.kill('SIGKILL');
      await next.exited;
    } else {
      await next.api.shutdown();
      await next.exited;
    }
  }
  assert.ok(isAlive(escaped), 'kept across a clean shutdown too');
});

test('stop_escaped: kill stops a replica\'s escaped child with it', async (t) => {
  const { dir, state } = specDir(t, {
    'w.yaml': `command: "setsid sleep 1000 & exec sleep 1001"\nstop_timeout: 2s\nstop_escaped: kill\n`,
  });
  const d = await startDaemon(t, dir, state);
  await d.converged((s) => runningPids(s).length === 1);
  await waitFor(() => markedGroups(state).length === 2, { what: 'the escaped child exists' });
  const all = markedGroups(state);
  await d.api.shutdown();
  await d.exited;
  for (const pid of all) await waitFor(() => !isAlive(pid), { what: `${pid} stopped` });
});

test('an exec probe running at the crash is never adopted in place of its replica', async (t) => {
  const { root, dir, state } = specDir(t, {});
  const mark = join(root, 'probing');
  // Each probe adds its pid (`$$$$`: the spec reads `$$` as one `$`) and becomes `sleep`: it leads
  // a process group of its own, which a killed daemon cannot end, so the test does, by those pids.
  writeFileSync(join(dir, 'w.yaml'), sleeper(`liveness: { exec: ["sh", "-c", "echo $$$$ >> ${mark}; exec sleep 30"], interval: 1s, timeout: 60s }\n`));
  cleanup(t, () => {
    const probes = existsSync(mark) ? readFileSync(mark, 'utf8').split('\n').filter(Boolean).map(Number) : [];
    for (const probe of probes) if (procStat(probe)?.pgid === probe) process.kill(-probe, 'SIGKILL');
  });
  const d1 = await startDaemon(t, dir, state);
  const before = runningPids(await d1.converged((s) => runningPids(s).length === 1));
  await waitFor(() => existsSync(mark) && readFileSync(mark, 'utf8').endsWith('\n'), { what: 'probe running' });
  d1.child.kill('SIGKILL');
  await d1.exited;
  rmSync(join(state, 'state.json'), { force: true });
  const d2 = await startDaemon(t, dir, state);
  const after = runningPids(await d2.converged((s) => runningPids(s).length === 1));
  assert.deepEqual(after, before, 'the replica, not its probe, was adopted');
});

test('adoption is on record at once, with the crash-loop history', async (t) => {
  const { dir, state } = specDir(t, { 'w.yaml': sleeper() });
  const d1 = await startDaemon(t, dir, state);
  const s1 = await d1.converged((s) => runningPids(s).length === 1);
  process.kill(runningPids(s1)[0]!, 'SIGKILL');
  await d1.converged((s) => runningPids(s).length === 1 && s.services[0]!.restarts === 1);
  await waitFor(() => {
    const r = readState(join(state, 'state.json'));
    return r.kind === 'ok' && r.state.replicas[0]?.restarts === 1;
  }, { what: 'restart recorded' });
  d1.child.kill('SIGKILL');
  await d1.exited;
  const d2 = await startDaemon(t, dir, state);
  const s2 = await d2.converged((s) => runningPids(s).length === 1);
  assert.equal(s2.services[0]!.restarts, 1, 'the restart count survived');
  const r = readState(join(state, 'state.json'));
  assert.ok(r.kind === 'ok' && r.state.daemonPid === d2.pid, 'state.json names the new daemon without waiting for a change');
  assert.deepEqual(r.kind === 'ok' && r.state.replicas[0]!.deaths!.length, 1);
});

test('`tend down` after the daemon died mid-shutdown finishes the job: no replica is left running', async (t) => {
  const { root, dir, state } = specDir(t, {
    'stubborn.yaml': `command: ["${NODE}", "${join(ROOT, 'test/fixtures/bin/ignore-sigterm.mjs')}"]\nstop_timeout: 10s\n`,
    'w.yaml': sleeper(),
  });
  const other = bystander(t, state);
  const d = await startDaemon(t, dir, state);
  const pids = runningPids(await d.converged((s) => runningPids(s).length === 2));
  const down = runCli(root, ['--state-dir', state, 'down', '--timeout', '30s']);
  // The daemon starts stopping (stubborn ignores SIGTERM until its 10 s stop_timeout), then dies.
  await waitFor(async () => (await d.status().catch(() => undefined))?.services.some((s) => s.state === 'stopping'), { what: 'stopping', timeoutMs: 30_000 });
  d.child.kill('SIGKILL');
  const r = await down;
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /the daemon exited before it stopped everything/);
  for (const pid of pids) assert.equal(isAlive(pid), false, `replica ${pid} stopped by \`tend down\``);
  assert.ok(isAlive(other), 'the bystander survived');
});

test('`tend down` with no daemon stops what a crashed daemon left, and says so', async (t) => {
  const { root, dir, state } = specDir(t, { 'w.yaml': sleeper('replicas: 2') });
  const d = await startDaemon(t, dir, state);
  const pids = runningPids(await d.converged((s) => runningPids(s).length === 2));
  await waitFor(() => readState(join(state, 'state.json')).kind === 'ok', { what: 'state.json' });
  d.child.kill('SIGKILL');
  await d.exited;
  const r = await runCli(root, ['--state-dir', state, 'down']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /left 2 replicas running; stopped 2/);
  for (const pid of pids) assert.equal(isAlive(pid), false);
});

test('a shared --state-dir (mode 1777) is refused and left as it was', async (t) => {
  const shared = mkdtempSync(join(tmpdir(), 'tend-shared-'));
  cleanup(t, () => rmSync(shared, { recursive: true, force: true }));
  chmodSync(shared, 0o1777);
  mkdirSync(join(shared, 'svc'));
  writeFileSync(join(shared, 'svc', 'w.yaml'), sleeper());
  const r = await runCli(shared, ['--state-dir', shared, 'up', join(shared, 'svc')], { timeoutMs: 15_000 });
  assert.equal(r.code, 5);
  assert.match(r.stderr, /is not private \(mode 1777\)/);
  assert.equal(statSync(shared).mode & 0o7777, 0o1777, 'its mode is unchanged');
});
