// Where an idle tend daemon's CPU goes: the same compiled daemon at N replicas, idle, in four
// configurations that switch off one periodic cost at a time, measured from /proc like run.ts.
//
//   node --import tsx bench/idle-attribution.ts [--n=1000] [--seconds=20] [--wait=3] [--only=default]
//
// --wait: seconds between the last replica running and the window (a longer wait leaves out the
// one collection the memory reducer makes after a cold start, src/util/memory-reducer.ts);
// --only: the configurations whose label starts with one of these words (default, eld, empty).
//
//   default            what users run (stats every 5 s, prom-client default metrics)
//   eld 1 s            prom-client's event-loop-delay monitor forced to 1 s resolution (§1a of
//                      bench/FINDINGS.md). tend now starts that monitor only at the first /metrics
//                      scrape, at 1 s, so this runs the same daemon as `default`: a second sample
//                      of it, which shows how much a window depends on when V8 collects (§11).
//   eld 1 s, no stats  ... and statsIntervalMs 0 (no usage sample, no log-rotation check)
//   empty              no replicas, eld 1 s, no stats: the floor of an idle Node daemon

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { findMarkedGroups, readSupervisorId } from '../src/state/orphans.js';
import { buildIntoTemp } from './lib/drivers/tend.js';
import { ReplicaWatch, childrenOf, cmdlineOf, installExitCleanup, registry, usageOf } from './lib/procs.js';
import { launch } from './lib/spawn.js';
import { renderTable } from './lib/table.js';
import { sleep, waitFor } from './lib/timers.js';

const arg = (k: string, d: number) => Number(process.argv.find((a) => a.startsWith(`--${k}=`))?.split('=')[1] ?? d);
const n = arg('n', 1000);
const seconds = arg('seconds', 20);
const waitSeconds = arg('wait', 3);
const only = process.argv.find((a) => a.startsWith('--only='))?.slice(7).split(',');
const LIB = resolve(import.meta.dirname, 'lib');

installExitCleanup();
const tmp = mkdtempSync(join(tmpdir(), 'tend-idle-'));

async function measure(label: string, build: string, replicas: number, statsMs: number, eld1s: boolean): Promise<string[]> {
  const base = join(tmp, label.replace(/\W+/g, '-'));
  const dir = join(base, 'project/services.d'); // alone in its parent, which tend watches too
  mkdirSync(dir, { recursive: true });
  if (replicas > 0) writeFileSync(join(dir, 'bench.yaml'), `command: ["sleep", "1000"]\nreplicas: ${replicas}\n`);
  const args = [...(eld1s ? ['--import', join(LIB, 'eld-1s.mjs')] : []), join(LIB, 'run-daemon-built.mjs'), build, dir, join(base, 'state'), String(statsMs)];
  const child = launch(process.execPath, args, { logFile: join(base, 'daemon.log') });
  // Replicas are children of the daemon's spawn helper (or of the daemon, before it is up).
  const helpers = () => childrenOf(child.pid!).filter((pid) => cmdlineOf(pid).includes('tend-spawn-helper'));
  const watch = new ReplicaWatch(() => child.pid, 'sleep', undefined, helpers);
  try {
    await waitFor(`${replicas} replicas`, () => watch.count() === replicas, { timeoutMs: 300_000 });
    await sleep(waitSeconds * 1000);
    // The daemon's CPU and RSS, and its helpers' CPU (they fork; idle, they should cost nothing).
    const helperTicks = () => helpers().reduce((sum, pid) => sum + (usageOf(pid)?.cpuTicks ?? 0), 0);
    const a = usageOf(child.pid!)!;
    const ha = helperTicks();
    await sleep(seconds * 1000);
    const b = usageOf(child.pid!)!;
    const cpu = ((b.cpuTicks - a.cpuTicks) / 100 / seconds) * 100;
    const hcpu = ((helperTicks() - ha) / 100 / seconds) * 100;
    process.stderr.write(`${label}: ${cpu.toFixed(2)}% of a core (helpers ${hcpu.toFixed(2)}%), RSS ${(b.rssBytes / 2 ** 20).toFixed(1)} MiB\n`);
    return [label, String(replicas), cpu.toFixed(2), hcpu.toFixed(2), (b.rssBytes / 2 ** 20).toFixed(1)];
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => (child.exitCode !== null ? r(null) : child.once('exit', r)));
    for (const g of findMarkedGroups(readSupervisorId(join(base, 'state')) ?? '-')) registry.addPid(g.pgid, g.startTime, true);
    await registry.killAndWait();
  }
}

try {
  const build = join(tmp, 'build');
  if (!buildIntoTemp(build, (s) => process.stderr.write(`${s}\n`))) throw new Error('build failed');
  const configs: [string, number, number, boolean][] = [
    ['default (stats 5 s)', n, 5000, false],
    ['eld 1 s', n, 5000, true],
    ['eld 1 s, no stats', n, 0, true],
    ['empty: eld 1 s, no stats', 0, 0, true],
    ['empty: default', 0, 5000, false],
  ];
  const rows: string[][] = [];
  for (const [label, replicas, statsMs, eld1s] of configs) {
    if (only && !only.some((w) => label.startsWith(w))) continue;
    rows.push(await measure(label, build, replicas, statsMs, eld1s));
  }
  process.stdout.write(`\nidle tend daemon, ${seconds} s windows (CPU % of one core from /proc/<pid>/stat, all threads):\n`);
  process.stdout.write(renderTable(['configuration', 'replicas', 'daemon cpu %', 'helpers cpu %', 'daemon rss MiB'], rows) + '\n');
} finally {
  await registry.killAndWait().catch(() => undefined);
  rmSync(tmp, { recursive: true, force: true });
}
process.exit(0);
