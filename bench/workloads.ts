// The workloads of issue 7, each run against any Driver and measured from the outside: replicas are
// the supervisor's live children exec'd into `sleep` (ReplicaWatch over /proc), the supervisor's
// CPU and RSS come from /proc/<pid>/stat and status. Every workload cleans up in `finally`.

import { createReadStream, mkdirSync, mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Driver } from './lib/driver.js';
import { TendDriver } from './lib/drivers/tend.js';
import { BareDriver } from './lib/drivers/bare.js';
import { CLK_TCK, NewProcesses, ReplicaWatch, alive, readProcStat, tailOf, usageOfAll, waitGone } from './lib/procs.js';
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
  opts: { intervalMs?: number; timeoutMs?: number; extra?: (live: Map<number, number>) => boolean } = {},
): Promise<number> {
  const { at } = await waitFor(
    what,
    () => {
      const live = watch.scan();
      return live.size === n && (opts.extra ? opts.extra(live) : true);
    },
    { intervalMs: opts.intervalMs ?? 10, timeoutMs: opts.timeoutMs ?? 300_000 },
  );
  return at;
}

/** tend only: the daemon says it converged (every replica running and ready). */
async function tendConverged(d: Driver, timeoutMs = 300_000, intervalMs = 20): Promise<number | undefined> {
  if (!(d instanceof TendDriver)) return undefined;
  const { at } = await waitFor('tend converged', async () => (await d.status())?.converged === true, { intervalMs, timeoutMs });
  return at;
}

// ---- 1, 2, 3, 5, 6: one session per system and N ----------------------------------------------
// Cold start of N, then on the same supervisor (so a 5000-replica fleet is started once, not once
// per row): an idle window, SIGKILLs of single replicas, edits that add one replica, and stop all.

export interface ColdRun {
  /** ms from launching the supervisor to n live `sleep` children. */
  coldMs: number;
  /** ms from launching the supervisor to its first replica (start-up of the supervisor itself). */
  firstMs: number;
  /** tend: ms until its status said converged (what `up -d --wait` waits for). */
  convergedMs?: number;
  /** bare and minimal: their own in-process figure (spawn loop to the last 'spawn' event). */
  spawnLoopMs?: number;
  /** ms from the stop request to the last replica gone. */
  stopMs: number;
  /** ms from the stop request to the supervisor's exit. */
  stopExitMs: number;
  idle?: IdleFigures;
  /** tend: the same daemon after a 1 s tcp readiness probe was added to every replica. */
  idleProbes?: (IdleFigures & { convergedMs: number; keptPids: boolean }) | { error: string };
  /** tend: a second idle window while a reader asks for status every WATCH_EVERY_MS (a dashboard,
   *  a Prometheus scrape): what watching costs, since tend samples usage only when read. */
  idleWatched?: IdleFigures;
  /** SIGKILL of one replica → its replacement running (a new `sleep` under the same parent, or another of tend's helpers), ms. */
  crashMs?: number[];
  /** One more replica asked for (a file edit for tend) → the new replica running, ms. */
  edit?: EditFigures;
}

export interface EditFigures {
  /** ms from the change (file write / CLI call) to the new replica running, per edit. */
  latencyMs: number[];
  /** tend: ms from the file write to the replica.started event on /v1/events. */
  eventMs?: number[];
  /** Edits after which every earlier replica still ran with its pid. */
  editsKeepingPids: number;
}

export interface IdleFigures {
  seconds: number;
  /** CPU of the supervisor process(es) over the window, percent of one core. */
  cpuPercent: number;
  rssMiBMean: number;
  rssMiBMax: number;
  /** How many processes the figures sum (s6: s6-svscan and every s6-supervise). */
  processes: number;
  /** tend with probes: tcp connections the sink accepted per second. */
  probesPerSecond?: number;
  /** Replicas alive at the end of the window (should be n). */
  replicasAtEnd: number;
}

function supervisors(d: Driver): number[] {
  return d.supervisorProcesses?.() ?? [d.supervisorPid()!];
}

/** How often the watched idle window reads tend's status. */
export const WATCH_EVERY_MS = 5000;

async function measureIdle(d: Driver, seconds: number, watch: ReplicaWatch, probesAccepted?: () => Promise<number>, read?: () => Promise<unknown>): Promise<IdleFigures> {
  const pids = supervisors(d);
  const before = usageOfAll(pids);
  const probes0 = probesAccepted ? await probesAccepted() : 0;
  const t0 = now();
  const rss: number[] = [];
  let lastRead = Number.NEGATIVE_INFINITY;
  while (now() - t0 < seconds * 1000) {
    if (read && now() - lastRead >= WATCH_EVERY_MS) {
      lastRead = now();
      await read();
    }
    await sleep(1000);
    const u = usageOfAll(pids);
    if (u) rss.push(u.rssBytes);
  }
  const after = usageOfAll(pids);
  const elapsed = (now() - t0) / 1000;
  if (!before || !after) throw new Error('the supervisor died during the idle window');
  const probes1 = probesAccepted ? await probesAccepted() : 0;
  const mib = (b: number) => b / 1024 ** 2;
  return {
    seconds: round(elapsed, 1),
    cpuPercent: round(((after.cpuTicks - before.cpuTicks) / CLK_TCK / elapsed) * 100, 3),
    rssMiBMean: round(mib(rss.reduce((a, b) => a + b, 0) / rss.length), 1),
    rssMiBMax: round(mib(Math.max(...rss)), 1),
    processes: after.processes,
    ...(probesAccepted ? { probesPerSecond: round((probes1 - probes0) / elapsed, 0) } : {}),
    replicasAtEnd: watch.count(),
  };
}

export interface SessionOptions {
  idleSeconds?: number;
  /** tend: after the idle window, add a 1 s tcp probe to every replica and measure idle again. */
  probes?: boolean;
  /** SIGKILLs of single replicas, one after another. */
  kills?: number;
  /** Edits adding one replica each (then the count goes back to n before stop all). */
  edits?: number;
  nodeFlags?: string[];
}

/** One cold start of n replicas, then what `opts` asks for, then stop all. */
export async function coldStart(env: Env, make: MakeDriver, n: number, opts: SessionOptions = {}): Promise<ColdRun> {
  const d = make(tmpFor(env, `cold-${n}`));
  const sink = opts.probes && d instanceof TendDriver ? await startTcpSink() : undefined;
  try {
    const watch = new ReplicaWatch(() => d.supervisorPid(), 'sleep', d.replicaVia, () => d.replicaParents?.() ?? []);
    const first = watch.newReplicas();
    const t0 = now();
    await d.launch({ replicas: n, ...(opts.nodeFlags ? { nodeFlags: opts.nodeFlags } : {}) });
    // Each millisecond until the first replica runs (a look is one small read, NewProcesses), then
    // each 10 ms (a scan of every replica) until all do.
    const { at: atFirst } = await waitFor(`${d.name}: a first replica running`, () => first.look(), { intervalMs: 1, timeoutMs: 600_000 });
    const atRunning = await untilCount(`${d.name}: ${n} replicas running`, watch, n, { intervalMs: 10, timeoutMs: 600_000 });
    const atConverged = await tendConverged(d, 600_000, n >= 1000 ? 100 : 20);
    const run: ColdRun = { coldMs: atRunning - t0, firstMs: atFirst - t0, stopMs: NaN, stopExitMs: NaN };
    if (atConverged !== undefined) run.convergedMs = atConverged - t0;
    if (d instanceof BareDriver) {
      await waitFor('spawn loop report', () => d.spawnLoopMs !== undefined, { intervalMs: 10, timeoutMs: 10_000 }).catch(() => undefined);
      if (d.spawnLoopMs !== undefined) run.spawnLoopMs = d.spawnLoopMs;
    }
    if (opts.idleSeconds) {
      await sleep(2000); // let start-up garbage settle
      run.idle = await measureIdle(d, opts.idleSeconds, watch);
      if (d instanceof TendDriver) run.idleWatched = await measureIdle(d, opts.idleSeconds, watch, undefined, () => d.status());
    }
    if (opts.kills) run.crashMs = await kills(d, watch, n, opts.kills);
    if (opts.edits) run.edit = await edits(d, watch, n, opts.edits);
    if (opts.idleSeconds && sink && d instanceof TendDriver) {
      // The same replicas, now each with a 1 s tcp readiness probe (a live change: no restarts).
      // A failure here (a loaded machine can keep 1000 probes from all passing in time) is recorded
      // and does not throw away the session's other figures.
      run.idleProbes = await probedIdle(d, sink, watch, n, opts.idleSeconds).catch((err: unknown) => ({ error: err instanceof Error ? err.message : String(err) }));
    }
    const pids = watch.scan();    const t1 = now();
    await d.stopAll();
    const gone = await waitGone(pids, { timeoutMs: 300_000 });
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

async function probedIdle(d: TendDriver, sink: Awaited<ReturnType<typeof startTcpSink>>, watch: ReplicaWatch, n: number, seconds: number): Promise<IdleFigures & { convergedMs: number; keptPids: boolean }> {
  const before = watch.scan();
  const base = await sink.accepted();
  const t = now();
  await d.setProbe(sink.port);
  // Applied once every replica was probed at least once and the daemon says converged.
  await waitFor('tend converged with probes', async () => (await sink.accepted()) - base >= n && (await d.status())?.converged === true, {
    intervalMs: 50,
    timeoutMs: 120_000,
  });
  const convergedMs = now() - t;
  await sleep(2000);
  const idle = await measureIdle(d, seconds, watch, sink.accepted);
  return { ...idle, convergedMs, keptPids: [...before].every(([pid, st]) => alive(pid, st)) };
}

/**
 * SIGKILLs `count` replicas one at a time, spread over the fleet, and times each until its
 * replacement runs: a `sleep` child of the victim's parent (the supervisor; for s6 its
 * s6-supervise; for tend whichever of its spawn helpers forks it, or tend itself) that was not
 * there before, once the victim is reaped. Only those parents' children lists are read while
 * waiting, so the figure does not grow with n because of the bench.
 */
export async function kills(d: Driver, watch: ReplicaWatch, n: number, count: number): Promise<number[]> {
  const out: number[] = [];
  await sleep(300);
  for (let k = 0; k < count; k++) {
    const live = [...watch.scan().keys()];
    if (live.length !== n) throw new Error(`${d.name}: ${live.length} replicas before kill ${k}, expected ${n}`);
    const victim = live[Math.floor(((k + 0.5) * live.length) / count)]!;
    const parent = readProcStat(victim)?.ppid;
    if (parent === undefined) throw new Error(`${d.name}: replica ${victim} vanished before the kill`);
    const parents = new Set([parent, ...(d.replicaParents?.() ?? [])]);
    const fresh = new NewProcesses('sleep', (ppid) => parents.has(ppid));
    const t0 = now();
    process.kill(victim, 'SIGKILL');
    let reaped = false;
    const { at } = await waitFor(
      `${d.name}: a new replica after kill ${k}`,
      () => {
        // Counted once the victim is reaped (its /proc entry gone), as before.
        reaped ||= readProcStat(victim) === null;
        return reaped && fresh.look() !== undefined;
      },
      { intervalMs: 1, timeoutMs: 30_000 },
    );
    out.push(at - t0);
    // Let the supervisor settle (tend: the replica's stable start, its state write) between kills.
    await sleep(150 + Math.random() * 100);
  }
  await untilCount(`${d.name}: ${n} replicas after the kills`, watch, n, { intervalMs: 50, timeoutMs: 60_000 });
  await tendConverged(d, 60_000, 100);
  return out;
}

/** Asks for one more replica `count` times (tend: an edit of `replicas:` in the file), timing each
 *  until the new replica runs; then goes back to n. */
export async function edits(d: Driver, watch: ReplicaWatch, n: number, count: number): Promise<EditFigures> {
  if (d instanceof TendDriver) await d.followEvents();
  await sleep(300);
  const latencyMs: number[] = [];
  const eventMs: number[] = [];
  let keeping = 0;
  for (let i = 1; i <= count; i++) {
    const target = n + i;
    const before = watch.scan();
    const fresh = watch.newReplicas(d.replicaVia === undefined ? undefined : new Set(watch.parents()));
    const t0 = now();
    await d.scale(target);
    const { at } = await waitFor(`${d.name}: a new replica after scaling to ${target}`, () => fresh.look(), { intervalMs: 1, timeoutMs: 30_000 });
    latencyMs.push(at - t0);
    await untilCount(`${d.name}: ${target} replicas`, watch, target, { intervalMs: 20, timeoutMs: 30_000 });
    if ([...before].every(([pid, st]) => alive(pid, st))) keeping++;
    if (d instanceof TendDriver) {
      await tendConverged(d, 30_000, 100);
      const ev = d.started.get(`bench/${target - 1}`)?.at(-1);
      if (ev !== undefined && ev >= t0) eventMs.push(ev - t0);
    }
    await sleep(150 + Math.random() * 100); // let the watcher's settle window close between edits
  }
  await d.scale(n);
  await untilCount(`${d.name}: back to ${n} replicas`, watch, n, { intervalMs: 20, timeoutMs: 120_000 });
  await tendConverged(d, 60_000, 100);
  return { latencyMs, ...(eventMs.length ? { eventMs } : {}), editsKeepingPids: keeping };
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
    const watch = new ReplicaWatch(() => d.supervisorPid(), 'sleep', d.replicaVia, () => d.replicaParents?.() ?? []);
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
