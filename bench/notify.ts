// `npm run bench:notify [-- --replicas=1000 --seconds=30 --ready=50]`: the notify hub under load
// (issue 14). Not a test: it prints figures and writes them to bench/results/notify-latest.json.
//
// 1. Heartbeats: a hub process (the daemon's NotifyHub, watchdogs armed) with N registered
//    replicas; a load process holds N stream connections (tend's protocol) and sends one heartbeat
//    per connection per second, spread over the second. Then the same with N `notify: systemd`
//    replicas and WATCHDOG=1 datagrams (the datagram helper's CPU and RSS are counted too).
//    Measured: CPU of the hub process (and helper) over the window, RSS growth from the first
//    second under load to the end.
// 2. READY → replica.ready: a real Supervisor with `readiness: { notify: true }` replicas (sleep
//    processes); this process says READY for each one in turn (stream and datagram) and times the
//    replica.ready event.
// Every process started is killed by pid (or group) at the end.

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { Supervisor } from '../src/supervisor.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const arg = (name: string, dflt: number) => Number(process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? dflt);
const N = arg('replicas', 1000);
const SECONDS = arg('seconds', 30);
const READY_N = arg('ready', 50);
const CLK_TCK = 100;

function usage(pid: number): { ticks: number; rss: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const rssPages = Number(readFileSync(`/proc/${pid}/statm`, 'utf8').split(' ')[1]);
  return { ticks: Number(f[11]) + Number(f[12]), rss: rssPages * 4096 };
}

function children(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A child that runs a script under tsx and says its first stdout line (JSON) when ready. */
function runScript(script: string, args: string[]): Promise<{ child: ChildProcess; first: Record<string, unknown> }> {
  const child = spawn(process.execPath, ['--import', 'tsx', '-e', script, ...args], { cwd: ROOT, stdio: ['pipe', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let buf = '';
    child.stdout!.on('data', (d) => {
      buf += d;
      const nl = buf.indexOf('\n');
      if (nl !== -1) resolve({ child, first: JSON.parse(buf.slice(0, nl)) });
    });
    child.on('exit', (code) => reject(new Error(`script exited ${code}`)));
  });
}

// The hub process: N registrations, prints their env as one JSON line, then stays up.
const HUB_SCRIPT = `
import { NotifyHub } from './src/notify/hub.ts';
const [dir, n, systemd] = process.argv.slice(1);
const hub = new NotifyHub({ dir, onMessage: () => {}, onTimeout: () => {} });
await hub.start();
const envs = [];
for (let i = 0; i < Number(n); i++) envs.push(hub.register({ id: 'r/' + i, service: 'r', index: i, token: NotifyHub.newToken(), systemd: systemd === '1', watchdogMs: 5000 }));
await Promise.all(envs.map((_, i) => hub.bound('r/' + i)));
console.log(JSON.stringify({ envs: envs.map((e) => ({ s: e.TEND_NOTIFY_SOCKET, t: e.TEND_NOTIFY_TOKEN, d: e.NOTIFY_SOCKET })) }));
setInterval(() => { const c = hub.counters(); process.stderr.write(''); void c; }, 60000);
`;

// The load: one heartbeat per replica per second, spread evenly.
const LOAD_SCRIPT = `
import { connect } from 'node:net';
import { createRequire } from 'node:module';
const envs = JSON.parse(process.argv[1]);
const mode = process.argv[2];
const socks = [];
if (mode === 'stream') {
  for (const e of envs) {
    const s = connect(e.s);
    s.on('error', () => {});
    s.on('data', () => {});
    s.write(JSON.stringify({ type: 'hello', token: e.t }) + '\\n');
    socks.push(s);
  }
} else {
  const unix = createRequire(process.cwd() + '/package.json')('unix-dgram');
  const sock = unix.createSocket('unix_dgram');
  sock.on('error', () => {});
  socks.push(sock);
}
console.log(JSON.stringify({ connected: envs.length }));
const line = JSON.stringify({ type: 'heartbeat' }) + '\\n';
const dgram = Buffer.from('WATCHDOG=1');
let i = 0;
const step = 1000 / envs.length;
let next = performance.now();
function tick() {
  const now = performance.now();
  while (next <= now) {
    const k = i++ % envs.length;
    if (mode === 'stream') socks[k].write(line);
    else socks[0].send(dgram, 0, dgram.length, envs[k].d);
    next += step;
  }
  setTimeout(tick, 5);
}
tick();
`;

async function heartbeatBench(mode: 'stream' | 'datagram'): Promise<Record<string, number>> {
  const dir = mkdtempSync(join(tmpdir(), 'tnb-'));
  const hub = await runScript(HUB_SCRIPT, [join(dir, 'n'), String(N), mode === 'datagram' ? '1' : '0']);
  const envs = (hub.first as { envs: unknown[] }).envs;
  const load = await runScript(LOAD_SCRIPT, [JSON.stringify(envs), mode]);
  const pids = () => [hub.child.pid!, ...children(hub.child.pid!)];
  try {
    await sleep(2000); // let connections settle before the window opens
    const start = pids().map(usage);
    const t0 = performance.now();
    await sleep(SECONDS * 1000);
    const end = pids().map(usage);
    const secs = (performance.now() - t0) / 1000;
    const cpu = (a: { ticks: number }, b: { ticks: number }) => ((b.ticks - a.ticks) / CLK_TCK / secs) * 100;
    const out: Record<string, number> = {
      hub_cpu_percent: round(cpu(start[0]!, end[0]!)),
      hub_rss_start_mib: round(start[0]!.rss / 2 ** 20),
      hub_rss_growth_mib: round((end[0]!.rss - start[0]!.rss) / 2 ** 20),
    };
    if (mode === 'datagram' && start[1] && end[1]) {
      out.helper_cpu_percent = round(cpu(start[1], end[1]));
      out.helper_rss_mib = round(end[1].rss / 2 ** 20);
      out.helper_rss_growth_mib = round((end[1].rss - start[1].rss) / 2 ** 20);
    }
    return out;
  } finally {
    load.child.kill('SIGKILL');
    for (const p of pids().reverse()) {
      try {
        process.kill(p, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    rmSync(dir, { recursive: true, force: true });
  }
}

async function readyLatency(mode: 'stream' | 'datagram'): Promise<Record<string, number>> {
  const root = mkdtempSync(join(tmpdir(), 'tnr-'));
  const dir = join(root, 'services.d');
  mkdirSync(dir);
  writeFileSync(
    join(dir, 'r.yaml'),
    `command: ["sleep", "1000"]\nreplicas: ${READY_N}\nreadiness: { notify: true, timeout: 10m }\nstop_timeout: 1s\n${mode === 'datagram' ? 'notify: systemd\n' : ''}`,
  );
  const sup = new Supervisor({ dir, stateDir: join(root, 'state'), log: pino({ level: 'silent' }), settleMs: 30, statsIntervalMs: 0 });
  const readyAt = new Map<number, number>();
  sup.events.subscribe((e) => {
    if (e.type === 'replica.ready' && e.replica !== undefined) readyAt.set(e.replica, performance.now());
  });
  await sup.start();
  const unix = createRequire(join(ROOT, 'package.json'))('unix-dgram') as {
    createSocket(type: 'unix_dgram'): { send(b: Buffer, o: number, l: number, p: string): void; on(e: 'error', cb: () => void): void; close(): void };
  };
  const sender = unix.createSocket('unix_dgram');
  sender.on('error', () => undefined);
  const latencies: number[] = [];
  try {
    const live = () => [...sup.controller.instances.values()].filter((i) => i.state === 'starting' && i.pid !== undefined && i.notify);
    while (live().length < READY_N) await sleep(50);
    for (const inst of live()) {
      const env = sup.notify.env(inst.id);
      const t0 = performance.now();
      if (mode === 'datagram') {
        sender.send(Buffer.from('READY=1'), 0, 7, env.NOTIFY_SOCKET!);
      } else {
        const s = connect(env.TEND_NOTIFY_SOCKET!);
        s.write(JSON.stringify({ type: 'hello', token: env.TEND_NOTIFY_TOKEN }) + '\n' + JSON.stringify({ type: 'ready' }) + '\n');
        s.on('error', () => undefined);
        setTimeout(() => s.destroy(), 1000).unref();
      }
      while (!readyAt.has(inst.index)) await sleep(0.2);
      latencies.push(readyAt.get(inst.index)! - t0);
    }
  } finally {
    sender.close();
    for (const i of sup.controller.instances.values()) {
      try {
        if (i.pgid) process.kill(-i.pgid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    sup.close();
    rmSync(root, { recursive: true, force: true });
  }
  latencies.sort((a, b) => a - b);
  return {
    ready_median_ms: round(latencies[Math.floor(latencies.length / 2)]!),
    ready_p90_ms: round(latencies[Math.floor(latencies.length * 0.9)]!),
    ready_max_ms: round(latencies[latencies.length - 1]!),
  };
}

function round(x: number): number {
  return Math.round(x * 100) / 100;
}

const results: Record<string, unknown> = { replicas: N, seconds: SECONDS, ready_samples: READY_N, loadavg_start: readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ') };
results.stream_heartbeats = await heartbeatBench('stream');
console.log('stream heartbeats', results.stream_heartbeats);
results.datagram_heartbeats = await heartbeatBench('datagram');
console.log('datagram heartbeats', results.datagram_heartbeats);
results.ready_stream = await readyLatency('stream');
console.log('READY → replica.ready (stream)', results.ready_stream);
results.ready_datagram = await readyLatency('datagram');
console.log('READY → replica.ready (datagram)', results.ready_datagram);
results.loadavg_end = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
mkdirSync(join(ROOT, 'bench', 'results'), { recursive: true });
writeFileSync(join(ROOT, 'bench', 'results', 'notify-latest.json'), JSON.stringify(results, null, 2) + '\n');
process.exit(0);
