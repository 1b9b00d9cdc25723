// Where the time of an edit goes at N replicas: `replicas: N+1` written to the spec file → the
// daemon's spec.loaded → replica.starting → replica.started of the new replica, each as received
// on the event stream (so each includes the stream's delivery, the same for every step).
//
//   node --import tsx bench/edit-timeline.ts [--n=5000] [--edits=5] [--tend=build|dist]

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TendEvent } from '../src/api/types.js';
import { TendDriver, pickLauncher } from './lib/drivers/tend.js';
import { ReplicaWatch, installExitCleanup, registry } from './lib/procs.js';
import { now, sleep, waitFor } from './lib/timers.js';

const arg = (k: string, d: number) => Number(process.argv.find((a) => a.startsWith(`--${k}=`))?.split('=')[1] ?? d);
const n = arg('n', 5000);
const count = arg('edits', 5);
const log = (s: string) => process.stderr.write(`${s}\n`);

installExitCleanup();
const tmp = mkdtempSync(join(tmpdir(), 'tend-edit-timeline-'));
const wanted = process.argv.find((a) => a.startsWith('--tend='))?.slice(7);
const d = new TendDriver(join(tmp, 'tend'), pickLauncher(wanted, join(tmp, 'build'), log));
const seen: { at: number; e: TendEvent }[] = [];
try {
  await d.launch({ replicas: n });
  const watch = new ReplicaWatch(() => d.supervisorPid(), 'sleep', undefined, () => d.replicaParents?.() ?? []);
  await waitFor('running', () => watch.count() === n, { intervalMs: 50, timeoutMs: 600_000 });
  await waitFor('converged', async () => (await d.status())?.converged === true, { intervalMs: 200, timeoutMs: 600_000 });
  const ac = new AbortController();
  void (async () => {
    try {
      for await (const e of d.client.events({ tail: 0, signal: ac.signal })) seen.push({ at: now(), e });
    } catch {
      /* the daemon went away */
    }
  })();
  await sleep(1000);
  const rows: number[][] = [];
  for (let k = 1; k <= count; k++) {
    const target = n + k;
    const from = seen.length;
    const t0 = now();
    await d.scale(target);
    const when = (type: string) => seen.slice(from).find((s) => s.e.type === type && (type === 'spec.loaded' || (s.e.service === 'bench' && s.e.replica === target - 1)))?.at;
    await waitFor(`replica ${target - 1} started`, () => when('replica.started') !== undefined, { intervalMs: 2, timeoutMs: 30_000 });
    rows.push([when('spec.loaded')! - t0, when('replica.starting')! - t0, when('replica.started')! - t0]);
    await sleep(700);
  }
  ac.abort();
  process.stdout.write(`edit at ${n} replicas (ms from the write): spec.loaded / replica.starting / replica.started\n`);
  for (const r of rows) process.stdout.write(`  ${r.map((x) => x.toFixed(1).padStart(7)).join(' ')}\n`);
  await d.stopAll();
  await d.exited();
} finally {
  await d.cleanup();
  await registry.killAndWait().catch(() => undefined);
  rmSync(tmp, { recursive: true, force: true });
}
process.exit(0);
