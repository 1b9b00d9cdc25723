// What does a replica's fork cost, depending on who forks it (issue 13, bench/FINDINGS.md §3, §11)?
// In one run, alternating, each variant forks n `sleep 1000` (detached, an O_APPEND log, a full
// environment plus two variables):
//   in process, small heap   this process, with child_process.spawn
//   in process, big heap     the same after `--ballast` MiB of live JS objects (tend's heap at n)
//   node helper              tend's libexec/tend-spawn-helper.mjs fed its protocol over a pipe
//                            (one JSON line per replica, 64 to a write, as tend sends them)
//   native helper            tend's libexec/tend-spawn-helper (compiled by `npm run build`), fed
//                            the same lines; skipped with a note when it was not built
// Time: the first request to the last pid known; CPU: the forking process's (user + system), in
// ms. `--logs=each` (the default) gives every replica its own new log file, as tend does on a first
// start; `--logs=shared` 50 files for all, which takes file creation out. Every group is killed
// between runs.
//   node --import tsx bench/spawn-helper.ts [--n=2500] [--runs=3] [--ballast=80] [--logs=each|shared]
//                                           [--out=bench/results/spawn-helper.json]

import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { alive, CLK_TCK, installExitCleanup, registry, usageOf } from './lib/procs.js';
import { summarize } from './lib/stats.js';
import { NATIVE_HELPER, NODE_ARGS } from '../src/runtime/spawn-helper.js';

const option = (k: string) => process.argv.find((a) => a.startsWith(`--${k}=`))?.split('=')[1];
const n = Number(option('n') ?? 2500);
const runs = Number(option('runs') ?? 3);
const ballastMiB = Number(option('ballast') ?? 80);
const sharedLogs = option('logs') === 'shared';
const out = option('out');

installExitCleanup();
const dir = mkdtempSync(join(tmpdir(), 'tend-spawnhelper-'));
const env = (i: number) => ({ ...process.env, TEND_SERVICE: 'bench', TEND_REPLICA: String(i) });
const logOf = (tag: string, i: number) => (sharedLogs ? join(dir, `${tag}-${i % 50}.log`) : join(dir, tag, `bench-${i}.log`));

interface Run {
  ms: number;
  cpuMs: number;
  pids: number[];
}

const cpuOf = (pid: number) => ((usageOf(pid)?.cpuTicks ?? 0) * 1000) / CLK_TCK;

async function inProcess(tag: string): Promise<Run> {
  mkdirSync(join(dir, tag), { recursive: true });
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const pids: number[] = [];
  for (let i = 0; i < n; i++) {
    const fd = openSync(logOf(tag, i), 'a');
    const c = spawn('sleep', ['1000'], { env: env(i), detached: true, stdio: ['ignore', fd, fd] });
    closeSync(fd);
    c.on('error', () => {});
    pids.push(c.pid!);
  }
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  return { ms, cpuMs: (cpu.user + cpu.system) / 1000, pids };
}

interface Helper {
  child: ChildProcess;
  request: (tag: string) => Promise<Run>;
}

async function startHelper(file: string, args: string[]): Promise<Helper> {
  const child = spawn(file, args, { stdio: ['pipe', 'pipe', 'inherit'], detached: true });
  registry.addPid(child.pid!, undefined, true);
  let ready!: () => void;
  const up = new Promise<void>((r) => (ready = r));
  let waiting: { left: number; pids: number[]; done: () => void } | undefined;
  createInterface({ input: child.stdout! }).on('line', (line) => {
    const r = JSON.parse(line) as { ready?: true; id?: number; pid?: number; err?: string; msg?: string };
    if (r.ready) return ready();
    if (!waiting || r.id === undefined) return; // exits
    if (r.pid) waiting.pids.push(r.pid);
    else process.stderr.write(`spawn failed: ${r.err} ${r.msg}\n`);
    if (--waiting.left === 0) waiting.done();
  });
  await up;
  return {
    child,
    request: (tag) =>
      new Promise((res) => {
        const cpu0 = cpuOf(child.pid!);
        const t0 = performance.now();
        const pids: number[] = [];
        waiting = { left: n, pids, done: () => res({ ms: performance.now() - t0, cpuMs: cpuOf(child.pid!) - cpu0, pids }) };
        let lines: string[] = [];
        for (let i = 0; i < n; i++) {
          lines.push(JSON.stringify({ id: i + 1, argv: ['sleep', '1000'], cwd: dir, env: env(i), log: logOf(tag, i) }));
          if (lines.length === 64 || i === n - 1) {
            child.stdin!.write(lines.join('\n') + '\n');
            lines = [];
          }
        }
      }),
  };
}

async function reap(pids: number[]): Promise<void> {
  for (const pid of pids) {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  const deadline = Date.now() + 60_000;
  while (pids.some((p) => alive(p))) {
    if (Date.now() > deadline) throw new Error('replicas still alive after SIGKILL');
    await new Promise((r) => setTimeout(r, 20));
  }
  await new Promise((r) => setTimeout(r, 300));
}

const results: Record<string, Run[]> = { 'in process, small heap': [], 'in process, big heap': [], 'node helper': [], 'native helper': [] };
const rssMiB: Record<string, number> = {};
const notes: string[] = [];
try {
  const nodeHelper = await startHelper(process.execPath, NODE_ARGS); // as tend starts it
  const nativeHelper = existsSync(NATIVE_HELPER) ? await startHelper(NATIVE_HELPER, []) : undefined;
  if (!nativeHelper) notes.push(`${NATIVE_HELPER} not built (no C compiler?): native helper not measured`);
  for (let r = 0; r < runs; r++) {
    const a = await inProcess(`small-${r}`);
    results['in process, small heap']!.push(a);
    await reap(a.pids);
  }
  // Ballast: live JS objects, as a daemon's state is (not an ArrayBuffer, which V8 keeps off-heap).
  const ballast: object[] = [];
  while ((usageOf(process.pid)?.rssBytes ?? 0) < (ballastMiB + 60) * 1024 ** 2) {
    for (let i = 0; i < 10_000; i++) ballast.push({ id: `x${i}-${ballast.length}`, v: [i, i + 1, i + 2], s: 'y'.repeat(40) });
  }
  rssMiB['in process, big heap'] = (usageOf(process.pid)?.rssBytes ?? 0) / 1024 ** 2;
  for (let r = 0; r < runs; r++) {
    const b = await inProcess(`big-${r}`);
    results['in process, big heap']!.push(b);
    await reap(b.pids);
    for (const [name, helper] of [['node helper', nodeHelper], ['native helper', nativeHelper]] as const) {
      if (!helper) continue;
      const h = await helper.request(`${name.split(' ')[0]}-${r}`);
      results[name]!.push(h);
      rssMiB[name] = (usageOf(helper.child.pid!)?.rssBytes ?? 0) / 1024 ** 2;
      await reap(h.pids);
    }
  }
  void ballast.length;
  const med = (xs: number[]) => summarize(xs).median;
  process.stdout.write(`spawn ${n} × sleep (detached, ${sharedLogs ? '50 shared log files' : 'a new log file each'}, full env), ${runs} runs each, medians (min–max)\n`);
  process.stdout.write(`${'who forks'.padEnd(24)}${'ms'.padStart(22)}${'CPU ms'.padStart(22)}${'RSS MiB'.padStart(10)}\n`);
  const table: Record<string, unknown> = {};
  for (const [name, rs] of Object.entries(results)) {
    if (rs.length === 0) continue;
    const ms = rs.map((x) => x.ms);
    const cpu = rs.map((x) => x.cpuMs);
    const range = (xs: number[]) => `${med(xs).toFixed(0)} (${Math.min(...xs).toFixed(0)}–${Math.max(...xs).toFixed(0)})`;
    const rss = name === 'in process, small heap' ? undefined : rssMiB[name];
    process.stdout.write(`${name.padEnd(24)}${range(ms).padStart(22)}${range(cpu).padStart(22)}${(rss === undefined ? '–' : rss.toFixed(1)).padStart(10)}\n`);
    table[name] = { ms: summarize(ms), cpuMs: summarize(cpu), rssMiB: rss };
  }
  for (const note of notes) process.stdout.write(`note: ${note}\n`);
  if (out) {
    writeFileSync(out, JSON.stringify({ date: new Date().toISOString(), n, runs, logs: sharedLogs ? 'shared' : 'each', ballastMiB, table, notes }, null, 2) + '\n');
    process.stdout.write(`wrote ${out}\n`);
  }
} finally {
  registry.killAll();
  rmSync(dir, { recursive: true, force: true });
}
process.exit(0);
