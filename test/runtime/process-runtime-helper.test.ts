// Every ProcessRuntime test again, with replicas forked by the spawn helpers instead of in process;
// then what only a helper can go through. Run as it is: the compiled helper (libexec/tend-spawn-helper,
// when `npm run build` could compile it); imported by process-runtime-node-helper.test.ts: node's
// (libexec/tend-spawn-helper.mjs), which machines without a C compiler use.

import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { test, type TestContext } from 'node:test';

import { ProcessRuntime } from '../../src/runtime/process-runtime.js';
import { NATIVE_HELPER, SpawnHelper, type HelperKind } from '../../src/runtime/spawn-helper.js';
import { readProcStat } from '../../src/runtime/proc.js';
import type { ExitStatus } from '../../src/runtime/types.js';
import { cleanup, fixture, isAlive, liveGroupSize, processReaper, tempDir, waitFor } from '../helpers/index.js';
import { harness, launch, logIn, waitForLog } from './helpers.js';

process.env['TEND_TEST_RUNTIME'] ??= 'helper';
const KIND: HelperKind = process.env['TEND_TEST_RUNTIME'] === 'node-helper' ? 'node' : 'auto';
await import('./process-runtime.test.js');

/** The helpers' pids: this process's children running either helper. */
function helperPids(): number[] {
  const out = spawnSync('ps', ['-o', 'pid=,args=', '--ppid', String(process.pid)], { encoding: 'utf8' }).stdout;
  return out
    .split('\n')
    .filter((l) => l.includes('tend-spawn-helper'))
    .map((l) => Number(l.trim().split(/\s+/)[0]));
}

test('helper: the tests above ran through the helpers (a replica of their harness is a helper\'s child)', async (t) => {
  const dir = tempDir(t);
  const { handle } = await harness(t).start({ launch: launch(fixture('forever.mjs'), dir), logFile: logIn(dir) });
  const parent = readProcStat(handle.pid)?.ppid;
  assert.notEqual(parent, process.pid);
  assert.ok(helperPids().includes(parent!), `its parent ${parent} is a helper`);
  // Which program: the compiled one whenever the build made it; node's when asked for.
  const exe = readlinkSync(`/proc/${parent}/exe`);
  if (KIND === 'node' || !existsSync(NATIVE_HELPER)) assert.match(readFileSync(`/proc/${parent}/cmdline`, 'utf8'), /tend-spawn-helper\.mjs/);
  else assert.equal(exe, NATIVE_HELPER);
});

test('helper: the build compiled the native helper, as this machine has a C compiler', { skip: (KIND === 'node' || !hasCompiler()) && 'no C compiler here, or node\'s helper is under test' }, () => {
  assert.ok(existsSync(NATIVE_HELPER), `${NATIVE_HELPER} was built by npm run build (scripts/build-native.mjs)`);
});

for (const [what, content] of [
  ['cannot be executed (a missing interpreter)', '#!/nonexistent/interpreter\n'],
  ['exits before it is ready (built for another machine, say)', '#!/bin/sh\nexit 1\n'],
] as const) {
  test(`helper: a compiled helper that ${what}: node's forks instead`, { skip: KIND === 'node' && 'node\'s helper is under test' }, async (t) => {
    const dir = tempDir(t);
    const broken = join(dir, 'tend-spawn-helper');
    writeFileSync(broken, content, { mode: 0o755 });
    const reaper = processReaper(t);
    const rt = new ProcessRuntime({ helper: true, helpers: 1, waitForHelper: true, nativeHelper: broken });
    cleanup(t, () => rt.close());
    assert.equal(await rt.helperReady(), true, 'a helper came up');
    const res = await rt.start({ launch: launch(fixture('forever.mjs'), dir), logFile: logIn(dir) }, () => {});
    assert.ok(res.ok, res.ok ? '' : res.reason);
    reaper.track(res.handle.pgid, true);
    const parent = readProcStat(res.handle.pid)!.ppid;
    assert.notEqual(parent, process.pid, 'not forked in process');
    assert.match(readFileSync(`/proc/${parent}/cmdline`, 'utf8'), /tend-spawn-helper\.mjs/);
  });
}

test("helper: started with tend's stderr closed, the compiled helper still gives a replica its stderr", { skip: (KIND === 'node' || !existsSync(NATIVE_HELPER)) && 'the compiled helper is not under test' }, async (t) => {
  const dir = tempDir(t);
  const reaper = processReaper(t);
  const log = logIn(dir);
  // A daemon started with 2>&- passes that on. Whatever the helper opens first takes fd 2 (a log
  // opened there would stay close-on-exec through dup2(2, 2)); the helper fills 0-2 at start.
  const helper = spawn('sh', ['-c', 'exec "$0" 2>&-', NATIVE_HELPER], { stdio: ['pipe', 'pipe', 'ignore'] });
  cleanup(t, () => helper.kill('SIGKILL'));
  const replies = createInterface({ input: helper.stdout! });
  const lines: string[] = [];
  replies.on('line', (l) => lines.push(l));
  helper.stdin!.write(JSON.stringify({ id: 1, argv: ['sh', '-c', 'echo to-out; echo to-err >&2'], cwd: dir, env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin' }, log }) + '\n');
  const reply = await waitFor(() => lines.map((l) => JSON.parse(l) as { id?: number; pid?: number }).find((m) => m.id === 1), { what: 'the reply' });
  assert.ok(reply.pid, `forked: ${JSON.stringify(reply)}`);
  reaper.track(reply.pid, true);
  await waitForLog(log, 'to-err');
  assert.match(readFileSync(log, 'utf8'), /to-out\nto-err\n/);
  helper.stdin!.end();
});

test('helper: 300 starts asked at once, some failing and some exiting at once: each answered once, every exit after its start, none for a failure', async (t) => {
  const dir = tempDir(t);
  const reaper = processReaper(t);
  const rt = new ProcessRuntime({ helper: true, helperKind: KIND, helpers: 1, waitForHelper: true });
  cleanup(t, () => rt.close());
  assert.equal(await rt.helperReady(), true);
  const order: string[] = [];
  const exits = new Map<number, ExitStatus>();
  const argvOf = (i: number) => (i % 50 === 7 ? ['no-such-command-tend-test'] : i % 3 === 0 ? ['sh', '-c', `exit ${i % 100}`] : ['sleep', '1000']);
  const starts = Array.from({ length: 300 }, (_, i) =>
    rt.start({ launch: launch(argvOf(i), dir), logFile: logIn(dir, `svc/${i % 20}.log`) }, (s) => {
      order.push(`exit ${i}`);
      exits.set(i, s);
    }).then((r) => {
      order.push(`start ${i}`);
      if (r.ok) reaper.track(r.handle.pgid, true);
      return r;
    }),
  );
  const results = await Promise.all(starts);
  const pids = new Set<number>();
  results.forEach((r, i) => {
    if (i % 50 === 7) {
      assert.equal(r.ok, false, `start ${i} fails`);
      if (!r.ok) assert.match(r.reason, /command not found/);
      return;
    }
    assert.ok(r.ok, `start ${i}: ${r.ok ? '' : r.reason}`);
    pids.add(r.handle.pid);
  });
  assert.equal(pids.size, 294, 'a distinct pid for each replica');
  const quick = [...Array(300).keys()].filter((i) => i % 50 !== 7 && i % 3 === 0);
  await waitFor(() => quick.every((i) => exits.has(i)), { what: 'every quick replica exited' });
  for (const i of quick) {
    assert.equal(exits.get(i)!.code, i % 100, `exit code of ${i}`);
    assert.ok(order.indexOf(`start ${i}`) < order.indexOf(`exit ${i}`), `${i}: its start before its exit`);
  }
  for (let i = 7; i < 300; i += 50) assert.equal(exits.has(i), false, `no exit for the failed start ${i}`);
});

test('helper: an exit says whether the replica left its group empty (a stop then ends without tend asking the kernel)', async (t) => {
  const dir = tempDir(t);
  const reaper = processReaper(t);
  const exits = new Map<number, boolean>();
  const helper = new SpawnHelper({ onExit: (pid, _code, _signal, empty) => exits.set(pid, empty), onDeath: () => {} }, KIND);
  cleanup(t, () => helper.close());
  assert.equal(await helper.whenReady, true);
  const start = async (script: string) => {
    const r = await helper.spawn({ argv: ['/bin/sh', '-c', script], cwd: dir, env: process.env, log: logIn(dir) }, () => {});
    if (!r.ok) assert.fail(`the start failed: ${JSON.stringify(r)}`);
    reaper.track(r.pid, true);
    return r.pid;
  };
  const alone = await start('exit 0');
  // A child left behind in the group keeps it alive after its leader is gone.
  const parent = await start('sleep 1000 & exit 0');
  await waitFor(() => exits.has(alone) && exits.has(parent), { what: 'both exits told' });
  assert.equal(exits.get(alone), true, 'nobody left in the group of a replica that exited alone');
  assert.equal(exits.get(parent), false, 'its sleep is still in the group');
  assert.ok(liveGroupSize(parent) > 0);
});

test('helper: a replica that exits at once is seen to start, then to exit', async (t) => {
  const dir = tempDir(t);
  const rt = new ProcessRuntime({ helper: true, helperKind: KIND, waitForHelper: true });
  cleanup(t, () => rt.close());
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

test('helper: killed, its replicas are watched from /proc; new ones go to the other, then in process', async (t) => {
  const dir = tempDir(t);
  const reaper = processReaper(t);
  const rt = new ProcessRuntime({ helper: true, helperKind: KIND, helpers: 2, waitForHelper: true, adoptPollMs: 20 });
  cleanup(t, () => rt.close());
  const started = async (n: number, onExit: (s: ExitStatus) => void = () => {}) => {
    const res = await rt.start({ launch: launch(fixture('forever.mjs'), dir), logFile: logIn(dir, `svc/${n}.log`) }, onExit);
    assert.ok(res.ok, res.ok ? '' : res.reason);
    reaper.track(res.handle.pgid, true);
    return res.handle;
  };
  const exits: ExitStatus[] = [];
  const first = await started(0, (s) => exits.push(s));
  await waitForLog(logIn(dir, 'svc/0.log'), 'READY');
  const helpers = helperPids();
  assert.equal(helpers.length, 2);
  const parent = readProcStat(first.pid)!.ppid;
  assert.ok(helpers.includes(parent), 'a helper, not tend, is its parent');
  process.kill(parent, 'SIGKILL');
  // Reaped by this process: its runtime has heard of the death by then.
  await waitFor(() => readProcStat(parent) === null, { what: 'the helper gone' });
  assert.ok(isAlive(first.pid), 'the replica outlives its helper');

  // The next replica goes to the helper still up.
  const other = helpers.find((p) => p !== parent)!;
  assert.equal(readProcStat((await started(1)).pid)?.ppid, other);
  // With no helper left, this process forks it.
  process.kill(other, 'SIGKILL');
  await waitFor(() => readProcStat(other) === null, { what: 'the other helper gone' });
  const last = await started(2);
  assert.equal(readProcStat(last.pid)?.ppid, process.pid);

  // The orphan's exit is still noticed (from /proc: its parent is gone).
  process.kill(first.pid, 'SIGKILL');
  await waitFor(() => exits.length === 1, { what: "the exit of the helper's replica" });
  const stop = await rt.stop(last, 'SIGTERM', 2000);
  assert.equal(stop.killed, false);
});

/** A runtime of two helpers, with no helper of a test before left (they leave with their stdin,
 *  and would be counted as this runtime's); `start(n)` starts a replica and gives its parent. */
async function twoHelpers(t: TestContext) {
  const dir = tempDir(t);
  const reaper = processReaper(t);
  await waitFor(() => helperPids().length === 0, { what: 'no helper left from the tests before' });
  const rt = new ProcessRuntime({ helper: true, helperKind: KIND, helpers: 2, waitForHelper: true });
  cleanup(t, () => rt.close());
  assert.equal(await rt.helperReady(), true);
  const start = async (n: number) => {
    const r = await rt.start({ launch: launch(fixture('forever.mjs'), dir), logFile: logIn(dir, `svc/${n}.log`) }, () => {});
    assert.ok(r.ok, r.ok ? '' : r.reason);
    reaper.track(r.handle.pgid, true);
    return readProcStat(r.handle.pid)?.ppid;
  };
  return { rt, start };
}

test('helper: one helper is forked at once, the others once the first start has been asked for (their forks are not on the way to the first replica)', async (t) => {
  const { start } = await twoHelpers(t);
  assert.equal(helperPids().length, 1, 'one helper before any start');
  await start(0);
  await waitFor(() => helperPids().length === 2, { what: 'the second helper' });
  // Both take starts from then on.
  const parents = new Set(await Promise.all([1, 2, 3, 4].map(start)));
  assert.deepEqual([...parents].sort(), helperPids().sort(), 'forked by both helpers');
});

test('helper: the first helper dead before any start: the first start forks in process and starts the others, which take the next', async (t) => {
  const { start } = await twoHelpers(t);
  const [first] = helperPids();
  process.kill(first!, 'SIGKILL');
  await waitFor(() => readProcStat(first!) === null, { what: 'the first helper gone' });
  assert.equal(await start(0), process.pid, 'no helper up: forked here');
  const [second] = await waitFor(() => (helperPids().length === 1 ? helperPids() : undefined), { what: 'the second helper' });
  assert.equal(await start(1), second);
});

test('helper: closing the runtime ends the helper and leaves the replicas running', async (t) => {
  const dir = tempDir(t);
  const reaper = processReaper(t);
  const rt = new ProcessRuntime({ helper: true, helperKind: KIND, waitForHelper: true });
  const res = await rt.start({ launch: launch(fixture('forever.mjs'), dir), logFile: logIn(dir) }, () => {});
  assert.ok(res.ok);
  reaper.track(res.handle.pgid, true);
  const helpers = helperPids();
  assert.ok(helpers.length > 0);
  rt.close();
  await waitFor(() => helpers.every((p) => !isAlive(p)), { what: 'the helpers to leave with their stdin' });
  assert.ok(isAlive(res.handle.pid));
});

test("helper: a NODE_OPTIONS exported in tend's shell (a tracer's --require) is not loaded into the helpers; replicas still get it", async (t) => {
  const dir = tempDir(t);
  const marker = `${dir}/loaded-by`;
  const preload = `${dir}/preload.cjs`;
  writeFileSync(preload, `require('node:fs').appendFileSync(${JSON.stringify(marker)}, process.pid + '\\n');\n`);
  const before = process.env['NODE_OPTIONS'];
  process.env['NODE_OPTIONS'] = `--require ${preload}`;
  let rt: ProcessRuntime;
  try {
    rt = new ProcessRuntime({ helper: true, helperKind: KIND, waitForHelper: true });
  } finally {
    if (before === undefined) delete process.env['NODE_OPTIONS'];
    else process.env['NODE_OPTIONS'] = before;
  }
  cleanup(t, () => rt.close());
  const reaper = processReaper(t);
  const res = await rt.start({ launch: launch(['sh', '-c', 'echo "opts=$NODE_OPTIONS"; exec sleep 1000'], dir, { NODE_OPTIONS: `--require ${preload}` }), logFile: logIn(dir) }, () => {});
  assert.ok(res.ok);
  reaper.track(res.handle.pgid, true);
  const helper = readProcStat(res.handle.pid)!.ppid;
  assert.ok(helperPids().includes(helper), 'forked by a helper');
  await waitForLog(logIn(dir), /opts=--require/);
  const loadedBy = existsSync(marker) ? readFileSync(marker, 'utf8').split('\n').filter(Boolean).map(Number) : [];
  assert.equal(loadedBy.includes(helper), false, `the helper (pid ${helper}) did not load the preload`);
});

const hasPython = spawnSync('python3', ['-c', 'import signal; signal.sigwaitinfo'], { stdio: 'ignore' }).status === 0;

test("helper: a stop is signalled by the replica's parent, the helper, not by the daemon (the sender, as the replica's siginfo tells it)", { skip: !hasPython && 'no python3 (sigwaitinfo tells a signal\'s sender)' }, async (t) => {
  const dir = tempDir(t);
  const script = `${dir}/who.py`;
  writeFileSync(
    script,
    [
      'import os, signal',
      'signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGTERM])',
      'print("READY", flush=True)',
      'info = signal.sigwaitinfo([signal.SIGTERM])',
      'print("SIGTERM from", info.si_pid, "parent", os.getppid(), flush=True)',
    ].join('\n') + '\n',
  );
  const rt = new ProcessRuntime({ helper: true, helperKind: KIND, waitForHelper: true });
  cleanup(t, () => rt.close());
  const reaper = processReaper(t);
  const res = await rt.start({ launch: launch(['python3', script], dir), logFile: logIn(dir) }, () => {});
  assert.ok(res.ok);
  reaper.track(res.handle.pgid, true);
  await waitForLog(logIn(dir), 'READY');
  const parent = readProcStat(res.handle.pid)!.ppid;
  assert.ok(helperPids().includes(parent), 'forked by a helper');
  await rt.stop(res.handle, 'SIGTERM', 10_000);
  const m = /SIGTERM from (\d+) parent (\d+)/.exec(readFileSync(logIn(dir), 'utf8'));
  assert.ok(m, 'the replica reported its SIGTERM');
  assert.equal(Number(m[1]), parent, 'sent by the helper');
  assert.notEqual(Number(m[1]), process.pid);
});

test('helper: a stop asked of a helper that dies before sending it is signalled by tend (SIGTERM, not SIGKILL at the deadline)', async (t) => {
  const dir = tempDir(t);
  const reaper = processReaper(t);
  const rt = new ProcessRuntime({ helper: true, helperKind: KIND, helpers: 1, waitForHelper: true, adoptPollMs: 20 });
  cleanup(t, () => rt.close());
  const res = await rt.start({ launch: launch(fixture('forever.mjs'), dir), logFile: logIn(dir) }, () => {});
  assert.ok(res.ok);
  reaper.track(res.handle.pgid, true);
  await waitForLog(logIn(dir), 'READY');
  const helper = readProcStat(res.handle.pid)!.ppid;
  assert.ok(helperPids().includes(helper), 'forked by the helper');
  // Stopped, it cannot read the request tend writes to it; killed, it never will.
  process.kill(helper, 'SIGSTOP');
  const stopping = rt.stop(res.handle, 'SIGTERM', 20_000);
  process.kill(helper, 'SIGKILL');
  const r = await stopping;
  assert.equal(r.killed, false, 'ended by its SIGTERM, before the deadline');
  assert.equal(isAlive(res.handle.pid), false);
});

test('helper: afterSpawns runs once the starts asked for are answered, or after maxMs when a fork hangs', async (t) => {
  const dir = tempDir(t);
  const reaper = processReaper(t);
  const rt = new ProcessRuntime({ helper: true, helperKind: KIND, helpers: 1, waitForHelper: true });
  cleanup(t, () => rt.close());
  assert.equal(await rt.helperReady(), true);
  let ran = 0;
  rt.afterSpawns(() => ran++, 60_000);
  assert.equal(ran, 1, 'nothing in flight: at once');

  // One start in flight: after its answer (as the daemon writes state.json after a load's spawns).
  const order: string[] = [];
  const first = rt.start({ launch: launch(fixture('forever.mjs'), dir), logFile: logIn(dir) }, () => {}).then((r) => (order.push('answered'), r));
  rt.afterSpawns(() => order.push('after'), 60_000);
  assert.deepEqual(order, []);
  const r1 = await first;
  assert.ok(r1.ok);
  reaper.track(r1.handle.pgid, true);
  await waitFor(() => order.length === 2, { what: 'afterSpawns ran' });
  assert.deepEqual(order, ['answered', 'after']);

  // A helper that cannot answer (stopped): the wait ends at maxMs.
  const helper = readProcStat(r1.handle.pid)!.ppid;
  process.kill(helper, 'SIGSTOP');
  // If an assertion fails while it is stopped: let it go on (and leave with its stdin), if it is
  // still our helper (its pid may be gone, or another process's, by then).
  cleanup(t, () => {
    if (helperPids().includes(helper)) process.kill(helper, 'SIGCONT');
  });
  const second = rt.start({ launch: launch(fixture('forever.mjs'), dir), logFile: logIn(dir, 'svc/1.log') }, () => {});
  let late = false;
  let answered = false;
  void second.then(() => (answered = true));
  rt.afterSpawns(() => (late = true), 200);
  await waitFor(() => late, { what: 'afterSpawns after maxMs' });
  assert.equal(answered, false, 'ran before the hung start was answered');
  process.kill(helper, 'SIGCONT');
  const r2 = await second;
  assert.ok(r2.ok);
  reaper.track(r2.handle.pgid, true);
});

function hasCompiler(): boolean {
  return spawnSync(process.env['CC'] || 'cc', ['--version'], { stdio: 'ignore' }).status === 0;
}

test("helper: the compiled helper reaps its replicas while tend does not read its replies (a busy tend no longer leaves them zombies)", { skip: (KIND === 'node' || !existsSync(NATIVE_HELPER)) && 'the compiled helper is not under test' }, async (t) => {
  const dir = tempDir(t);
  const log = logIn(dir);
  const helper = spawn(NATIVE_HELPER, [], { stdio: ['pipe', 'pipe', 'ignore'] });
  const exited = new Promise((r) => helper.once('exit', r));
  cleanup(t, async () => {
    // Even when this fails: read its replies and end its input, so that it reaps what it forked and
    // exits (killed blocked, it would leave zombies that nothing here reaps); killed if it does not.
    helper.stdout!.resume();
    helper.stdin!.end();
    const timer = setTimeout(() => helper.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  });
  // 5000 replicas that print one byte and exit: ~500 KB of replies (a fork's and an exit's line
  // each), more than the pipe and Node's buffer hold while nobody reads.
  const n = 5000;
  const chunks: Buffer[] = [];
  helper.stdout!.on('data', (c: Buffer) => chunks.push(c));
  helper.stdout!.pause();
  const line = (i: number) => JSON.stringify({ id: i, argv: ['printf', 'x'], cwd: dir, env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin' }, log }) + '\n';
  helper.stdin!.write(Array.from({ length: n }, (_, i) => line(i + 1)).join(''));
  const children = () => readFileSync(`/proc/${helper.pid}/task/${helper.pid}/children`, 'utf8').trim();
  await waitFor(() => existsSync(log) && readFileSync(log).length === n && children() === '', { what: `all ${n} ran and were reaped, replies unread`, timeoutMs: 120_000 });
  helper.stdout!.resume();
  helper.stdin!.end();
  await new Promise((r) => helper.stdout!.once('end', r));
  const replies = Buffer.concat(chunks).toString('utf8').trim().split('\n').map((l) => JSON.parse(l) as { id?: number; pid?: number; exit?: number; ready?: boolean });
  assert.equal(replies.filter((m) => m.id !== undefined && m.pid !== undefined).length, n, 'every fork answered');
  assert.equal(replies.filter((m) => m.exit !== undefined).length, n, 'every exit told, none lost while the pipe was full');
});

test('helper: the compiled helper sets the soft open-files limit asked for (the caller\'s: util/nofile.ts), lowering only, the hard limit kept', { skip: (KIND === 'node' || !existsSync(NATIVE_HELPER)) && 'the compiled helper is not under test' }, async (t) => {
  const own = /^Max open files\s+(\d+)\s+(\d+)/m.exec(readFileSync('/proc/self/limits', 'latin1'))!;
  const [soft, hard] = [Number(own[1]), Number(own[2])];
  if (soft <= 64) return t.skip(`this process's soft limit is ${soft}`);
  const reaper = processReaper(t);
  for (const [asked, expected] of [[64, 64], [soft + 1000, soft]] as const) {
    const dir = tempDir(t);
    const rt = new ProcessRuntime({ helper: true, helpers: 1, nofile: asked });
    cleanup(t, () => rt.close());
    // Not waitForHelper: the runtime waits for the helper itself when it has a limit to set.
    const r = await rt.start({ launch: launch(fixture('forever.mjs'), dir), logFile: logIn(dir) }, () => {});
    assert.ok(r.ok, JSON.stringify(r));
    reaper.track(r.handle.pid, true);
    const limits = /^Max open files\s+(\d+)\s+(\d+)/m.exec(readFileSync(`/proc/${r.handle.pid}/limits`, 'latin1'))!;
    assert.deepEqual([Number(limits[1]), Number(limits[2])], [expected, hard], `asked for ${asked}`);
    assert.equal(await rt.setsNofile(), true);
    rt.close();
  }
});
