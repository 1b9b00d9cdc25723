// What the tend daemon's start-up costs before its first replica runs: the compiled CLI
// (`tend up` with one replica), launch → first replica running and → API answering, alternating
// runs with and without prom-client's default metrics (a preload turns collectDefaultMetrics into a
// no-op), and a bare node process for the floor.
//
//   node --import tsx bench/startup-attribution.ts [--runs=7] [--tend=dist|build|path/to/cli.js]

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { BareDriver } from './lib/drivers/bare.js';
import { TendDriver, pickLauncher } from './lib/drivers/tend.js';
import type { Driver } from './lib/driver.js';
import { ReplicaWatch, installExitCleanup, registry } from './lib/procs.js';
import { summarize } from './lib/stats.js';
import { renderTable } from './lib/table.js';
import { now, waitFor } from './lib/timers.js';

const runs = Number(process.argv.find((a) => a.startsWith('--runs='))?.slice(7) ?? 7);
const wanted = process.argv.find((a) => a.startsWith('--tend='))?.slice(7);
const PRELOAD = resolve(import.meta.dirname, 'lib/no-default-metrics.mjs');

installExitCleanup();
const tmp = mkdtempSync(join(tmpdir(), 'tend-startup-'));

async function once(d: Driver, flags: string[]): Promise<{ first: number; api?: number }> {
  const watch = new ReplicaWatch(() => d.supervisorPid(), 'sleep', undefined, () => d.replicaParents?.() ?? []);
  const t0 = now();
  await d.launch({ replicas: 1, nodeFlags: flags });
  let api: number | undefined;
  const { at } = await waitFor('first replica', async () => {
    if (api === undefined && d instanceof TendDriver && (await d.status())) api = now() - t0;
    return watch.count() === 1;
  }, { intervalMs: 2, timeoutMs: 60_000 });
  const first = at - t0;
  await d.stopAll();
  await d.exited();
  await d.cleanup();
  return { first, ...(api !== undefined ? { api } : {}) };
}

try {
  const launcher = pickLauncher(wanted ?? 'build', join(tmp, 'build'), (s) => process.stderr.write(`${s}\n`));
  if (launcher.kind !== 'build' && launcher.kind !== 'dist') throw new Error(`no compiled CLI to measure (${launcher.kind})`);
  const res: Record<string, { first: number[]; api: number[] }> = { bare: { first: [], api: [] }, default: { first: [], api: [] }, 'no default metrics': { first: [], api: [] } };
  for (let r = 0; r < runs; r++) {
    for (const [name, make, flags] of [
      ['bare', () => new BareDriver(join(tmp, `bare-${r}`)), []],
      ['default', () => new TendDriver(join(tmp, `d-${r}`), launcher), []],
      ['no default metrics', () => new TendDriver(join(tmp, `n-${r}`), launcher), ['--import', PRELOAD]],
    ] as const) {
      const x = await once(make(), [...flags]);
      res[name]!.first.push(x.first);
      if (x.api !== undefined) res[name]!.api.push(x.api);
    }
  }
  const fmt = (xs: number[]) => (xs.length ? `${summarize(xs).median.toFixed(0)} (${summarize(xs).min.toFixed(0)}–${summarize(xs).max.toFixed(0)})` : '–');
  process.stdout.write(`\nstart-up, ms from launch (median and min–max of ${runs} runs, alternating):\n`);
  process.stdout.write(renderTable(['process', '→ first replica running', '→ API answers'], Object.entries(res).map(([k, v]) => [k, fmt(v.first), fmt(v.api)])) + '\n');
} finally {
  await registry.killAndWait().catch(() => undefined);
  rmSync(tmp, { recursive: true, force: true });
}
process.exit(0);
