// Measures the daemon's RSS with N SSE clients that never read, during a crash loop (issue 12:
// 100 such clients took the daemon from 119 to 764 MiB in 40 s). Not a test: it prints figures.
//   node --import tsx bench/sse-backpressure.ts [CLIENTS=100] [SECONDS=40] [REPLICAS=20]

import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ApiClient } from '../src/api/client.js';

const clients = Number(process.argv[2] ?? 100);
const seconds = Number(process.argv[3] ?? 40);
const replicas = Number(process.argv[4] ?? 20);
const ROOT = resolve(import.meta.dirname, '..');

function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

const root = mkdtempSync(join(tmpdir(), 'tend-ssebench-'));
const dir = join(root, 'services.d');
const state = join(root, 'state');
mkdirSync(dir);
mkdirSync(state);
// A crash loop: every replica exits 1 at once and is restarted after a short back-off, each cycle
// emitting exited/restarting/started events with a long reason.
writeFileSync(
  join(dir, 'crash.yaml'),
  `command: ["sh", "-c", "exit 1"]\nreplicas: ${replicas}\nbackoff: { initial: 10ms, max: 20ms }\nmax_restarts: 0\n`,
);
const daemon = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'test', 'fixtures', 'run-daemon.ts'), dir, state], {
  cwd: ROOT,
  stdio: ['ignore', 'ignore', 'ignore'],
});
const api = new ApiClient(join(state, 'tend.sock'), { timeoutMs: 60_000 });
const sockets: Socket[] = [];
try {
  for (let i = 0; ; i++) {
    try {
      await api.status();
      break;
    } catch {
      if (i > 300) throw new Error('daemon did not start');
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  const before = rssMiB(daemon.pid!);
  for (let i = 0; i < clients; i++) {
    const s = connect(join(state, 'tend.sock'));
    s.write('GET /v1/events HTTP/1.1\r\nhost: tend\r\n\r\n');
    s.pause(); // never reads
    s.on('error', () => {});
    sockets.push(s);
  }
  let peak = before;
  let events0 = 0;
  const first = await api.eventHistory(1);
  events0 = first[0]?.id ?? 0;
  for (let t = 0; t < seconds; t++) {
    await new Promise((r) => setTimeout(r, 1000));
    peak = Math.max(peak, rssMiB(daemon.pid!));
  }
  const last = await api.eventHistory(1);
  const after = rssMiB(daemon.pid!);
  // Which clients the daemon cut off: read what they hold now and see which connections end.
  let closed = 0;
  for (const s of sockets) {
    s.on('close', () => closed++);
    s.resume();
  }
  await new Promise((r) => setTimeout(r, 3000));
  process.stdout.write(
    JSON.stringify({ clients, seconds, replicas, events: (last[0]?.id ?? 0) - events0, rss_before_mib: +before.toFixed(1), rss_peak_mib: +peak.toFixed(1), rss_end_mib: +after.toFixed(1), clients_disconnected: closed }) + '\n',
  );
} finally {
  for (const s of sockets) s.destroy();
  try {
    await api.shutdown();
  } catch {
    daemon.kill('SIGKILL');
  }
  await new Promise((r) => daemon.once('exit', r));
  rmSync(root, { recursive: true, force: true });
}
