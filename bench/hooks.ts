// Hooks under a crash burst (issue 15): N replicas are SIGKILLed at once and restarted, in rounds
// that alternate between no hooks and a command hook plus a webhook on every exit (daemon-wide, in
// tend.yaml, which applies live). Per round: crash→restart latency of each replica (from the kill,
// and from tend's replica.exited, to its replica.started), and for hook rounds whether every hook
// run ended (ok, or reported failed or dropped). A benchmark, not a test.
//
//   npm run build && node --import tsx bench/hooks.ts [replicas=1000] [rounds=3]

import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, readSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { ApiClient } from '../src/api/client.js';
import type { StatusReport, TendEvent } from '../src/api/types.js';
import { SOCKET_NAME } from '../src/state/pid-file.js';

const ROOT = resolve(import.meta.dirname, '..');
const N = Number(process.argv[2] ?? 1000);
const ROUNDS = Number(process.argv[3] ?? 3);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// A webhook receiver in its own process (so it costs neither tend nor the bench's clock): counts
// requests, answers 200; prints its port; answers an IPC message with the count.
const RECEIVER = `
let n = 0;
const s = require('node:http').createServer((req, res) => { req.resume(); req.on('end', () => { n++; res.end('ok'); }); });
s.listen({ host: '127.0.0.1', port: 0, backlog: 4096 }, () => console.log(s.address().port));
process.on('message', () => process.send(n));
`;

async function until<T>(what: string, check: () => Promise<T | undefined> | T | undefined, timeoutMs = 180_000, everyMs = 50): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(everyMs);
  }
}

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
}

function metric(text: string, re: RegExp): number {
  let sum = 0;
  for (const line of text.split('\n')) if (re.test(line)) sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  return sum;
}

function readFrom(path: string, offset: number): string {
  const size = statSync(path).size;
  const buf = Buffer.alloc(size - offset);
  const fd = openSync(path, 'r');
  try {
    readSync(fd, buf, 0, buf.length, offset);
  } finally {
    closeSync(fd);
  }
  return buf.toString('utf8');
}

interface Round {
  hooks: boolean;
  fromKill: number[];
  fromExit: number[];
  spanMs: number;
  hookRuns?: { expected: number; ok: number; failed: number; dropped: number; commandLines: number; webhooks: number; drainMs: number };
}

async function main(): Promise<void> {
  const entry = join(ROOT, 'dist/bin/tend.js');
  if (!existsSync(entry)) throw new Error('run npm run build first');
  const root = mkdtempSync(join(tmpdir(), 'tend-hooks-bench-'));
  const dir = join(root, 'services.d');
  const state = join(root, 'state');
  mkdirSync(dir);
  writeFileSync(join(dir, 'crash.yaml'), `command: ["sleep", "100000"]\nreplicas: ${N}\nbackoff: { initial: 10ms, max: 20ms, reset_after: 1s }\nmax_restarts: 0\nstop_timeout: 2s\n`);
  const config = join(root, 'tend.yaml');
  writeFileSync(config, '# no hooks\n');
  const lines = join(root, 'command-hook.lines');

  const receiver = spawn(process.execPath, ['-e', RECEIVER], { stdio: ['ignore', 'pipe', 'inherit', 'ipc'] });
  const port = await new Promise<number>((r) => createInterface({ input: receiver.stdout! }).once('line', (l) => r(Number(l))));
  const received = () => new Promise<number>((r) => {
    receiver.once('message', (m) => r(Number(m)));
    receiver.send('count');
  });

  const log = openSync(join(root, 'daemon.log'), 'a');
  const daemon: ChildProcess = spawn(process.execPath, [entry, '--state-dir', state, 'up', dir], { cwd: root, stdio: ['ignore', log, log], env: { ...process.env, TEND_LOG_LEVEL: 'warn' } });
  closeSync(log);
  const api = new ApiClient(join(state, SOCKET_NAME));
  const rounds: Round[] = [];
  try {
    const t0 = Date.now();
    await until('daemon converged', async () => {
      const s = await api.status().catch(() => undefined);
      return s?.converged && s.services[0]?.ready === N ? s : undefined;
    }, 300_000, 200);
    console.log(`${N} replicas converged in ${((Date.now() - t0) / 1000).toFixed(1)} s; ${ROUNDS} rounds each, alternating`);

    for (let r = 0; r < 2 * ROUNDS; r++) {
      const hooks = r % 2 === 1;
      writeFileSync(config, hooks
        ? `hooks: { concurrency: 8, queue_size: ${4 * N} }\non:\n  exited:\n    - command: ["sh", "-c", "echo x >> ${lines}"]\n    - url: "http://127.0.0.1:${port}/tend"\n`
        : '# no hooks\n');
      await sleep(3000); // tend.yaml is polled every second; then let the machine settle
      const before: StatusReport = await api.status();
      const metricsBefore = await api.metrics();
      const linesBefore = existsSync(lines) ? readFileSync(lines, 'utf8').length / 2 : 0;
      const webhooksBefore = await received();
      const oldPids = new Set(before.services[0]!.replicas.map((x) => x.pid!));
      const events = join(state, 'events.jsonl');
      const offset = statSync(events).size;

      const kill = Date.now();
      for (const pid of oldPids) {
        try {
          process.kill(-pid, 'SIGKILL');
        } catch {
          /* gone */
        }
      }
      await until('all restarted', async () => {
        const s = await api.status().catch(() => undefined);
        const reps = s?.services[0]?.replicas ?? [];
        return reps.length === N && reps.every((x) => x.state === 'running' && x.pid !== null && !oldPids.has(x.pid)) ? s : undefined;
      });
      // events.jsonl is written behind: wait for every start to be on disk.
      const evs = await until('events on disk', () => {
        const list = readFrom(events, offset).split('\n').filter(Boolean).map((l) => JSON.parse(l) as TendEvent);
        return list.filter((e) => e.type === 'replica.started').length >= N ? list : undefined;
      });
      const exited = new Map<number, number>();
      const started = new Map<number, number>();
      for (const e of evs) {
        if (e.type === 'replica.exited' && !exited.has(e.replica!)) exited.set(e.replica!, Date.parse(e.ts));
        if (e.type === 'replica.started' && !started.has(e.replica!)) started.set(e.replica!, Date.parse(e.ts));
      }
      const fromKill = [...started.values()].map((t) => t - kill);
      const fromExit = [...started].map(([i, t]) => t - (exited.get(i) ?? t));
      const round: Round = { hooks, fromKill, fromExit, spanMs: Math.max(...started.values()) - kill };
      if (hooks) {
        const expected = 2 * N;
        const drain = Date.now();
        const m = await until('every hook run ended', async () => {
          const text = await api.metrics();
          const ended = metric(text, /^tend_hook_runs_total\{/) + metric(text, /^tend_hook_dropped_total /) - metric(metricsBefore, /^tend_hook_runs_total\{/) - metric(metricsBefore, /^tend_hook_dropped_total /);
          return ended >= expected ? text : undefined;
        }, 1_800_000, 500);
        const delta = (re: RegExp) => metric(m, re) - metric(metricsBefore, re);
        round.hookRuns = {
          expected,
          ok: delta(/^tend_hook_runs_total\{.*result="ok"/),
          failed: delta(/^tend_hook_runs_total\{.*result="failed"/),
          dropped: delta(/^tend_hook_dropped_total /),
          commandLines: readFileSync(lines, 'utf8').length / 2 - linesBefore,
          webhooks: (await received()) - webhooksBefore,
          drainMs: Date.now() - drain + (drain - kill),
        };
      }
      rounds.push(round);
      const h = round.hookRuns;
      console.log(
        `${hooks ? 'hooks   ' : 'no hooks'}  kill→started median ${pct(fromKill, 50)} ms, p95 ${pct(fromKill, 95)} ms, max ${Math.max(...fromKill)} ms | exited→started median ${pct(fromExit, 50)} ms, p95 ${pct(fromExit, 95)} ms` +
          (h ? ` | hook runs ${h.ok} ok + ${h.failed} failed + ${h.dropped} dropped of ${h.expected} (command wrote ${h.commandLines}, receiver got ${h.webhooks}), all ended ${(h.drainMs / 1000).toFixed(1)} s after the kill` : ''),
      );
      await sleep(1500); // back-off resets after a 1 s run
    }

    const of = (hooks: boolean, f: (r: Round) => number[]) => rounds.filter((r) => r.hooks === hooks).flatMap(f);
    const summary = (hooks: boolean) => ({ killMedian: pct(of(hooks, (r) => r.fromKill), 50), killP95: pct(of(hooks, (r) => r.fromKill), 95), exitMedian: pct(of(hooks, (r) => r.fromExit), 50), exitP95: pct(of(hooks, (r) => r.fromExit), 95) });
    const a = summary(false);
    const b = summary(true);
    const ratio = (x: number, y: number) => `${((y / x - 1) * 100).toFixed(1)}%`;
    console.log(`\nall rounds, ${N} replicas × ${ROUNDS} bursts each:`);
    console.log(`  kill→started   median ${a.killMedian} → ${b.killMedian} ms (${ratio(a.killMedian, b.killMedian)}), p95 ${a.killP95} → ${b.killP95} ms (${ratio(a.killP95, b.killP95)})`);
    console.log(`  exited→started median ${a.exitMedian} → ${b.exitMedian} ms (${ratio(a.exitMedian, b.exitMedian)}), p95 ${a.exitP95} → ${b.exitP95} ms (${ratio(a.exitP95, b.exitP95)})`);
    const complete = rounds.filter((r) => r.hookRuns).every((r) => r.hookRuns!.ok + r.hookRuns!.failed + r.hookRuns!.dropped === r.hookRuns!.expected);
    console.log(`  every hook run ended or was reported: ${complete ? 'yes' : 'NO'}`);
    writeFileSync(join(ROOT, 'bench/results/hooks-latest.json'), JSON.stringify({ n: N, rounds, summary: { noHooks: a, hooks: b }, complete }, null, 1) + '\n');
  } finally {
    await api.shutdown().catch(() => undefined);
    await until('daemon exited', () => (daemon.exitCode !== null || daemon.signalCode !== null ? true : undefined), 120_000).catch(() => daemon.kill('SIGKILL'));
    receiver.kill();
    rmSync(root, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
