// ProcessRuntime against real processes: spawn, exit, stop with escalation, spawn errors, pause,
// adoption and the user option.

import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { buildSync } from 'esbuild';
import fc from 'fast-check';
import { test } from 'node:test';

import { liveGroupMembers, readProcStat } from '../../src/runtime/proc.js';
import type { ExitStatus } from '../../src/runtime/types.js';
import { cleanup, fixture, isAlive, procState, ROOT, tempDir, waitFor } from '../helpers/index.js';
import { harness, launch, logIn, waitForLog } from './helpers.js';

test('spawns in its own process group with the given env and cwd, output in the log', async (t) => {
  const dir = tempDir(t);
  const h = harness(t);
  const log = logIn(dir);
  const { handle } = await h.start({ launch: launch(fixture('print-env.mjs'), dir, { GREETING: 'hi there' }), logFile: log });
  const env = JSON.parse((await waitForLog(log, '\n')).trim()) as Record<string, string>;
  assert.equal(env.GREETING, 'hi there');
  assert.equal(readlinkSync(`/proc/${handle.pid}/cwd`), dir);
  const stat = readProcStat(handle.pid);
  assert.equal(stat?.pgid, handle.pid);
  assert.equal(handle.pgid, handle.pid);
  assert.equal(stat?.startTime, handle.startTime);
  assert.ok(Math.abs(handle.startedAt - Date.now()) < 5000);
});

test('argv and environment reach the replica byte for byte: quotes, backslashes, controls, non-ASCII, astral, "=" in a value, empty', async (t) => {
  const dir = tempDir(t);
  const log = logIn(dir);
  const odd = ['say "hi"', 'back\\slash\\', 'tab\tnew\nline\r', 'é ü 中文', '😀 astral', 'a=b=c', '', '{"json":[1]}', '\u0001\u001f\u007f'];
  const env: Record<string, string> = {};
  odd.forEach((v, i) => (env[`ODD_${i}`] = v));
  const script = 'process.stdout.write(JSON.stringify({ argv: process.argv.slice(1), env: process.env }) + "\\n")';
  await harness(t).start({ launch: launch([process.execPath, '-e', script, ...odd], dir, env), logFile: log });
  const seen = JSON.parse((await waitForLog(log, '\n')).trim()) as { argv: string[]; env: Record<string, string> };
  assert.deepEqual(seen.argv, odd);
  odd.forEach((v, i) => assert.equal(seen.env[`ODD_${i}`], v, `ODD_${i}`));
});

test('any strings as argv and environment values reach the replica as their UTF-8 (property: lone surrogates become U+FFFD, as Node encodes them)', async (t) => {
  const dir = tempDir(t);
  const h = harness(t);
  const script = 'process.stdout.write(JSON.stringify({ argv: process.argv.slice(1), env: process.env }) + "\\n")';
  // Any code point, and now and then half of a surrogate pair on its own.
  const unit = fc.oneof(
    { weight: 5, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }) },
    { weight: 1, arbitrary: fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c)) },
  );
  const text = fc.string({ unit, maxLength: 40 }).filter((x) => !x.includes('\0'));
  let run = 0;
  await fc.assert(
    fc.asyncProperty(fc.array(text, { maxLength: 4 }), fc.array(text, { minLength: 1, maxLength: 4 }), async (args, values) => {
      const log = logIn(dir, `svc/${run++}.log`);
      const env: Record<string, string> = {};
      values.forEach((v, i) => (env[`PROP_${i}`] = v));
      await h.start({ launch: launch([process.execPath, '-e', script, ...args], dir, env), logFile: log });
      const seen = JSON.parse((await waitForLog(log, '\n')).trim()) as { argv: string[]; env: Record<string, string> };
      const utf8 = (x: string) => Buffer.from(x, 'utf8').toString('utf8');
      assert.deepEqual(seen.argv, args.map(utf8));
      values.forEach((v, i) => assert.equal(seen.env[`PROP_${i}`], utf8(v), `PROP_${i}`));
    }),
    { numRuns: 25 },
  );
});

test('a replica starts with every signal at its default and none blocked, whatever tend ignores', async (t) => {
  const dir = tempDir(t);
  const { handle } = await harness(t).start({ launch: launch(['sleep', '1000'], dir), logFile: logIn(dir) });
  const status = await waitFor(() => {
    const s = readFileSync(`/proc/${handle.pid}/status`, 'utf8');
    return /^Name:\s+sleep$/m.test(s) ? s : ''; // exec'd
  }, { what: 'sleep running' });
  assert.match(status, /^SigBlk:\s+0+$/m);
  assert.match(status, /^SigIgn:\s+0+$/m);
});

test('records the exit code, and the signal of a killed replica', async (t) => {
  const dir = tempDir(t);
  const h = harness(t);
  const a = await h.start({ launch: launch(fixture('exit.mjs', 3), dir), logFile: logIn(dir, 'a/0.log') });
  const exit = await a.exited;
  assert.equal(exit.code, 3);
  assert.equal(exit.signal, null);

  const b = await h.start({ launch: launch(fixture('forever.mjs'), dir), logFile: logIn(dir, 'b/0.log') });
  await waitForLog(logIn(dir, 'b/0.log'), 'READY');
  h.rt.signal(b.handle, 'SIGKILL');
  assert.deepEqual(
    { code: (await b.exited).code, signal: (await b.exited).signal },
    { code: null, signal: 'SIGKILL' },
  );
});

for (const parentExits of [true, false]) {
  test(`stop kills a grandchild that ignores SIGTERM at the deadline (parent ${parentExits ? 'exited first' : 'alive'})`, async (t) => {
    const dir = tempDir(t);
    const h = harness(t, { stopPollMs: 20 });
    const log = logIn(dir);
    const { handle } = await h.start({ launch: launch(fixture('spawn-grandchild.mjs', parentExits ? 'exit' : 'stay'), dir), logFile: log });
    const m = /PIDS (\d+) (\d+)/.exec(await waitForLog(log, /PIDS \d+ \d+/))!;
    const grandchild = Number(m[2]);
    h.track(grandchild);
    assert.equal(readProcStat(grandchild)?.pgid, handle.pgid);
    if (parentExits) await waitFor(() => !isAlive(handle.pid), { what: 'parent exit' });

    const t0 = Date.now();
    const result = await h.rt.stop(handle, 'SIGTERM', 300);
    assert.equal(result.killed, true);
    assert.ok(Date.now() - t0 >= 290, `stopped after ${Date.now() - t0} ms, before the deadline`);
    assert.equal(isAlive(grandchild), false);
    assert.deepEqual(liveGroupMembers([handle.pgid]).get(handle.pgid), []);
  });
}

test('stop of a process that obeys SIGTERM needs no SIGKILL, and a second stop returns the same promise', { timeout: 10_000 }, async (t) => {
  const dir = tempDir(t);
  const h = harness(t);
  const { handle, exited } = await h.start({ launch: launch(fixture('forever.mjs'), dir), logFile: logIn(dir) });
  await waitForLog(logIn(dir), 'READY');
  const first = h.rt.stop(handle, 'SIGTERM', 10_000);
  assert.equal(h.rt.stop(handle, 'SIGTERM', 10_000), first);
  assert.deepEqual(await first, { killed: false }, 'it exited on SIGTERM, before the 10 s deadline');
  assert.equal((await exited).signal, 'SIGTERM');
  assert.equal(isAlive(handle.pid), false);
});

test('stop of a group that is already gone resolves at once', async (t) => {
  const dir = tempDir(t);
  const h = harness(t);
  const { handle, exited } = await h.start({ launch: launch(fixture('exit.mjs', 0), dir), logFile: logIn(dir) });
  await exited;
  assert.deepEqual(await h.rt.stop(handle, 'SIGTERM', 10_000), { killed: false });
});

test('spawn errors give readable, permanent reasons and never throw', async (t) => {
  const dir = tempDir(t, { 'not-exec.sh': '#!/bin/sh\necho hi\n', 'a-file': '' });
  const rt = harness(t).rt;
  const cases: [string[], string, RegExp][] = [
    [['nosuchcmd-tend-test'], dir, /^command not found: "nosuchcmd-tend-test" \(ENOENT\)$/],
    [[join(dir, 'not-exec.sh')], dir, /^permission denied: ".*not-exec\.sh" is not executable \(EACCES\)$/],
    [['/bin/true'], join(dir, 'nope'), /^working directory does not exist: .*\/nope$/],
    [['/bin/true'], join(dir, 'a-file'), /^working directory is not a directory: .*\/a-file$/],
  ];
  for (const [argv, cwd, reason] of cases) {
    const exits: ExitStatus[] = [];
    const res = await rt.start({ launch: launch(argv, cwd), logFile: logIn(dir) }, (s) => exits.push(s));
    assert.equal(res.ok, false, argv[0]);
    if (res.ok) continue;
    assert.match(res.reason, reason);
    assert.equal(res.permanent, true);
    assert.deepEqual(exits, []);
  }
});

test('a script whose #! interpreter is missing is named as such', async (t) => {
  const dir = tempDir(t, { 'bad.sh': '#!/no/such/interpreter\n' });
  chmodSync(join(dir, 'bad.sh'), 0o755);
  const res = await harness(t).rt.start({ launch: launch([join(dir, 'bad.sh')], dir), logFile: logIn(dir) }, () => {});
  assert.equal(res.ok, false);
  if (!res.ok) assert.match(res.reason, /^interpreter not found for ".*bad\.sh" \(check its #! line\) \(ENOENT\)$/);
});

test('an unwritable log directory is a transient failure', async (t) => {
  const dir = tempDir(t, { blocker: '' });
  const res = await harness(t).rt.start({ launch: launch(['/bin/true'], dir), logFile: join(dir, 'blocker', 'svc', '0.log') }, () => {});
  assert.equal(res.ok, false);
  if (!res.ok) {
    assert.match(res.reason, /^cannot open log file .*blocker\/svc\/0\.log: /);
    assert.equal(res.permanent, false);
  }
});

test('a child writing 200,000 lines to stdout and stderr loses none', async (t) => {
  const dir = tempDir(t);
  const h = harness(t);
  const log = logIn(dir);
  const { exited } = await h.start({ launch: launch(fixture('print-lines.mjs', 200_000), dir), logFile: log });
  assert.equal((await exited).code, 0);
  const lines = readFileSync(log, 'latin1').split('\n');
  assert.equal(lines.pop(), '');
  assert.equal(lines.length, 200_000);
  assert.equal(new Set(lines).size, 200_000);
  assert.ok(lines.every((l) => /^line \d+$/.test(l)));
});

test('pause stops the process (state T), resume continues it, and a paused replica can be stopped', async (t) => {
  const dir = tempDir(t);
  const h = harness(t);
  const { handle, exited } = await h.start({ launch: launch(fixture('forever.mjs'), dir), logFile: logIn(dir) });
  await waitForLog(logIn(dir), 'READY');
  h.rt.signal(handle, 'SIGSTOP');
  await waitFor(() => procState(handle.pid) === 'T', { what: 'state T' });
  h.rt.signal(handle, 'SIGCONT');
  await waitFor(() => ['S', 'R'].includes(procState(handle.pid) ?? ''), { what: 'running again' });
  h.rt.signal(handle, 'SIGSTOP');
  await waitFor(() => procState(handle.pid) === 'T', { what: 'state T' });
  assert.deepEqual(await h.rt.stop(handle, 'SIGTERM', 5000), { killed: false });
  assert.equal((await exited).signal, 'SIGTERM');
});

test('adopt recognises a live process by pid and start time, rejects a mismatch, and notices its exit', async (t) => {
  const h = harness(t, { adoptPollMs: 20 });
  // Started by "an earlier tend": not through this runtime.
  const child = spawn(fixture('forever.mjs')[0]!, fixture('forever.mjs').slice(1), { detached: true, stdio: 'ignore' });
  h.track(child.pid!);
  const stat = await waitFor(() => readProcStat(child.pid!), { what: 'stat' });
  const handle = { pid: child.pid!, pgid: child.pid!, startTime: stat.startTime, startedAt: 0 };

  assert.equal(h.rt.adopt({ ...handle, startTime: stat.startTime + 1 }, () => {}), false);
  const exits: ExitStatus[] = [];
  assert.equal(h.rt.adopt(handle, (s) => exits.push(s)), true);
  process.kill(child.pid!, 'SIGKILL');
  await waitFor(() => exits.length === 1, { what: 'adopted exit' });
  // Its real parent (this process) may have reaped it already: then nobody else can know how it
  // ended; while it is still a zombie, its status is read from /proc.
  const e = exits[0]!;
  assert.ok(e.unknown === true ? e.code === null && e.signal === null : e.signal === 'SIGKILL', JSON.stringify(e));
  assert.equal(h.rt.adopt(handle, () => {}), false);
});

test('adopt counts an orphan that became a zombie as exited', async (t) => {
  const dir = tempDir(t);
  const h = harness(t, { adoptPollMs: 20 });
  // The grandchild is orphaned when its parent exits; PID 1 here does not reap it when it dies.
  const log = logIn(dir);
  await h.start({ launch: launch(fixture('spawn-grandchild.mjs', 'exit'), dir), logFile: log });
  const orphan = Number(/PIDS \d+ (\d+)/.exec(await waitForLog(log, /PIDS \d+ \d+/))![1]);
  const stat = readProcStat(orphan)!;
  const exits: ExitStatus[] = [];
  assert.equal(h.rt.adopt({ pid: orphan, pgid: stat.pgid, startTime: stat.startTime, startedAt: 0 }, (s) => exits.push(s)), true);
  process.kill(orphan, 'SIGKILL');
  await waitFor(() => exits.length === 1, { what: 'adopted exit' });
  assert.equal(isAlive(orphan), false);
});

test('with more adopted replicas than one poll reads, one reaped and one left a zombie are both noticed, and only they', async (t) => {
  const dir = tempDir(t);
  const h = harness(t, { adoptPollMs: 20 });
  const exits = new Map<number, ExitStatus>();
  const adopt = (pid: number) => {
    const st = readProcStat(pid)!;
    assert.equal(h.rt.adopt({ pid, pgid: st.pgid, startTime: st.startTime, startedAt: 0 }, (s) => exits.set(pid, s)), true);
  };
  // 250 of "an earlier tend's" replicas: more than the 200 whose /proc stat one poll reads.
  const sleepers: number[] = [];
  for (let k = 0; k < 250; k++) {
    const child = spawn('sleep', ['1000'], { detached: true, stdio: 'ignore' });
    h.track(child.pid!);
    sleepers.push(child.pid!);
  }
  await waitFor(() => sleepers.every((pid) => readProcStat(pid) !== null), { what: 'the sleepers running' });
  for (const pid of sleepers) adopt(pid);
  // An orphan whose parent exited: where init does not reap, it stays a zombie once killed.
  const log = logIn(dir);
  await h.start({ launch: launch(fixture('spawn-grandchild.mjs', 'exit'), dir), logFile: log });
  const orphan = Number(/PIDS \d+ (\d+)/.exec(await waitForLog(log, /PIDS \d+ \d+/))![1]);
  adopt(orphan); // the last in line: its stat is read only when its turn comes

  const reaped = sleepers[123]!; // this process reaps it: gone from /proc
  process.kill(reaped, 'SIGKILL');
  process.kill(orphan, 'SIGKILL');
  await waitFor(() => exits.has(reaped) && exits.has(orphan), { what: 'both exits noticed', timeoutMs: 10_000 });
  assert.equal(exits.size, 2, `only those two: ${[...exits.keys()].join(', ')}`);
  const z = exits.get(orphan)!;
  assert.ok(z.unknown === true || z.signal === 'SIGKILL', JSON.stringify(z));
});

test('runs as another user when tend is root', { skip: process.getuid?.() !== 0 || !hasNobody() }, async (t) => {
  const dir = tempDir(t);
  const h = harness(t);
  const { handle } = await h.start({ launch: launch(['sleep', '1000'], '/tmp'), logFile: logIn(dir), user: 'nobody' });
  const status = readFileSync(`/proc/${handle.pid}/status`, 'utf8');
  assert.match(status, /^Uid:\s+65534\s+65534/m);
  assert.match(status, /^Gid:\s+65534\s+65534/m);

  // The user's supplementary groups, as a login gets them (`id -G` asks NSS, tend reads /etc/group):
  // a user listed as a member of a group if this machine has one (postgres of ssl-cert, say).
  const member = /^[^:]*:[^:]*:\d+:([a-z_][a-z0-9_-]*)/m.exec(readFileSync('/etc/group', 'utf8'))?.[1] ?? 'nobody';
  const inGroups = await h.start({ launch: launch(['sleep', '1000'], '/tmp'), logFile: logIn(dir), user: member });
  const groups = /^Groups:[ \t]*(.*)$/m.exec(readFileSync(`/proc/${inGroups.handle.pid}/status`, 'utf8'))![1]!.trim().split(/\s+/).filter(Boolean).map(Number);
  const expected = spawnSync('id', ['-G', member], { encoding: 'utf8' }).stdout.trim().split(/\s+/).map(Number);
  if (process.env['TEND_TEST_RUNTIME'] === 'helper') {
    assert.deepEqual([...groups].sort((a, b) => a - b), [...expected].sort((a, b) => a - b), `${member}'s groups`);
  } else {
    // libuv clears them and cannot set them: only the compiled helper gives them (docs/spec.md).
    assert.deepEqual(groups, [], `${member} through node's spawn`);
  }

  const unknown = await h.rt.start({ launch: launch(['sleep', '1'], '/tmp'), logFile: logIn(dir), user: 'no-such-user-x' }, () => {});
  assert.deepEqual(unknown, { ok: false, reason: 'unknown user "no-such-user-x" (not in /etc/passwd)', permanent: true });
});

test('the user option without root is a permanent failure', { skip: !hasNobody() || !othersCanRun(process.execPath) }, (t) => {
  // The runtime is bundled into one file in a directory `nobody` can enter, and run with plain node:
  // the checkout itself may sit under a home directory others cannot enter (mode 0700).
  const dir = mkdtempSync(join(othersCanRun(tmpdir()) ? tmpdir() : '/tmp', 'tend-nobody-'));
  cleanup(t, () => rmSync(dir, { recursive: true, force: true }));
  chmodSync(dir, 0o755);
  const entry = join(dir, 'probe.mts');
  writeFileSync(
    entry,
    `import { ProcessRuntime } from ${JSON.stringify(join(ROOT, 'src/runtime/process-runtime.ts'))};
    const rt = new ProcessRuntime();
    const res = await rt.start({ launch: { service: 's', index: 0, argv: ['sleep', '1'], cwd: '/tmp', env: {} },
      logFile: '/tmp/never-written.log', user: 'www-data' }, () => {});
    console.log(JSON.stringify(res));`,
  );
  const bundle = join(dir, 'probe.mjs');
  buildSync({ entryPoints: [entry], bundle: true, platform: 'node', format: 'esm', outfile: bundle, logLevel: 'error' });
  chmodSync(bundle, 0o644);
  // Runs the runtime in a process of its own as `nobody` (uid 65534), which is not root.
  const r = spawnSync(process.execPath, [bundle], {
    cwd: dir,
    uid: 65534,
    gid: 65534,
    encoding: 'utf8',
    env: { PATH: process.env.PATH, HOME: '/tmp' },
  });
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout.trim()), {
    ok: false,
    reason: 'user "www-data" requires tend to run as root',
    permanent: true,
  });
});

// True when every directory above `path` lets others through (x for others), so `nobody` can reach it.
function othersCanRun(path: string): boolean {
  for (let p = dirname(path); ; p = dirname(p)) {
    if ((statSync(p).mode & 0o001) === 0) return false;
    if (p === dirname(p)) return true;
  }
}

function hasNobody(): boolean {
  return /^nobody:[^:]*:65534:/m.test(readFileSync('/etc/passwd', 'utf8'));
}
