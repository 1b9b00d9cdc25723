// The SSE backlog bound in isolation: the real API server in this process, its events from a real
// EventLog, N clients on the real socket that never read, and E events emitted as fast as the loop
// allows. Prints this process's peak RSS (before the bound, every client buffered every event).
//   node --import tsx bench/sse-backpressure-inproc.ts [CLIENTS=100] [EVENTS=20000]

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startApiServer } from '../src/api/server.js';
import type { ControlPlane } from '../src/api/types.js';
import { EventLog } from '../src/events.js';

const clients = Number(process.argv[2] ?? 100);
const total = Number(process.argv[3] ?? 20_000);
const rss = () => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1]) / 1024;

const dir = mkdtempSync(join(tmpdir(), 'tend-ssein-'));
const socket = join(dir, 's.sock');
const events = new EventLog({ keep: 100 });
const store = events as unknown as { history?: EventLog['history']; recent: EventLog['recent'] };
const none = () => {
  throw new Error('not used');
};
const control = {
  status: () => ({ services: [], errors: [], converged: true, source: '/', pid: 1 }),
  restart: none,
  pause: none,
  resume: none,
  kill: none,
  plan: none,
  reload: none,
  shutdown: none,
  logFiles: none,
  recentEvents: (limit: number, since?: number) => (store.history ? store.history(limit, since) : store.recent(limit)),
  subscribe: (l: Parameters<ControlPlane['subscribe']>[0]) => events.subscribe(l),
  metrics: async () => '',
} as unknown as ControlPlane;
const server = await startApiServer(socket, control, { warn: () => {} });
const sockets: Socket[] = [];
for (let i = 0; i < clients; i++) {
  const s = connect(socket);
  s.on('error', () => {});
  s.write('GET /v1/events?tail=0 HTTP/1.1\r\nhost: tend\r\n\r\n');
  s.pause();
  sockets.push(s);
}
await new Promise((r) => setTimeout(r, 500));
const before = rss();
let peak = before;
const detail = 'crash loop: exited with code 1 after 12 ms; restarting in 10 ms '.repeat(3);
for (let i = 0; i < total; i++) {
  (events as unknown as LooseEvents).emit({ type: 'replica.exited', service: 'crash', replica: i % 20, exit_code: 1, detail });
  if (i % 200 === 0) {
    await new Promise((r) => setImmediate(r));
    peak = Math.max(peak, rss());
  }
}
await new Promise((r) => setTimeout(r, 500));
peak = Math.max(peak, rss());
process.stdout.write(JSON.stringify({ clients, events: total, rss_before_mib: +before.toFixed(1), rss_peak_mib: +peak.toFixed(1) }) + '\n');
for (const s of sockets) s.destroy();
await server.close();
rmSync(dir, { recursive: true, force: true });

/** Tests and benches send hand-written events of any shape. */
type LooseEvents = { emit(e: object): import("../src/reconcile/events.js").TendEvent };
