// How responsive the event loop stays while the loader reads a big spec directory (issue 12:
// `status` must answer within 200 ms during any load). A local HTTP server on 127.0.0.1 (port 0)
// stands in for the control API; a client asks it every 20 ms during the load and records each
// answer's latency; perf_hooks' event-loop delay histogram records the longest stall.
//   node --import tsx bench/load-responsiveness.ts [--files=5000] [--loader=PATH/TO/load.ts]
// --loader compares another copy of src/spec/load.ts (e.g. an older checkout).

import { createServer, request } from 'node:http';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const arg = (name: string, fallback: string): string => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback;
const files = Number(arg('files', '5000'));
const loaderPath = resolve(arg('loader', 'src/spec/load.ts'));
const { loadDirectory } = (await import(pathToFileURL(loaderPath).href)) as typeof import('../src/spec/load.js');

const dir = mkdtempSync(join(tmpdir(), 'tend-load-bench-'));
for (let i = 0; i < files; i++) {
  writeFileSync(join(dir, `s${i}.yaml`), `command: [node, server.js, "${i}"]\nreplicas: 2\nports: { PORT: ${10000 + i * 2} }\nenv: { A: "1", URL: "http://127.0.0.1:\${PORT}/" }\nreadiness: { http: { url: "http://127.0.0.1:\${PORT}/healthz" } }\nrestart: on-failure\n`);
}
const server = createServer((_, res) => res.end('ok'));
await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
const port = (server.address() as { port: number }).port;
const ask = (): Promise<number> =>
  new Promise((res, rej) => {
    const t0 = performance.now();
    request({ host: '127.0.0.1', port, path: '/status', agent: false }, (r) => {
      r.resume();
      r.on('end', () => res(performance.now() - t0));
    })
      .on('error', rej)
      .end();
  });

const latencies: number[] = [];
let loading = true;
const client = (async () => {
  while (loading) {
    latencies.push(await ask());
    await new Promise((r) => setTimeout(r, 20));
  }
})();
const h = monitorEventLoopDelay({ resolution: 5 });
h.enable();
const t0 = performance.now();
const result = await loadDirectory(dir);
const loadMs = performance.now() - t0;
h.disable();
loading = false;
await client;
server.close();
rmSync(dir, { recursive: true, force: true });
latencies.sort((a, b) => a - b);
console.log(
  JSON.stringify(
    {
      loader: loaderPath,
      files,
      services: result.services.length,
      problems: result.problems.length,
      loadMs: Math.round(loadMs),
      requestsAnswered: latencies.length,
      requestMedianMs: Math.round(latencies[Math.floor(latencies.length / 2)] ?? 0),
      requestMaxMs: Math.round(latencies.at(-1) ?? 0),
      eventLoopDelayMaxMs: Math.round(h.max / 1e6),
      eventLoopDelayP99Ms: Math.round(h.percentile(99) / 1e6),
    },
    null,
    2,
  ),
);
