// A crash while a status read samples CPU and memory, at N replicas: SIGKILL → new pid, alone and
// sent just after `GET /v1/status`, the first read after a quiet spell (which scans /proc for
// every replica). The scan took ~140 ms at 5000, in one piece, and a crash waited for it; it is now
// read a slice per turn of the loop (reconcile/sampler.ts). Rounds are 8 s apart: the readers' gap
// grows to 50 times a scan's cost, so every round's read scans.
//
//   node --import tsx bench/status-crash.ts [--n=5000] [--rounds=5] [--tend=dist|path/to/tend.js]

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TendDriver, pickLauncher } from './lib/drivers/tend.js';
import { childrenOf, comm, readProcStat, ReplicaWatch, installExitCleanup, registry } from './lib/procs.js';
import { summarize } from './lib/stats.js';
import { renderTable } from './lib/table.js';
import { now, sleep, waitFor } from './lib/timers.js';

const arg = (k: string, d: number) => Number(process.argv.find((a) => a.startsWith(`--${k}=`))?.split('=')[1] ?? d);
const n = arg('n', 5000);
const rounds = arg('rounds', 5);
const log = (s: string) => process.stderr.write(`${s}\n`);

installExitCleanup();
const tmp = mkdtempSync(join(tmpdir(), 'tend-status-crash-'));
const wanted = process.argv.find((a) => a.startsWith('--tend='))?.slice(7);
const d = new TendDriver(join(tmp, 'tend'), pickLauncher(wanted, join(tmp, 'build'), log));

/** SIGKILLs one replica; resolves with the ms until its replacement runs. */
async function crash(watch: ReplicaWatch, k: number): Promise<number> {
  const live = [...watch.scan().keys()];
  const victim = live[(k * 7919) % live.length]!;
  const parents = [...new Set([readProcStat(victim)!.ppid, ...(d.replicaParents?.() ?? [])])];
  const before = new Set(parents.flatMap((p) => childrenOf(p)));
  const t0 = now();
  process.kill(victim, 'SIGKILL');
  const { at } = await waitFor('the replacement', () => {
    for (const pid of parents.flatMap((p) => childrenOf(p))) {
      if (before.has(pid) || comm(pid) !== 'sleep') continue;
      registry.addPid(pid, undefined, true);
      return true;
    }
    return false;
  }, { intervalMs: 1, timeoutMs: 30_000 });
  return at - t0;
}

try {
  await d.launch({ replicas: n });
  const watch = new ReplicaWatch(() => d.supervisorPid(), 'sleep', undefined, () => d.replicaParents?.() ?? []);
  await waitFor('running', () => watch.count() === n, { intervalMs: 50, timeoutMs: 600_000 });
  await waitFor('converged', async () => (await d.status())?.converged === true, { intervalMs: 200, timeoutMs: 600_000 });
  const alone: number[] = [];
  const during: number[] = [];
  const statusMs: number[] = [];
  for (let k = 0; k < rounds; k++) {
    await sleep(8000);
    alone.push(await crash(watch, 2 * k));
    await sleep(8000);
    const t0 = now();
    const reading = d.status().then(() => statusMs.push(now() - t0));
    await sleep(5); // the request has reached the daemon, whose scan has begun
    during.push(await crash(watch, 2 * k + 1));
    await reading;
    log(`round ${k + 1}: alone ${alone.at(-1)!.toFixed(1)} ms, during a status read ${during.at(-1)!.toFixed(1)} ms (status answered in ${statusMs.at(-1)!.toFixed(0)} ms)`);
  }
  const fmt = (xs: number[]) => `${summarize(xs).median.toFixed(1)} (${summarize(xs).min.toFixed(1)}–${summarize(xs).max.toFixed(1)})`;
  process.stdout.write(`\nat ${n} replicas, ms (median and min–max of ${rounds}):\n`);
  process.stdout.write(
    renderTable(['', 'SIGKILL → new pid', 'status answered'], [
      ['crash alone', fmt(alone), '–'],
      ['crash 5 ms after GET /v1/status', fmt(during), fmt(statusMs)],
    ]) + '\n',
  );
  await d.stopAll();
  await d.exited();
} finally {
  await d.cleanup().catch(() => {});
  rmSync(tmp, { recursive: true, force: true });
}
