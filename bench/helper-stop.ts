// The compiled spawn helper alone, without tend: it forks N `sleep`, then gets one write of N stop
// requests (SIGTERM and SIGCONT to each group, as tend sends them); timed until every replica is
// gone from /proc and every exit line has arrived. The floor under tend's `stop all` (FINDINGS §15).
//
//   node --import tsx bench/helper-stop.ts [--n=2500] [--runs=3]

import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { NATIVE_HELPER } from '../src/runtime/spawn-helper.js';
import { alive, installExitCleanup, registry } from './lib/procs.js';
import { summarize } from './lib/stats.js';
import { now, sleep, waitFor } from './lib/timers.js';

const arg = (k: string, d: number) => Number(process.argv.find((a) => a.startsWith(`--${k}=`))?.split('=')[1] ?? d);
const n = arg('n', 2500);
const runs = arg('runs', 3);

installExitCleanup();
const tmp = mkdtempSync(join(tmpdir(), 'tend-helper-stop-'));

async function once(): Promise<{ gone: number; lines: number }> {
  const helper = spawn(NATIVE_HELPER, [], { stdio: ['pipe', 'pipe', 'ignore'] });
  registry.addPid(helper.pid!, undefined, false);
  const forked = new Map<number, { pid: number; start: number }>();
  let exits = 0;
  let lastLineAt = 0;
  createInterface({ input: helper.stdout! }).on('line', (l) => {
    const m = JSON.parse(l) as { id?: number; pid?: number; start?: number; exit?: number };
    if (m.id !== undefined && m.pid !== undefined) {
      forked.set(m.id, { pid: m.pid, start: m.start ?? 0 });
      registry.addPid(m.pid, undefined, true);
    }
    if (m.exit !== undefined && ++exits === n) lastLineAt = now();
  });
  const env = { PATH: process.env['PATH'] ?? '/usr/bin:/bin' };
  helper.stdin!.write(Array.from({ length: n }, (_, i) => JSON.stringify({ id: i + 1, argv: ['sleep', '1000'], cwd: tmp, env, log: join(tmp, 'log') }) + '\n').join(''));
  await waitFor(`${n} forked`, () => forked.size === n, { intervalMs: 20, timeoutMs: 120_000 });
  await sleep(1000); // the forks' own work (exec, loading) over before the clock starts
  const pids = [...forked.values()].map((f) => f.pid);
  const t0 = now();
  helper.stdin!.write([...forked.values()].map((f) => JSON.stringify({ kill: f.pid, pid: f.pid, start: f.start, sigs: ['SIGTERM', 'SIGCONT'] }) + '\n').join(''));
  let k = 0;
  const { at } = await waitFor('all gone', () => {
    while (k < pids.length && !alive(pids[k]!)) k++;
    return k === pids.length;
  }, { intervalMs: 5, timeoutMs: 120_000 });
  await waitFor('every exit line', () => exits === n, { intervalMs: 5, timeoutMs: 120_000 });
  helper.stdin!.end();
  await new Promise((r) => helper.once('exit', r));
  return { gone: at - t0, lines: lastLineAt - t0 };
}

try {
  const res = [];
  for (let r = 0; r < runs; r++) res.push(await once());
  const fmt = (xs: number[]) => `${summarize(xs).median.toFixed(0)} ms (${summarize(xs).min.toFixed(0)}–${summarize(xs).max.toFixed(0)})`;
  process.stdout.write(`compiled helper, ${n} sleep stopped in one write, ${runs} runs: all gone ${fmt(res.map((x) => x.gone))}, every exit line ${fmt(res.map((x) => x.lines))}\n`);
} finally {
  await registry.killAndWait().catch(() => undefined);
  rmSync(tmp, { recursive: true, force: true });
}
process.exit(0);
