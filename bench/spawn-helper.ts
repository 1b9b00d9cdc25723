// Would a small spawn helper process bring tend's cold start near the minimal loop (issue 13)?
// Fork cost grows with the parent's memory (its page tables are copied), so a daemon with a big heap
// spawns slower than a small process. Measured here, in one run, alternating:
//   in-process, small heap   this process spawns n `sleep` (detached, O_APPEND log fd, full env)
//   in-process, big heap     the same after `--ballast` MiB of live JS objects (tend's heap at n)
//   helper                   the big-heap process hands each spawn to tend's own spawn helper
//                            (libexec/tend-spawn-helper.mjs, a small node process) over a pipe:
//                            one JSON line per replica, a pid back
// Time: request of the first spawn to the last pid known. Every group is killed between runs.
//   node --import tsx bench/spawn-helper.ts [--n=1000] [--runs=3] [--ballast=80]

import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { alive, installExitCleanup, registry, usageOf } from './lib/procs.js';
import { summarize } from './lib/stats.js';

const arg = (k: string, d: number) => Number(process.argv.find((a) => a.startsWith(`--${k}=`))?.split('=')[1] ?? d);
const n = arg('n', 1000);
const runs = arg('runs', 3);
const ballastMiB = arg('ballast', 80);
const HELPER = resolve(import.meta.dirname, '../libexec/tend-spawn-helper.mjs');

installExitCleanup();
const dir = mkdtempSync(join(tmpdir(), 'tend-spawnhelper-'));
const env = () => ({ ...process.env, TEND_SERVICE: 'bench', TEND_REPLICA: '0' });

async function inProcess(tag: string): Promise<{ ms: number; pids: number[] }> {
  const t0 = performance.now();
  const pids: number[] = [];
  for (let i = 0; i < n; i++) {
    const fd = openSync(join(dir, `${tag}-${i % 50}.log`), 'a');
    const c = spawn('sleep', ['1000'], { env: env(), detached: true, stdio: ['ignore', fd, fd] });
    closeSync(fd);
    c.on('error', () => {});
    pids.push(c.pid!);
  }
  return { ms: performance.now() - t0, pids };
}

function startHelper(): { child: ChildProcess; request: (tag: string) => Promise<{ ms: number; pids: number[] }> } {
  const child = spawn(process.execPath, [HELPER], { stdio: ['pipe', 'pipe', 'inherit'], detached: true });
  registry.addPid(child.pid!, undefined, true);
  let waiting: { left: number; pids: number[]; done: () => void } | undefined;
  createInterface({ input: child.stdout! }).on('line', (line) => {
    const r = JSON.parse(line) as { id?: number; pid?: number };
    if (!waiting || r.id === undefined) return; // its ready line, and exits
    if (r.pid) waiting.pids.push(r.pid);
    if (--waiting.left === 0) waiting.done();
  });
  return {
    child,
    request: (tag) =>
      new Promise((res) => {
        const t0 = performance.now();
        const pids: number[] = [];
        waiting = { left: n, pids, done: () => res({ ms: performance.now() - t0, pids }) };
        const lines: string[] = [];
        for (let i = 0; i < n; i++) lines.push(JSON.stringify({ id: i, argv: ['sleep', '1000'], env: env(), log: join(dir, `${tag}-${i % 50}.log`) }));
        child.stdin!.write(lines.join('\n') + '\n');
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

const small: number[] = [];
const big: number[] = [];
const helped: number[] = [];
try {
  const helper = startHelper();
  for (let r = 0; r < runs; r++) {
    const a = await inProcess(`small-${r}`);
    small.push(a.ms);
    await reap(a.pids);
  }
  // Ballast: live JS objects, as a daemon's state is (not an ArrayBuffer, which V8 keeps off-heap).
  const ballast: object[] = [];
  while ((usageOf(process.pid)?.rssBytes ?? 0) < (ballastMiB + 60) * 1024 ** 2) {
    for (let i = 0; i < 10_000; i++) ballast.push({ id: `x${i}-${ballast.length}`, v: [i, i + 1, i + 2], s: 'y'.repeat(40) });
  }
  const rss = ((usageOf(process.pid)?.rssBytes ?? 0) / 1024 ** 2).toFixed(0);
  for (let r = 0; r < runs; r++) {
    const b = await inProcess(`big-${r}`);
    big.push(b.ms);
    await reap(b.pids);
    const h = await helper.request(`helper-${r}`);
    helped.push(h.ms);
    await reap(h.pids);
  }
  const helperRss = ((usageOf(helper.child.pid!)?.rssBytes ?? 0) / 1024 ** 2).toFixed(0);
  const f = (xs: number[]) => `${summarize(xs).median.toFixed(0)} ms (${xs.map((x) => x.toFixed(0)).join(', ')})`;
  process.stdout.write(`spawn ${n} × sleep (detached, log fd, full env), ${runs} runs each\n`);
  process.stdout.write(`  in process, small heap:              ${f(small)}\n`);
  process.stdout.write(`  in process, big heap (RSS ${rss} MiB):  ${f(big)}\n`);
  process.stdout.write(`  helper process (RSS ${helperRss} MiB):     ${f(helped)}\n`);
  void ballast.length;
} finally {
  registry.killAll();
  rmSync(dir, { recursive: true, force: true });
}
process.exit(0);
