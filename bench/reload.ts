// What a reload costs when one file of a large services.d changed: the daemon's DirectorySource
// (which keeps what each file yielded, spec/load.ts FileCache) against the same load without it
// (every file read, parsed and validated again), alternating, in one run.
//
//   node --import tsx bench/reload.ts [--files=200] [--rounds=10]

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadDirectory } from '../src/spec/load.js';
import { DirectorySource } from '../src/spec/source.js';
import { summarize } from './lib/stats.js';
import { renderTable } from './lib/table.js';

const arg = (k: string, d: number) => Number(process.argv.find((a) => a.startsWith(`--${k}=`))?.split('=')[1] ?? d);
const files = arg('files', 200);
const rounds = arg('rounds', 10);

const dir = mkdtempSync(join(tmpdir(), 'tend-reload-'));
// A service as people write them: an env, a readiness probe, labels.
const body = (i: number, version: number) =>
  `command: ["sleep", "1000"]\nreplicas: 2\nenv:\n  PORT: "${8000 + i}"\n  VERSION: "${version}"\n` +
  `readiness:\n  http: { url: "http://127.0.0.1:${8000 + i}/healthz" }\n  interval: 5s\nrestart: always\nlabels: { team: web }\n`;
try {
  for (let i = 0; i < files; i++) writeFileSync(join(dir, `svc${i}.yaml`), body(i, 1));
  const source = new DirectorySource(dir);
  let previous = await source.load();
  const cached: number[] = [];
  const uncached: number[] = [];
  for (let r = 0; r < rounds; r++) {
    writeFileSync(join(dir, `svc${r % files}.yaml`), body(r % files, r + 2));
    let t = performance.now();
    previous = await source.load(previous);
    cached.push(performance.now() - t);
    t = performance.now();
    await loadDirectory(dir, { previous });
    uncached.push(performance.now() - t);
  }
  const fmt = (xs: number[]) => `${summarize(xs).median.toFixed(1)} (${summarize(xs).min.toFixed(1)}–${summarize(xs).max.toFixed(1)})`;
  process.stdout.write(`\nreload of ${files} files with one edited, ms (median and min–max of ${rounds}, alternating):\n`);
  process.stdout.write(renderTable(['load', 'ms'], [['without the file cache (baseline)', fmt(uncached)], ['DirectorySource (file cache)', fmt(cached)]]) + '\n');
} finally {
  rmSync(dir, { recursive: true, force: true });
}
