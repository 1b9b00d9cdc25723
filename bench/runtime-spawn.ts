// Cost of starting replicas through ProcessRuntime.start against a bare child_process.spawn loop
// with the same options (detached, one O_APPEND log fd for stdout and stderr), in the same run,
// alternating the two so that drift in the machine's state hits both alike. Goal: within 1.3×.
// Run alone: node --import tsx bench/runtime-spawn.ts [n] [runs]

import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

import { isLive, readProcStat, scanGroups } from '../src/runtime/proc.js';
import { ProcessRuntime } from '../src/runtime/process-runtime.js';

export interface RuntimeSpawnResult {
  name: string;
  /** Wall ms to start n replicas, per run. */
  bare: number[];
  tend: number[];
  /** median(tend) / median(bare). */
  ratio: number;
}

// Starts `n` `sleep 1000` replicas `runs` times each way, reaping every group between runs.
export async function benchRuntimeSpawn(opts: { n?: number; runs?: number } = {}): Promise<RuntimeSpawnResult> {
  const n = opts.n ?? 500;
  const runs = opts.runs ?? 3;
  const dir = mkdtempSync(join(tmpdir(), 'tend-bench-'));
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin' };
  const bare: number[] = [];
  const tend: number[] = [];
  try {
    for (let run = 0; run < runs; run++) {
      bare.push(await timed((pgids) => startBare(n, dir, join(dir, `bare-${run}`), env, pgids)));
      tend.push(await timed((pgids) => startTend(n, dir, join(dir, `tend-${run}`), env, pgids)));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return { name: `runtime-spawn (${n} × sleep)`, bare, tend, ratio: median(tend) / median(bare) };
}

async function startBare(n: number, cwd: string, logDir: string, env: Record<string, string>, pgids: number[]): Promise<void> {
  mkdirSync(logDir, { recursive: true });
  for (let i = 0; i < n; i++) {
    const fd = openSync(join(logDir, `${i}.log`), 'a');
    const child = spawn('sleep', ['1000'], { cwd, env, detached: true, stdio: ['ignore', fd, fd] });
    closeSync(fd);
    pgids.push(child.pid!);
  }
}

async function startTend(n: number, cwd: string, logDir: string, env: Record<string, string>, pgids: number[]): Promise<void> {
  const rt = new ProcessRuntime();
  const results = await Promise.all(
    Array.from({ length: n }, (_, i) =>
      rt.start(
        { launch: { service: 'bench', index: i, argv: ['sleep', '1000'], cwd, env }, logFile: join(logDir, `${i}.log`) },
        () => {},
      ),
    ),
  );
  for (const r of results) {
    if (!r.ok) throw new Error(`start failed: ${r.reason}`);
    pgids.push(r.handle.pgid);
  }
  rt.close();
}

// Times one start loop, then kills and reaps every group it started before the next run.
async function timed(startAll: (pgids: number[]) => Promise<void>): Promise<number> {
  const pgids: number[] = [];
  const t0 = performance.now();
  try {
    await startAll(pgids);
    return performance.now() - t0;
  } finally {
    for (const g of pgids) {
      try {
        process.kill(-g, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
    await untilGone(pgids);
  }
}

async function untilGone(pgids: number[]): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const alive = [...scanGroups(pgids).values()].some((m) => m.length > 0);
    // Our children are reaped by Node once the loop turns; wait for that too, not only for death.
    const unreaped = pgids.some((p) => {
      const s = readProcStat(p);
      return s !== null && !isLive(s.state) && s.ppid === process.pid;
    });
    if (!alive && !unreaped) return;
    if (Date.now() > deadline) throw new Error('replicas still alive 30 s after SIGKILL');
    await new Promise((r) => setTimeout(r, 20));
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

function summary(xs: number[]): string {
  return `median ${median(xs).toFixed(1)} ms (min ${Math.min(...xs).toFixed(1)}, max ${Math.max(...xs).toFixed(1)})`;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const r = await benchRuntimeSpawn({ n: Number(process.argv[2] ?? 500), runs: Number(process.argv[3] ?? 5) });
  console.log(r.name);
  console.log(`  bare spawn:    ${summary(r.bare)}`);
  console.log(`  runtime.start: ${summary(r.tend)}`);
  console.log(`  ratio: ${r.ratio.toFixed(2)}× (goal ≤ 1.3×)`);
}
