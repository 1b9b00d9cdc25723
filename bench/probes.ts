// What probing costs the daemon: n ProbeRunners, each with a tcp probe every second against a
// loopback server, and the CPU this process uses meanwhile, as a percentage of one core.
// The server runs in a child process so that only the probing side (what tend itself does) is
// measured. Standalone: node --import tsx bench/probes.ts [n] [seconds]

import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { pathToFileURL } from 'node:url';
import { ProbeRunner } from '../src/health/probe-runner.js';
import type { ProbeSpec } from '../src/spec/types.js';

const INTERVAL_MS = 1000;
const WARMUP_MS = 2000;

// Accepts connections on 127.0.0.1 (a deep backlog, since a thousand probes a second may arrive
// together), counts them, and like a real service leaves the closing to the client (so the
// TIME_WAIT sockets are on the probing side, as they will be in production). Prints its port;
// answers any IPC message with the count.
const SERVER = `
let accepted = 0;
const server = require('node:net').createServer((s) => { accepted++; s.on('error', () => {}); s.resume(); });
server.listen({ host: '127.0.0.1', port: 0, backlog: 4096 }, () => console.log(server.address().port));
process.on('message', () => process.send(accepted));
`;

// Runs the bench and returns the CPU figure and the probe rate actually achieved.
export async function benchProbes(
  opts: { n?: number; seconds?: number } = {},
): Promise<{ name: string; cpuPercent: number; userPercent: number; probesPerSecond: number }> {
  const n = opts.n ?? 1000;
  const seconds = opts.seconds ?? 20;
  const server = spawn(process.execPath, ['-e', SERVER], { stdio: ['ignore', 'pipe', 'inherit', 'ipc'] });
  const accepted = (): Promise<number> =>
    new Promise((resolve) => {
      server.once('message', (count) => resolve(Number(count)));
      server.send('count');
    });
  const runners: ProbeRunner[] = [];
  try {
    const port = await firstLine(server.stdout);
    const spec: ProbeSpec = {
      check: { kind: 'tcp', host: '127.0.0.1', port },
      intervalMs: INTERVAL_MS,
      timeoutMs: 1000,
      failureThreshold: 3,
      successThreshold: 1,
      startPeriodMs: 0,
    };
    const ctx = { cwd: process.cwd(), env: {} };
    // Replicas do not all start in the same millisecond; spread them over one interval.
    for (let i = 0; i < n; i++) {
      const runner = new ProbeRunner(spec, ctx, () => {});
      runners.push(runner);
      setTimeout(() => runner.start(Date.now()), (i * INTERVAL_MS) / n);
    }
    await sleep(WARMUP_MS);
    const probesBefore = await accepted();
    const cpuBefore = process.cpuUsage();
    const t0 = performance.now();
    await sleep(seconds * 1000);
    const cpu = process.cpuUsage(cpuBefore);
    const elapsedMs = performance.now() - t0;
    const probes = (await accepted()) - probesBefore;
    const failing = runners.filter((r) => r.state.status !== 'success').length;
    if (failing > 0) throw new Error(`${failing} of ${n} probes were not healthy at the end`);
    return {
      name: `probes: ${n} tcp probes every ${INTERVAL_MS / 1000} s`,
      cpuPercent: round(((cpu.user + cpu.system) / 1000 / elapsedMs) * 100),
      userPercent: round((cpu.user / 1000 / elapsedMs) * 100),
      probesPerSecond: round((probes * 1000) / elapsedMs),
    };
  } finally {
    for (const r of runners) r.stop();
    server.kill('SIGKILL');
  }
}

async function firstLine(stream: Readable | null): Promise<string> {
  if (stream === null) throw new Error('the bench server has no stdout');
  for await (const line of createInterface({ input: stream })) return line;
  throw new Error('the bench server exited before printing its port');
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function round(x: number): number {
  return Math.round(x * 10) / 10;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [n, seconds] = process.argv.slice(2).map(Number);
  const result = await benchProbes({ n: n || undefined, seconds: seconds || undefined });
  console.log(JSON.stringify(result));
}
