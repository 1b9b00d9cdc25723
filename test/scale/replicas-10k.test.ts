// No arbitrary cap (issue 13): one service of 10,000 real replicas (`sleep`) starts, scales to 12,000
// and back keeping every pid that was running, and stops cleanly. Not a benchmark: nothing here is
// timed, every wait has a deadline only so that a hang fails instead of blocking CI.
//
// What the machine must allow (checked first; the test skips with the reason printed only when the
// machine genuinely cannot): 12,000 more tasks under the kernel's pid_max and threads-max, and
// memory for them. For a user other than root, RLIMIT_NPROC must leave room too: Node has no
// setrlimit, so the daemon is started through `sh -c 'ulimit -u N && exec …'`, which can raise the
// soft limit up to the hard one; a hard limit below what is needed is a skip with its reason.

import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cleanup, allPids, specDir, waitFor } from '../helpers/index.js';
import { runningPids, startDaemon, type DaemonProcess } from '../helpers/daemon.js';
import { readProcStat, isLive } from '../../src/runtime/proc.js';
import type { StatusReport } from '../../src/api/types.js';
import { readNumber } from '../../src/spec/limits.js';

const N = 10_000;
const UP = 12_000;
/** Tasks left for everything else on the machine (other tests, the daemon's threads, the shell). */
const MARGIN = 2_000;
/** What one idle `sleep` costs the machine (kernel stack, page tables, private pages): measured at
 *  roughly 250 KiB here; doubled for safety. */
const BYTES_PER_REPLICA = 512 * 1024;
// Deadlines, not timings: generous enough for a loaded 2-core CI machine, where a spawn can take
// 20 ms instead of 2 (measured with load average 20 here). Progress is checked too (STALL_MS).
const START_DEADLINE_MS = 20 * 60_000;
const STEP_DEADLINE_MS = 10 * 60_000;
const STALL_MS = 120_000;

const service = (replicas: number) => `command: ["sleep", "100000"]\nreplicas: ${replicas}\nstop_timeout: 5s\n`;

/** Tasks (processes and threads: each takes a pid) on the machine now, and those of `uid`. */
function tasks(uid?: number): { all: number; mine: number } {
  let all = 0;
  let mine = 0;
  for (const pid of allPids()) {
    let n = 0;
    try {
      n = readdirSync(`/proc/${pid}/task`).length;
    } catch {
      continue; // gone
    }
    all += n;
    if (uid !== undefined) {
      try {
        const m = /^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'latin1'));
        if (m && Number(m[1]) === uid) mine += n;
      } catch {
        /* gone */
      }
    }
  }
  return { all, mine };
}

/** Whether this machine can run UP more processes, and the RLIMIT_NPROC the daemon needs (non-root). */
function room(): { ok: true; nproc?: number; note: string } | { ok: false; reason: string } {
  const uid = process.getuid?.();
  const root = uid === 0;
  const t = tasks(root ? undefined : uid);
  const need = UP + MARGIN;
  const pidMax = readNumber('/proc/sys/kernel/pid_max');
  if (pidMax !== undefined && pidMax - t.all < need) {
    return { ok: false, reason: `/proc/sys/kernel/pid_max is ${pidMax} and ${t.all} tasks run: ${need} more are needed (raise it with sysctl kernel.pid_max=65536)` };
  }
  const threadsMax = readNumber('/proc/sys/kernel/threads-max');
  if (threadsMax !== undefined && threadsMax - t.all < need) {
    return { ok: false, reason: `/proc/sys/kernel/threads-max is ${threadsMax} and ${t.all} tasks run: ${need} more are needed` };
  }
  const avail = /^MemAvailable:\s+(\d+) kB/m.exec(readFileSync('/proc/meminfo', 'latin1'));
  if (avail && Number(avail[1]) * 1024 < UP * BYTES_PER_REPLICA) {
    return { ok: false, reason: `${Math.round(Number(avail[1]) / 1024)} MiB of memory available, ${Math.round((UP * BYTES_PER_REPLICA) / 1024 ** 2)} MiB needed for ${UP} sleeping processes` };
  }
  const note = `pid_max ${pidMax ?? '?'}, ${t.all} tasks running`;
  if (root) return { ok: true, note: `${note}, root (RLIMIT_NPROC does not apply)` };
  const limits = readFileSync('/proc/self/limits', 'latin1').split('\n').find((l) => l.startsWith('Max processes'));
  const [soft, hard] = (limits?.slice('Max processes'.length).trim().split(/\s+/) ?? []).map((x) => (x === 'unlimited' ? Infinity : Number(x)));
  const wanted = t.mine + need;
  if (hard !== undefined && hard < wanted) {
    return { ok: false, reason: `RLIMIT_NPROC hard limit is ${hard} (ulimit -Hu) and this user runs ${t.mine} tasks: ${wanted} are needed, and only root can raise a hard limit` };
  }
  if (soft !== undefined && soft < wanted) return { ok: true, nproc: Math.min(hard ?? wanted, wanted), note: `${note}, RLIMIT_NPROC raised from ${soft} to ${wanted} for the daemon` };
  return { ok: true, note: `${note}, RLIMIT_NPROC ${soft ?? 'unlimited'}` };
}

/** Every pid this test saw, with its start time: killed after the test, pass or fail, unless reused. */
function reapSeen(t: TestContext): Map<number, number> {
  const seen = new Map<number, number>();
  cleanup(t, () => {
    for (const [pid, start] of seen) {
      const st = readProcStat(pid);
      if (st === null || st.startTime !== start || !isLive(st.state)) continue;
      for (const target of [-pid, pid]) {
        try {
          process.kill(target, 'SIGKILL');
        } catch {
          /* gone, or not a group leader */
        }
      }
    }
  });
  return seen;
}

/** The service's running pids once the daemon says converged with exactly `n` of them. Polled once
 *  a second: a status of 12,000 replicas is megabytes of JSON, and the daemon has work to do.
 *  On a loaded machine each spawn waits for the child to be scheduled (Node learns that exec worked
 *  from the child), so the pace varies tenfold with the load: besides the deadline, it fails when
 *  the replicas' parents' children stop changing for STALL_MS while not yet converged. */
async function convergedAt(d: DaemonProcess, n: number, timeoutMs: number, seen: Map<number, number>): Promise<number[]> {
  const deadline = Date.now() + timeoutMs;
  let lastCount = -1;
  let lastRunning = -1;
  let movedAt = Date.now();
  let last = '';
  for (;;) {
    // The kernel's count of children first (a few small reads): a status is asked for only near the end.
    const children = childCount(d.pid);
    if (children !== lastCount) {
      lastCount = children;
      movedAt = Date.now();
    }
    last = `${children} children of the daemon and its spawn helpers`;
    if (children === n) {
      const r: StatusReport | undefined = await d.status().catch(() => undefined);
      if (r) {
        const pids = runningPids(r, 'big');
        for (const pid of pids) if (!seen.has(pid)) seen.set(pid, readProcStat(pid)?.startTime ?? 0);
        if (pids.length !== lastRunning) {
          lastRunning = pids.length;
          movedAt = Date.now();
        }
        last += `, ${pids.length} running by status, converged ${r.converged}`;
        if (r.converged && pids.length === n && r.services.find((x) => x.name === 'big')?.replicas.length === n) return pids;
      }
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${n} replicas running and converged; last seen: ${last}`);
    if (Date.now() - movedAt > STALL_MS) throw new Error(`no progress for ${STALL_MS / 1000} s waiting for ${n} replicas running and converged; last seen: ${last}`);
    await new Promise((res) => setTimeout(res, 1000));
  }
}

/** Children (of any state) of `pid`, from /proc/<pid>/task/<tid>/children. */
function childrenOf(pid: number): number[] {
  const out: number[] = [];
  let tasks: string[] = [];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return out; // gone
  }
  for (const task of tasks) {
    try {
      for (const p of readFileSync(`/proc/${pid}/task/${task}/children`, 'latin1').split(' ')) if (Number(p) > 0) out.push(Number(p));
    } catch {
      /* the thread ended */
    }
  }
  return out;
}

/** The replicas' parents: the daemon's spawn helpers (runtime/spawn-helper.ts), and the daemon,
 *  which forks the first replicas itself while the helpers come up. */
function replicaParents(daemonPid: number): { helpers: number[]; all: number[] } {
  const helpers = childrenOf(daemonPid).filter((pid) => {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, 'latin1').includes('tend-spawn-helper');
    } catch {
      return false;
    }
  });
  return { helpers, all: [daemonPid, ...helpers] };
}

/** How many children (of any state) the daemon and its helpers have now, the helpers left out. */
function childCount(daemonPid: number): number {
  const { helpers, all } = replicaParents(daemonPid);
  return all.reduce((n, pid) => n + childrenOf(pid).length, 0) - helpers.length;
}

/** Live `sleep` children of the daemon and its helpers, read from /proc (not the daemon's word). */
function liveChildren(daemonPid: number): Set<number> {
  const out = new Set<number>();
  for (const parent of replicaParents(daemonPid).all) {
    for (const pid of childrenOf(parent)) {
      const st = readProcStat(pid);
      try {
        if (st !== null && isLive(st.state) && readFileSync(`/proc/${pid}/comm`, 'latin1').trim() === 'sleep') out.add(pid);
      } catch {
        /* gone */
      }
    }
  }
  return out;
}

const alive = (pid: number, seen: Map<number, number>) => {
  const st = readProcStat(pid);
  return st !== null && isLive(st.state) && st.startTime === seen.get(pid);
};

test(`a service of ${N} replicas starts, scales to ${UP} and back keeping every pid, and stops cleanly`, { timeout: 45 * 60_000 }, async (t) => {
  const r = room();
  if (!r.ok) {
    process.stdout.write(`# skipped: this machine cannot run ${UP} processes: ${r.reason}\n`);
    t.skip(r.reason);
    return;
  }
  process.stdout.write(`# ${r.note}\n`);
  const started = Date.now();
  const seen = reapSeen(t);
  const { dir, state } = specDir(t, { 'big.yaml': service(N) });
  const d = await startDaemon(t, dir, state, r.nproc === undefined ? {} : { nproc: r.nproc });

  const phase = (what: string) => process.stdout.write(`# ${what} after ${((Date.now() - started) / 1000).toFixed(0)} s\n`);
  const first = await convergedAt(d, N, START_DEADLINE_MS, seen);
  phase(`${N} running and converged`);
  assert.equal(new Set(first).size, N, `${N} distinct pids`);
  const kernel = liveChildren(d.pid);
  assert.equal(kernel.size, N, `the kernel sees ${N} live sleep children of the daemon and its spawn helpers`);
  for (const pid of first) assert.ok(kernel.has(pid), `pid ${pid} reported running is a live child of the daemon or a helper`);

  writeFileSync(join(dir, 'big.yaml'), service(UP));
  const up = await convergedAt(d, UP, STEP_DEADLINE_MS, seen);
  phase(`${UP} running and converged`);
  const upSet = new Set(up);
  assert.equal(upSet.size, UP);
  const lostUp = first.filter((pid) => !upSet.has(pid) || !alive(pid, seen));
  assert.deepEqual(lostUp.slice(0, 10), [], `every one of the first ${N} kept its pid through the scale-up (${lostUp.length} did not)`);
  const firstSet = new Set(first);
  const added = up.filter((pid) => !firstSet.has(pid));
  assert.equal(added.length, UP - N);
  assert.equal(liveChildren(d.pid).size, UP, `the kernel sees ${UP} live sleep children`);

  writeFileSync(join(dir, 'big.yaml'), service(N));
  const down = await convergedAt(d, N, STEP_DEADLINE_MS, seen);
  phase(`back to ${N}`);
  assert.deepEqual([...down].sort((a, b) => a - b), [...first].sort((a, b) => a - b), `back to ${N}: exactly the first ${N} pids`);
  for (const pid of first) assert.ok(alive(pid, seen), `pid ${pid} still the same live process`);
  await waitFor(() => added.every((pid) => !alive(pid, seen)), { what: `the ${UP - N} added replicas gone`, timeoutMs: STEP_DEADLINE_MS, intervalMs: 200 });
  assert.equal(liveChildren(d.pid).size, N);

  phase('checked');
  await d.api.shutdown();
  const code = await Promise.race([d.exited, new Promise<'hung'>((res) => setTimeout(() => res('hung'), STEP_DEADLINE_MS).unref())]);
  assert.equal(code, 0, 'the daemon exits 0 after stopping everything');
  const left = [...seen.keys()].filter((pid) => alive(pid, seen));
  assert.deepEqual(left.slice(0, 10), [], `no replica outlives the stop (${left.length} did)`);
  process.stdout.write(`# ${N} → ${UP} → ${N} → stopped in ${((Date.now() - started) / 1000).toFixed(0)} s\n`);
});
