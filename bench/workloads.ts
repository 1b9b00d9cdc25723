// The workloads of issue 7, each run against any Driver and measured from the outside: replicas are
// the supervisor's live children exec'd into `sleep` (ReplicaWatch over /proc), the supervisor's
// CPU and RSS come from /proc/<pid>/stat and status. Every workload cleans up in `finally`.

import { createReadStream, mkdirSync, mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Driver } from './lib/driver.js';
import { TendDriver } from './lib/drivers/tend.js';
import { BareDriver } from './lib/drivers/bare.js';
import { CLK_TCK, ReplicaWatch, alive, tailOf, usageOf, waitGone } from './lib/procs.js';
import { run } from './lib/spawn.js';
import { round } from './lib/stats.js';
import { startTcpSink } from './lib/tcp-sink.js';
import { now, sleep, waitFor } from './lib/timers.js';

export type MakeDriver = (tmp: string) => Driver;

export interface Env {
  tmpRoot: string;
  log: (line: string) => void;
}

function tmpFor(env: Env, name: string): string {
  return mkdtempSync(join(env.tmpRoot, `${name}-`));
}

/** Adds what the supervisor logged last to a workload's error. */
function withDiagnostics(err: unknown, d: Driver): Error {
  const msg = err instanceof Error ? err.message : String(err);
  const tail = d.diagnostics?.();
  return new Error(tail ? `${msg}\n    ${d.name} said: ${tail.replace(/\n/g, '\n    ')}` : msg);
}

/** Waits until the supervisor process exists (PM2 and supervisord daemonize: their pid comes from a file). */
async function supervisorUp(d: Driver): Promise<number> {
  return (await waitFor(`${d.name} supervisor process`, () => d.supervisorPid(), { intervalMs: 5, timeoutMs: 60_000 })).value;
}

async function untilCount(
  what: string,
  watch: ReplicaWatch,
  n: number,
  opts: { intervalMs?: number; timeoutMs?: number; extra?: (live: Map<number, number>) => boolean; onScan?: (live: Map<number, number>) => void } = {},
): Promise<number> {
  const { at } = await waitFor(
    what,
    () => {
      const live = watch.scan();
      opts.onScan?.(live);
      return live.size === n && (opts.extra ? opts.extra(live) : true);
    },
    { intervalMs: opts.intervalMs ?? 10, timeoutMs: opts.timeoutMs ?? 300_000 },
  );
  return at;
}

/** tend only: the daemon says it converged (every replica running and ready). */
async function tendConverged(d: Driver, timeoutMs = 300_000): Promise<number | undefined> {
  if (!(d instanceof TendDriver)) return undefined;
  const { at } = await waitFor('tend converged', async () => (await d.status())?.converged === true, { intervalMs: 20, timeoutMs });
  return at;
}

// ---- 1, 5, 6: cold start, stop all, idle ---------------------------------------------------

export interface ColdRun {
  /** ms from launching the supervisor to n live `sleep` children. */
  coldMs: number;
  /** ms from launching the supervisor to its first replica (start-up of the supervisor itself). */
  firstMs: number;
  /** tend: ms until its status said converged (what `up -d --wait` waits for). */
  convergedMs?: number;
  /** bare: its own in-process figure (spawn loop to the last 'spawn' event). */
  spawnLoopMs?: number;
  /** ms from the stop request to the last replica gone. */
  stopMs: number;
  /** ms from the stop request to the supervisor's exit. */
  stopExitMs: number;
  idle?: IdleFigures;
  /** tend: the same daemon after a 1 s tcp readiness probe was added to every replica. */
  idleProbes?: IdleFigures & { convergedMs: number; keptPids: boolean };
}

export interface IdleFigures {
  seconds: number;
  /** CPU of the supervisor process over the window, percent of one core. */
  cpuPercent: number;
  rssMiBMean: number;
  rssMiBMax: number;
  /** tend with probes: tcp connections the sink accepted per second. */
  probesPerSecond?: number;
  /** Replicas alive at the end of the window (should be n). */
  replicasAtEnd: number;
}

async function measureIdle(pid: number, seconds: number, watch: ReplicaWatch, probesAccepted?: () => Promise<number>): Promise<IdleFigures> {
  const before = usageOf(pid);
  const probes0 = probesAccepted ? await probesAccepted() : 0;
  const t0 = now();
  const rss: number[] = [];
  while (now() - t0 < seconds * 1000) {
    await sleep(1000);
    const u = usageOf(pid);
    if (u) rss.push(u.rssBytes);
  }
  const after = usageOf(pid);
  const elapsed = (now() - t0) / 1000;
  if (!before || !after) throw new Error('the supervisor died during the idle window');
  const probes1 = probesAccepted ? await probesAccepted() : 0;
  const mib = (b: number) => b / 1024 ** 2;
  return {
    seconds: round(elapsed, 1),
    cpuPercent: round(((after.cpuTicks - before.cpuTicks) / CLK_TCK / elapsed) * 100, 2),
    rssMiBMean: round(mib(rss.reduce((a, b) => a + b, 0) / rss.length), 1),
    rssMiBMax: round(mib(Math.max(...rss)), 1),
    ...(probesAccepted ? { probesPerSecond: round((probes1 - probes0) / elapsed, 0) } : {}),
    replicasAtEnd: watch.count(),
  };
}

/** One cold start of n replicas, then (optionally) an idle window, then stop all. */
export async function coldStart(
  env: Env,
  make: MakeDriver,
  n: number,
  opts: { idleSeconds?: number; probes?: boolean; nodeFlags?: string[] } = {},
): Promise<ColdRun> {
  const d = make(tmpFor(env, `cold-${n}`));
  const sink = opts.probes && d instanceof TendDriver ? await startTcpSink() : undefined;
  try {
    const watch = new ReplicaWatch(() => d.supervisorPid());
    const t0 = now();
    await d.launch({ replicas: n, ...(opts.nodeFlags ? { nodeFlags: opts.nodeFlags } : {}) });
    let atFirst: number | undefined;
    const atRunning = await untilCount(`${d.name}: ${n} replicas running`, watch, n, {
      intervalMs: 10,
      extra: () => true,
      onScan: (live) => {
        if (live.size > 0) atFirst ??= now();
      },
    });
    const atConverged = await tendConverged(d);
    const run: ColdRun = { coldMs: atRunning - t0, firstMs: (atFirst ?? atRunning) - t0, stopMs: NaN, stopExitMs: NaN };
    if (atConverged !== undefined) run.convergedMs = atConverged - t0;
    if (d instanceof BareDriver) {
      await waitFor('bare spawn report', () => d.spawnLoopMs !== undefined, { intervalMs: 10, timeoutMs: 10_000 }).catch(() => undefined);
      if (d.spawnLoopMs !== undefined) run.spawnLoopMs = d.spawnLoopMs;
    }
    if (opts.idleSeconds) {
      await sleep(2000); // let start-up garbage settle
      run.idle = await measureIdle(d.supervisorPid()!, opts.idleSeconds, watch);
      if (sink && d instanceof TendDriver) {
        // The same replicas, now each with a 1 s tcp readiness probe (a live change: no restarts).
        const before = watch.scan();
        const base = await sink.accepted();
        const t = now();
        await d.setProbe(sink.port);
        // Applied once every replica was probed at least once and the daemon says converged.
        await waitFor(
          'tend converged with probes',
          async () => (await sink.accepted()) - base >= n && (await d.status())?.converged === true,
          { intervalMs: 50, timeoutMs: 120_000 },
        );
        const convergedMs = now() - t;
        await sleep(2000);
        const idle = await measureIdle(d.supervisorPid()!, opts.idleSeconds, watch, sink.accepted);
        run.idleProbes = { ...idle, convergedMs, keptPids: [...before].every(([pid, st]) => alive(pid, st)) };
      }
    }
    const pids = watch.scan();
    const t1 = now();
    await d.stopAll();
    const gone = await waitGone(pids, { timeoutMs: 120_000 });
    run.stopMs = gone - t1;
    await d.exited();
    run.stopExitMs = now() - t1;
    return run;
  } catch (err) {
    throw withDiagnostics(err, d);
  } finally {
    sink?.close();
    await d.cleanup();
  }
}

// ---- 2: edit-to-running -------------------------------------------------------------------

export interface EditFigures {
  /** ms from the change (file write / CLI call) to the new replica running, per edit. */
  latencyMs: number[];
  /** tend: ms from the file write to the replica.started event on /v1/events. */
  eventMs?: number[];
  /** Edits after which every earlier replica still ran with its pid. */
  editsKeepingPids: number;
}

export async function editLatency(env: Env, make: MakeDriver, edits: number, base = 2): Promise<EditFigures> {
  const d = make(tmpFor(env, 'edit'));
  try {
    const watch = new ReplicaWatch(() => d.supervisorPid());
    await d.launch({ replicas: base });
    await supervisorUp(d);
    await untilCount(`${d.name}: ${base} replicas`, watch, base);
    await tendConverged(d);
    if (d instanceof TendDriver) await d.followEvents();
    await sleep(300);
    const latencyMs: number[] = [];
    const eventMs: number[] = [];
    let keeping = 0;
    for (let i = 1; i <= edits; i++) {
      const target = base + i;
      const before = watch.scan();
      const t0 = now();
      await d.scale(target);
      const at = await untilCount(`${d.name}: scaled to ${target}`, watch, target, {
        intervalMs: 2,
        timeoutMs: 30_000,
        extra: (live) => [...live.keys()].some((p) => !before.has(p)),
      });
      latencyMs.push(at - t0);
      if ([...before].every(([pid, st]) => alive(pid, st))) keeping++;
      if (d instanceof TendDriver) {
        await tendConverged(d, 10_000);
        const ev = d.started.get(`bench/${target - 1}`)?.at(-1);
        if (ev !== undefined && ev >= t0) eventMs.push(ev - t0);
      }
      await sleep(150 + Math.random() * 100); // let the watcher's settle window close between edits
    }
    return { latencyMs, ...(eventMs.length ? { eventMs } : {}), editsKeepingPids: keeping };
  } catch (err) {
    throw withDiagnostics(err, d);
  } finally {
    await d.cleanup();
  }
}

// ---- 3: crash-to-restart -------------------------------------------------------------------

export async function crashRestart(env: Env, make: MakeDriver, kills: number, replicas = 4): Promise<number[]> {
  const d = make(tmpFor(env, 'crash'));
  try {
    const watch = new ReplicaWatch(() => d.supervisorPid());
    await d.launch({ replicas });
    await supervisorUp(d);
    await untilCount(`${d.name}: ${replicas} replicas`, watch, replicas);
    await tendConverged(d);
    await sleep(300);
    const out: number[] = [];
    for (let k = 0; k < kills; k++) {
      const before = watch.scan();
      const victim = [...before.keys()][k % before.size]!;
      const t0 = now();
      process.kill(victim, 'SIGKILL');
      const at = await untilCount(`${d.name}: restart after kill ${k}`, watch, replicas, {
        intervalMs: 1,
        timeoutMs: 30_000,
        extra: (live) => !live.has(victim) && [...live.keys()].some((p) => !before.has(p)),
      });
      out.push(at - t0);
      await tendConverged(d, 10_000);
      await sleep(100 + Math.random() * 50);
    }
    return out;
  } catch (err) {
    throw withDiagnostics(err, d);
  } finally {
    await d.cleanup();
  }
}

// ---- 4: scale N → 2N → N ---------------------------------------------------------------------

export interface ScaleRun {
  upMs: number;
  downMs: number;
  /** Of the first N replicas, how many kept their pid through the scale-up, and through both. */
  keptAfterUp: number;
  keptAfterDown: number;
}

export async function scaleUpDown(env: Env, make: MakeDriver, n: number): Promise<ScaleRun> {
  const d = make(tmpFor(env, `scale-${n}`));
  try {
    const watch = new ReplicaWatch(() => d.supervisorPid());
    await d.launch({ replicas: n });
    await supervisorUp(d);
    await untilCount(`${d.name}: ${n} replicas`, watch, n);
    await tendConverged(d);
    await sleep(300);
    const first = watch.scan();
    const kept = () => [...first].filter(([pid, st]) => alive(pid, st)).length;
    const t0 = now();
    await d.scale(2 * n);
    const up = await untilCount(`${d.name}: ${2 * n} replicas`, watch, 2 * n, { intervalMs: 5 });
    await tendConverged(d);
    const keptAfterUp = kept();
    await sleep(300);
    const t1 = now();
    await d.scale(n);
    const down = await untilCount(`${d.name}: back to ${n} replicas`, watch, n, { intervalMs: 5 });
    await tendConverged(d);
    return { upMs: up - t0, downMs: down - t1, keptAfterUp, keptAfterDown: kept() };
  } catch (err) {
    throw withDiagnostics(err, d);
  } finally {
    await d.cleanup();
  }
}

// ---- 7: log throughput -------------------------------------------------------------------------

export interface LogRun {
  /** ms from handing the job over to the first byte in its log. */
  firstByteMs: number;
  /** ms from handing the job over to the last line in its log. */
  allLinesMs: number;
  /** ms from the first byte to the last line: the pipe's throughput, start latency aside. */
  writeMs: number;
  linesLost: number;
  /** The log is byte for byte what the job printed. */
  intact: boolean;
}

export function seqBytes(lines: number): number {
  let bytes = 0;
  for (let digits = 1, lo = 1; lo <= lines; digits++, lo *= 10) bytes += (Math.min(lines, lo * 10 - 1) - lo + 1) * (digits + 1);
  return bytes;
}

export async function logThroughput(env: Env, make: MakeDriver, lines: number): Promise<LogRun> {
  const d = make(tmpFor(env, 'logs'));
  try {
    await d.launch({ replicas: 0 });
    await supervisorUp(d);
    if (d instanceof TendDriver) await waitFor('tend API', () => d.status(), { intervalMs: 20, timeoutMs: 60_000 });
    await sleep(500);
    const expected = seqBytes(lines);
    const t0 = now();
    const log = await d.startJob('logger', ['seq', '1', String(lines)]);
    let first: number | undefined;
    let lastSize = -1;
    let lastChange = now();
    const size = () => {
      try {
        return statSync(log).size;
      } catch {
        return 0;
      }
    };
    const { at } = await waitFor(
      `${d.name}: ${lines} lines in ${log}`,
      () => {
        const s = size();
        const t = now();
        if (s > 0) first ??= t;
        if (s !== lastSize) {
          lastSize = s;
          lastChange = t;
        }
        // Done when complete, or when nothing more arrived for 5 s (lines were lost).
        return s >= expected || (s > 0 && t - lastChange > 5000) ? true : false;
      },
      { intervalMs: 2, timeoutMs: 120_000 },
    );
    const done = lastSize >= expected ? at : lastChange;
    if (lastSize < expected) await sleep(2000); // a last look: count what arrived late too
    const { count, intact } = await checkSeq(log, lines);
    return { firstByteMs: (first ?? at) - t0, allLinesMs: done - t0, writeMs: done - (first ?? at), linesLost: Math.max(0, lines - count), intact };
  } catch (err) {
    throw withDiagnostics(err, d);
  } finally {
    await d.cleanup();
  }
}

/** Counts lines and checks they are exactly 1..lines in order. */
async function checkSeq(path: string, lines: number): Promise<{ count: number; intact: boolean }> {
  let count = 0;
  let intact = true;
  let partial = '';
  for await (const chunk of createReadStream(path, { encoding: 'latin1' })) {
    const parts = (partial + (chunk as string)).split('\n');
    partial = parts.pop()!;
    for (const p of parts) {
      count++;
      if (intact && p !== String(count)) intact = false;
    }
  }
  if (partial !== '') intact = false;
  return { count, intact: intact && count === lines };
}

// ---- 8: `tend validate` as a user runs it (a process, node start-up included) ----------------

/** Times `tend validate DIR` over `files` generated spec files; `argv` runs the CLI (node args). */
export async function validateCli(env: Env, argv: string[], files: number, runs: number): Promise<number[]> {
  const dir = join(tmpFor(env, 'validate'), 'services.d');
  mkdirSync(dir, { recursive: true });
  for (let i = 0; i < files; i++) {
    const dep = i > 0 ? `depends_on:\n  svc-${Math.floor((i - 1) / 2)}: started\n` : '';
    writeFileSync(
      join(dir, `svc-${i}.yaml`),
      `command: ["node", "server.js", "--id", "${i}"]\nreplicas: ${1 + (i % 3)}\nports: { PORT: ${20000 + i * 4} }\n${dep}readiness:\n  http: { url: "http://127.0.0.1:\${PORT}/healthz" }\n  interval: 2s\nbackoff: { initial: 100ms, max: 30s }\nenv:\n  NODE_ENV: production\n`,
    );
  }
  const out: number[] = [];
  for (let r = 0; r < runs; r++) {
    const t0 = now();
    const code = await run(process.execPath, [...argv, 'validate', dir], { logFile: join(dir, '..', 'validate.log'), allowFail: true });
    if (code !== 0) throw new Error(`tend validate exited ${code}: ${tailOf(join(dir, '..', 'validate.log'), 3)}`);
    out.push(now() - t0);
  }
  return out;
}
