// CPU profile of the tend daemon through the phases the bench found costly, summarised as the
// functions with the most self time, mapped back to src/ through source maps.
//
//   node --import tsx bench/profile.ts [--n=1000] [--idle=15] [--scale=200] [--no-probes] [--keep]
//
// Phases (each a time window of one `node --cpu-prof` profile of the daemon process):
//   start   launch → converged with n replicas
//   idle    n replicas, nothing to do
//   probes  the same replicas after a 1 s tcp readiness probe was added to each (live change)
//   crash   (with n1000) --kills=K replicas SIGKILLed one at a time, each until replaced
//   edit    (with n1000) --edits=K edits of `replicas:` adding one replica each
//   scale   (separate daemon) --scale=M replicas → 2M: the scale-up the bench found slow
// The .cpuprofile files are kept with --keep (open them in Chrome DevTools or speedscope).

import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { renderSummary, summariseWindow, type CpuProfile } from './lib/cpuprofile.js';
import { TendDriver, buildIntoTemp } from './lib/drivers/tend.js';
import { ReplicaWatch, installExitCleanup, registry } from './lib/procs.js';
import { startTcpSink } from './lib/tcp-sink.js';
import { now, sleep, waitFor } from './lib/timers.js';
import { edits, kills } from './workloads.js';

const ROOT = resolve(import.meta.dirname, '..');
const arg = (k: string, d: number) => Number(process.argv.find((a) => a.startsWith(`--${k}=`))?.split('=')[1] ?? d);
const keep = process.argv.includes('--keep');
const log = (s: string) => process.stderr.write(`${s}\n`);

installExitCleanup();
const tmp = mkdtempSync(join(tmpdir(), 'tend-profile-'));
const entry = buildIntoTemp(join(tmp, 'build'), log, true);
if (!entry) throw new Error('could not build tend with source maps');
const launcher = { kind: 'build' as const, entry };

interface Phase {
  name: string;
  from: number;
  to: number;
}

async function profiled(name: string, body: (d: TendDriver, mark: (phase: string, from: number, to: number) => void) => Promise<void>, replicas = 0): Promise<void> {
  const profDir = join(tmp, `prof-${name}`);
  const d = new TendDriver(join(tmp, name), launcher);
  const phases: Phase[] = [];
  const t0 = now();
  const mark = (phase: string, from: number, to: number) => phases.push({ name: phase, from: from - t0, to: to - t0 });
  try {
    await d.launch({ replicas, nodeFlags: ['--cpu-prof', `--cpu-prof-dir=${profDir}`, '--cpu-prof-interval=1000'] });
    await body(d, mark);
    const t = now();
    await d.stopAll();
    await d.exited();
    mark('stop all → daemon exited', t, now());
  } finally {
    await d.cleanup();
  }
  const file = readdirSync(profDir).find((f) => f.endsWith('.cpuprofile'));
  if (!file) throw new Error(`no profile written in ${profDir}`);
  const profile = JSON.parse(readFileSync(join(profDir, file), 'utf8')) as CpuProfile;
  for (const p of phases) {
    process.stdout.write(`\n${renderSummary(`[${name}] ${p.name}`, summariseWindow(profile, ROOT, p.from, p.to, 25))}\n`);
  }
  if (keep) process.stdout.write(`\nprofile: ${join(profDir, file)}\n`);
}

const n = arg('n', 1000);
const idle = arg('idle', 15);
const scaleN = arg('scale', 200);

const phases = (process.argv.find((a) => a.startsWith('--phases='))?.slice(9) ?? 'boot,n1000,scale').split(',');

try {
  if (phases.includes('boot')) {
    // A daemon started with one replica already in its directory: launch → first replica running.
    await profiled('boot', async (d, mark) => {
      const watch = new ReplicaWatch(() => d.supervisorPid(), 'sleep', undefined, () => d.replicaParents?.() ?? []);
      await waitFor('first replica', () => watch.count() === 1, { intervalMs: 2, timeoutMs: 60_000 });
      mark('boot: launch → first replica running', -Infinity, now());
    }, 1);
  }
  if (phases.includes('n1000')) await profiled('n1000', async (d, mark) => {
    const watch = new ReplicaWatch(() => d.supervisorPid(), 'sleep', undefined, () => d.replicaParents?.() ?? []);
    await waitFor('api', () => d.status(), { intervalMs: 20, timeoutMs: 60_000 });
    const t1 = now();
    await d.scale(n);
    await waitFor('running', () => watch.count() === n, { intervalMs: 10, timeoutMs: 300_000 });
    await waitFor('converged', async () => (await d.status())?.converged === true, { intervalMs: 20, timeoutMs: 300_000 });
    mark(`start ${n}`, t1, now());
    log(`converged with ${n} after ${((now() - t1) / 1000).toFixed(1)} s`);
    await sleep(2000);
    let a = now();
    await sleep(idle * 1000);
    mark(`idle at ${n}`, a, now());
    if (phases.includes('crash')) {
      a = now();
      const ms = await kills(d, watch, n, arg('kills', 10));
      mark(`${ms.length} kills at ${n}`, a, now());
      log(`kill → new pid (ms): ${ms.map((x) => x.toFixed(1)).join(' ')}`);
    }
    if (phases.includes('edit')) {
      a = now();
      const e = await edits(d, watch, n, arg('edits', 5));
      mark(`edits at ${n}`, a, now());
      log(`edit → new replica (ms): ${e.latencyMs.map((x) => x.toFixed(1)).join(' ')}`);
    }
    if (process.argv.includes('--no-probes')) return;
    const sink = await startTcpSink();
    try {
      const base = await sink.accepted();
      await d.setProbe(sink.port);
      await waitFor('probed', async () => (await sink.accepted()) - base >= n && (await d.status())?.converged === true, { intervalMs: 50, timeoutMs: 120_000 });
      await sleep(2000);
      a = now();
      await sleep(idle * 1000);
      mark(`idle at ${n} with a 1 s tcp probe each`, a, now());
    } finally {
      sink.close();
    }
  });
  if (phases.includes('scale')) await profiled('scale', async (d, mark) => {
    const watch = new ReplicaWatch(() => d.supervisorPid(), 'sleep', undefined, () => d.replicaParents?.() ?? []);
    await waitFor('api', () => d.status(), { intervalMs: 20, timeoutMs: 60_000 });
    await d.scale(scaleN);
    await waitFor('running', () => watch.count() === scaleN, { intervalMs: 10, timeoutMs: 300_000 });
    await waitFor('converged', async () => (await d.status())?.converged === true, { intervalMs: 20, timeoutMs: 300_000 });
    await sleep(1000);
    const a = now();
    await d.scale(2 * scaleN);
    await waitFor('running', () => watch.count() === 2 * scaleN, { intervalMs: 10, timeoutMs: 300_000 });
    mark(`scale ${scaleN} → ${2 * scaleN}`, a, now());
    log(`scaled to ${2 * scaleN} in ${((now() - a) / 1000).toFixed(1)} s`);
  });
} finally {
  await registry.killAndWait().catch(() => undefined);
  if (!keep) rmSync(tmp, { recursive: true, force: true });
}
process.exit(0);
