// What tend's own log costs the daemon when it is written beside services.d, as
// `tend up services.d > tend.log` in a project directory does, against the same daemon logging to a
// file elsewhere (the baseline). tend watches services.d's parent to see the directory itself
// switched; a watch that reacted to every write there (chokidar re-read the directory each time)
// doubled the daemon's CPU under a steady flow of events.
//
// Workload: 20 replicas that crash every 0.2 s and are restarted at once (≈ 500 log lines a second).
//
//   npm run build && node --import tsx bench/log-beside.ts [--runs=3] [--seconds=10] [--tend=dist/bin/tend.js]

import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { findMarkedGroups, readSupervisorId } from '../src/state/orphans.js';
import { installExitCleanup, registry, usageOf } from './lib/procs.js';
import { exitOf, launch } from './lib/spawn.js';
import { median } from './lib/stats.js';
import { renderTable } from './lib/table.js';
import { sleep, waitFor } from './lib/timers.js';

const arg = (k: string) => process.argv.find((a) => a.startsWith(`--${k}=`))?.split('=')[1];
const runs = Number(arg('runs') ?? 3);
const seconds = Number(arg('seconds') ?? 10);
const cli = resolve(arg('tend') ?? resolve(import.meta.dirname, '../dist/bin/tend.js'));
if (!existsSync(cli)) throw new Error(`${cli} does not exist: run \`npm run build\` first, or pass --tend=path/to/tend.js`);

installExitCleanup();
const tmp = mkdtempSync(join(tmpdir(), 'tend-log-beside-'));

async function once(place: 'beside services.d' | 'elsewhere (baseline)', run: number): Promise<{ cpu: number; lines: number }> {
  const project = join(tmp, `${run}-${place.split(' ')[0]}`, 'project');
  const dir = join(project, 'services.d');
  mkdirSync(dir, { recursive: true });
  for (let i = 0; i < 10; i++) writeFileSync(join(project, `file${i}`), ''); // a project directory has neighbours
  writeFileSync(join(dir, 'crashy.yaml'), 'command: ["sh", "-c", "sleep 0.2; exit 1"]\nreplicas: 20\nbackoff: { initial: 10ms, max: 20ms }\nmax_restarts: 0\n');
  const state = join(project, '.tend');
  const logFile = place === 'beside services.d' ? join(project, 'tend.log') : join(project, '..', 'tend.log');
  const child = launch(process.execPath, [cli, '--state-dir', state, 'up', dir], { cwd: project, logFile });
  try {
    await waitFor('the daemon logging', () => readFileSync(logFile, 'utf8').split('\n').length > 200, { timeoutMs: 30_000, intervalMs: 50 });
    const lines0 = readFileSync(logFile, 'utf8').split('\n').length;
    const a = usageOf(child.pid!)!;
    await sleep(seconds * 1000);
    const b = usageOf(child.pid!)!;
    const lines = readFileSync(logFile, 'utf8').split('\n').length - lines0;
    return { cpu: ((b.cpuTicks - a.cpuTicks) / 100 / seconds) * 100, lines: lines / seconds };
  } finally {
    child.kill('SIGTERM');
    await exitOf(child);
    for (const g of findMarkedGroups(readSupervisorId(state) ?? '-')) registry.addPid(g.pgid, g.startTime, true);
    await registry.killAndWait();
  }
}

try {
  const places = ['elsewhere (baseline)', 'beside services.d'] as const;
  const res = new Map(places.map((p) => [p, { cpu: [] as number[], lines: [] as number[] }]));
  for (let r = 0; r < runs; r++) {
    for (const p of places) {
      const x = await once(p, r);
      process.stderr.write(`${p}: ${x.cpu.toFixed(1)}% of a core, ${x.lines.toFixed(0)} lines/s\n`);
      res.get(p)!.cpu.push(x.cpu);
      res.get(p)!.lines.push(x.lines);
    }
  }
  process.stdout.write(`\ndaemon CPU with its log in each place (median of ${runs} alternating ${seconds} s windows, ${cli}):\n`);
  process.stdout.write(renderTable(['log written', 'daemon cpu % of a core', 'log lines/s'], [...res].map(([p, v]) => [p, median(v.cpu).toFixed(1), median(v.lines).toFixed(0)])) + '\n');
} finally {
  await registry.killAndWait().catch(() => undefined);
  rmSync(tmp, { recursive: true, force: true });
}
process.exit(0);
