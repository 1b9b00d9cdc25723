// What the tend daemon's start-up costs before its first replica runs: the compiled CLI (`tend up`
// with one replica), launch → first replica running and → API answering, against the minimal and
// bare loops (Node processes that spawn at once, bench/lib/drivers/bare.ts) for the floor;
// alternating runs.
//
// When the caller's environment sets NODE_EXTRA_CA_CERTS (this machine's does), each is run with it
// and without it too: Node loads that file and its own root certificates before any JavaScript
// runs, which took ~30–45 ms of every Node process's start here (bench/FINDINGS.md §15). tend, run
// as a command, moves it aside for its own Node and puts it back for what it starts
// (src/util/deferred-ca.ts); the bare loop is `node` with the environment as it is.
//
//   node --import tsx bench/startup-attribution.ts [--runs=7] [--tend=dist|build|path/to/cli.js]...
//        [--ca=both|set|unset] [--replicas=1]
//
// With --replicas=N the service (and the bare loop) has N replicas: the first one's start is timed
// (the bench's cold start at 1000 times it too).
// With --tend given twice or more (two builds' CLIs, say), each is measured, in turns.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BareDriver } from './lib/drivers/bare.js';
import { TendDriver, pickLauncher } from './lib/drivers/tend.js';
import type { Driver } from './lib/driver.js';
import { ReplicaWatch, installExitCleanup, minorFaultsOf, registry } from './lib/procs.js';
import { summarize } from './lib/stats.js';
import { renderTable } from './lib/table.js';
import { now, waitFor } from './lib/timers.js';

const runs = Number(process.argv.find((a) => a.startsWith('--runs='))?.slice(7) ?? 7);
const wanted = process.argv.filter((a) => a.startsWith('--tend=')).map((a) => a.slice(7));
const replicas = Number(process.argv.find((a) => a.startsWith('--replicas='))?.slice(11) ?? 1);
const ca = process.argv.find((a) => a.startsWith('--ca='))?.slice(5) ?? 'both';
if (!['both', 'set', 'unset'].includes(ca)) throw new Error(`--ca=${ca}: both, set or unset`);

installExitCleanup();
const tmp = mkdtempSync(join(tmpdir(), 'tend-startup-'));

async function once(d: Driver, env: NodeJS.ProcessEnv): Promise<{ first: number; faults: number; api?: number }> {
  const watch = new ReplicaWatch(() => d.supervisorPid(), 'sleep', undefined, () => d.replicaParents?.() ?? []);
  const first = watch.newReplicas();
  const t0 = now();
  await d.launch({ replicas, env });
  // Apart: an API request waits for the daemon, which at 1000 replicas answers after its first pass.
  const answered = d instanceof TendDriver ? waitFor('the API', () => d.status(), { intervalMs: 1, timeoutMs: 60_000 }) : undefined;
  const { at } = await waitFor('first replica', () => first.look(), { intervalMs: 1, timeoutMs: 60_000 });
  // The pages the supervisor (tend: the daemon and its spawn helper) had touched by then: on a VM
  // whose host takes back freed memory, the first touch of a page cost ~25 µs (bench/FINDINGS.md
  // §19), so this count says what the times there are made of, and does not swing with the host.
  const faults = (d.supervisorProcesses?.() ?? [d.supervisorPid()!]).reduce((sum, pid) => sum + (minorFaultsOf(pid) ?? 0), 0);
  const api = answered && (await answered).at - t0;
  await d.stopAll();
  await d.exited();
  await d.cleanup();
  return { first: at - t0, faults, ...(api !== undefined ? { api } : {}) };
}

try {
  const launchers = (wanted.length > 0 ? wanted : ['build']).map((w, i) => {
    const launcher = pickLauncher(w, join(tmp, `build-${i}`), (s) => process.stderr.write(`${s}\n`));
    if (launcher.kind !== 'build' && launcher.kind !== 'dist') throw new Error(`no compiled CLI to measure (${launcher.kind})`);
    return { name: wanted.length > 1 ? `tend ${w}` : 'tend', launcher };
  });
  const { NODE_EXTRA_CA_CERTS: extraCa, ...without } = process.env;
  const envs: [string, NodeJS.ProcessEnv][] =
    extraCa === undefined
      ? [['', process.env]]
      : (
          [
            [', NODE_EXTRA_CA_CERTS set', process.env],
            [', NODE_EXTRA_CA_CERTS unset', without],
          ] as [string, NodeJS.ProcessEnv][]
        ).filter(([label]) => ca === 'both' || label.endsWith(` ${ca}`));
  const variants = envs.flatMap(([label, env]) => [
    { name: `minimal loop${label}`, make: (r: number) => new BareDriver(join(tmp, `minimal-${r}`), 'minimal'), env },
    { name: `bare loop${label}`, make: (r: number) => new BareDriver(join(tmp, `bare-${r}`)), env },
    ...launchers.map(({ name, launcher }, i) => ({ name: `${name}${label}`, make: (r: number) => new TendDriver(join(tmp, `tend-${i}-${r}`), launcher), env })),
  ]);
  const res = new Map(variants.map((v) => [v.name, { first: [] as number[], faults: [] as number[], api: [] as number[] }]));
  for (let r = 0; r < runs; r++) {
    for (const v of variants) {
      const x = await once(v.make(r), v.env);
      res.get(v.name)!.first.push(x.first);
      res.get(v.name)!.faults.push(x.faults);
      if (x.api !== undefined) res.get(v.name)!.api.push(x.api);
    }
  }
  const fmt = (xs: number[]) => (xs.length ? `${summarize(xs).median.toFixed(0)} (${summarize(xs).min.toFixed(0)}–${summarize(xs).max.toFixed(0)})` : '–');
  process.stdout.write(`\nstart-up, ms from launch (median and min–max of ${runs} runs, alternating; ${replicas} replica${replicas === 1 ? '' : 's'}):\n`);
  process.stdout.write(renderTable(['process', '→ first replica running', 'pages touched by then', '→ API answers'], [...res].map(([k, v]) => [k, fmt(v.first), fmt(v.faults), fmt(v.api)])) + '\n');
} finally {
  await registry.killAndWait().catch(() => undefined);
  rmSync(tmp, { recursive: true, force: true });
}
process.exit(0);
