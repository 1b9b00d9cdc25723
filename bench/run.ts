// `npm run bench [-- --quick] [--only=cold,edit,...] [--systems=bare,tend,pm2,supervisord]
//   [--tend=dist|tsx-cli|launcher] [--out=path]`
//
// tend against the bare-spawn limit, PM2 and supervisord, in one run, on the workloads of issue 7.
// Prints a table (median and min–max of the runs; ratios of tend to each other system) and writes
// every figure with the machine it was measured on to bench/results/latest.json.
// Everything runs in temp dirs, on loopback, and every process started is killed by pid or group.

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { benchProbes } from './probes.js';
import { benchRuntimeSpawn } from './runtime-spawn.js';
import { benchValidate } from './validate.js';
import { BareDriver } from './lib/drivers/bare.js';
import { Pm2Driver } from './lib/drivers/pm2.js';
import { SupervisordDriver, ensureSupervisord } from './lib/drivers/supervisord.js';
import { TendDriver, pickLauncher, type TendLauncher } from './lib/drivers/tend.js';
import { machineInfo } from './lib/machine.js';
import { installExitCleanup, registry, zombieCount } from './lib/procs.js';
import { round, summarize, type Summary } from './lib/stats.js';
import { renderTable } from './lib/table.js';
import { coldStart, crashRestart, editLatency, logThroughput, scaleUpDown, validateCli, type ColdRun, type Env, type MakeDriver } from './workloads.js';

const SYSTEMS = ['bare', 'tend', 'pm2', 'supervisord'] as const;
type System = (typeof SYSTEMS)[number];
const WORKLOADS = ['cold', 'edit', 'crash', 'scale', 'idle', 'logs', 'validate', 'runtime', 'probes'] as const;
type Workload = (typeof WORKLOADS)[number];

interface Config {
  quick: boolean;
  cold: { n: number; runs: number }[];
  /** PM2 and supervisord take tens of seconds per start and stop at N = 1000: quick mode stops at this N. */
  peersMaxN: number;
  /** Edits and kills for PM2 and supervisord (each of theirs costs up to seconds). */
  peerEdits: number;
  peerKills: number;
  /** The bare loop's idle figure (nothing to do, ~0%): full mode only. */
  bareIdle: boolean;
  inProcessProbes: boolean;
  idleSeconds: number;
  edits: number;
  kills: number;
  scaleN: number;
  scaleRuns: number;
  logLines: number;
  logRuns: number;
  validateRuns: number;
  runtimeRuns: number;
  probeSeconds: number;
}

const FULL: Config = {
  quick: false,
  cold: [
    { n: 50, runs: 5 },
    { n: 200, runs: 5 },
    { n: 1000, runs: 3 },
  ],
  peersMaxN: 1000,
  peerEdits: 20,
  peerKills: 20,
  bareIdle: true,
  inProcessProbes: true,
  idleSeconds: 60,
  edits: 20,
  kills: 20,
  scaleN: 200,
  scaleRuns: 3,
  logLines: 1_000_000,
  logRuns: 3,
  validateRuns: 7,
  runtimeRuns: 5,
  probeSeconds: 20,
};

const QUICK: Config = {
  quick: true,
  cold: [
    { n: 50, runs: 2 },
    { n: 200, runs: 1 },
    { n: 1000, runs: 2 },
  ],
  peersMaxN: 200,
  peerEdits: 8,
  peerKills: 5,
  bareIdle: false,
  inProcessProbes: false,
  idleSeconds: 15,
  edits: 20,
  kills: 10,
  scaleN: 50,
  scaleRuns: 1,
  logLines: 1_000_000,
  logRuns: 1,
  validateRuns: 5,
  runtimeRuns: 1,
  probeSeconds: 5,
};

function parseArgs(argv: string[]): { cfg: Config; only: Set<Workload>; systems: System[]; tend?: string; out: string } {
  const get = (k: string) => argv.find((a) => a.startsWith(`--${k}=`))?.slice(k.length + 3);
  const cfg = { ...(argv.includes('--quick') ? QUICK : FULL) };
  // Development aid: --cold=50:3,200:1 overrides the cold-start sizes and runs.
  const cold = get('cold');
  if (cold) cfg.cold = cold.split(',').map((p) => ({ n: Number(p.split(':')[0]), runs: Number(p.split(':')[1] ?? 1) }));
  const only = new Set((get('only')?.split(',') ?? WORKLOADS) as Workload[]);
  for (const w of only) if (!WORKLOADS.includes(w)) throw new Error(`unknown workload ${w}; one of ${WORKLOADS.join(', ')}`);
  const systems = (get('systems')?.split(',') ?? [...SYSTEMS]) as System[];
  for (const s of systems) if (!SYSTEMS.includes(s)) throw new Error(`unknown system ${s}; one of ${SYSTEMS.join(', ')}`);
  const tend = get('tend');
  return { cfg, only, systems, ...(tend ? { tend } : {}), out: resolve(get('out') ?? join(import.meta.dirname, 'results/latest.json')) };
}

const log = (line: string) => process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${line}\n`);

/** One row of the report: a figure per system, each a summary of its runs (ms unless `unit`). */
interface Row {
  workload: string;
  unit: string;
  /** Lower is better (false for rates). */
  lowerIsBetter: boolean;
  values: Partial<Record<System, Summary | string>>;
  note?: string;
}

async function main(): Promise<void> {
  installExitCleanup();
  const { cfg, only, systems, tend: tendWanted, out } = parseArgs(process.argv.slice(2));
  const started = Date.now();
  const machine = machineInfo();
  const zombiesBefore = zombieCount();
  const tmpRoot = mkdtempSync(join(tmpdir(), 'tend-bench-'));
  const env: Env = { tmpRoot, log };
  const notes: string[] = [];
  const rows: Row[] = [];
  const raw: Record<string, unknown> = {};

  const launcher: TendLauncher = systems.includes('tend') ? pickLauncher(tendWanted, join(tmpRoot, 'build'), log) : { kind: 'launcher' };
  log(`tend launcher: ${launcher.kind}`);
  const peers: Partial<Record<System, MakeDriver>> = {};
  const descriptions: Partial<Record<System, string>> = {};
  if (systems.includes('bare')) peers.bare = (tmp) => new BareDriver(tmp);
  if (systems.includes('tend')) peers.tend = (tmp) => new TendDriver(tmp, launcher);
  if (systems.includes('pm2')) peers.pm2 = (tmp) => new Pm2Driver(tmp);
  if (systems.includes('supervisord')) {
    const svd = ensureSupervisord(log);
    if (svd.ok) peers.supervisord = (tmp) => new SupervisordDriver(tmp, svd.version);
    else notes.push(`supervisord skipped: ${svd.note}`);
  }
  for (const [name, make] of Object.entries(peers) as [System, MakeDriver][]) {
    const d = make(join(tmpRoot, 'describe'));
    descriptions[name] = d.describe();
  }
  const active = Object.keys(peers) as System[];

  // Runs `fn` for each system; a failure of one system is recorded, not fatal.
  const each = async <T>(what: string, fn: (sys: System, make: MakeDriver) => Promise<T>, filter: (s: System) => boolean = () => true) => {
    const res: Partial<Record<System, T | { error: string }>> = {};
    for (const sys of active.filter(filter)) {
      log(`${what}: ${sys}`);
      try {
        res[sys] = await fn(sys, peers[sys]!);
      } catch (err) {
        const msg = err instanceof Error ? err.message : String(err);
        log(`${what}: ${sys} FAILED: ${msg}`);
        res[sys] = { error: msg };
        notes.push(`${what} / ${sys}: ${msg}`);
      } finally {
        await registry.killAndWait().catch((e: unknown) => notes.push(`cleanup after ${what}/${sys}: ${String(e)}`));
      }
    }
    return res;
  };
  const isErr = (v: unknown): v is { error: string } => typeof v === 'object' && v !== null && 'error' in v;
  const pick = <T>(res: Partial<Record<System, T | { error: string }>>, f: (v: T) => Summary | string | undefined): Row['values'] => {
    const values: Row['values'] = {};
    for (const [sys, v] of Object.entries(res) as [System, T | { error: string }][]) {
      if (isErr(v)) values[sys] = 'failed';
      else {
        const x = f(v);
        if (x !== undefined) values[sys] = x;
      }
    }
    return values;
  };

  try {
    // ---- 1, 5, 6: cold start, stop all, and the idle windows at N = 1000 ----
    if (only.has('cold') || only.has('idle')) {
      const coldRes: Record<number, Partial<Record<System, ColdRun[] | { error: string }>>> = {};
      const ns = only.has('cold') ? cfg.cold : cfg.cold.filter((c) => c.n === 1000).map((c) => ({ ...c, runs: 1 }));
      const isPeer = (s: System) => s === 'pm2' || s === 'supervisord';
      for (const { n, runs } of ns) {
        if (n > cfg.peersMaxN) notes.push(`cold start ${n}: PM2 and supervisord only run in full mode (tens of seconds each to start and stop)`);
        coldRes[n] = await each(
          `cold start ${n}`,
          async (sys, make) => {
            const list: ColdRun[] = [];
            for (let r = 0; r < runs; r++) {
              const last = r === runs - 1;
              const idle = only.has('idle') && n === 1000 && last && (sys !== 'bare' || cfg.bareIdle) ? cfg.idleSeconds : undefined;
              list.push(await coldStart(env, make, n, idle ? { idleSeconds: idle, probes: sys === 'tend' } : {}));
              const x = list.at(-1)!;
              log(
                `  run ${r + 1}/${runs}: first ${x.firstMs.toFixed(0)} ms, all running ${x.coldMs.toFixed(0)} ms${x.convergedMs ? `, converged ${x.convergedMs.toFixed(0)} ms` : ''}, stop ${x.stopMs.toFixed(0)} ms` +
                  (x.idle ? `; idle cpu ${x.idle.cpuPercent}% rss ${x.idle.rssMiBMean} MiB` : '') +
                  (x.idleProbes ? `; with probes cpu ${x.idleProbes.cpuPercent}% rss ${x.idleProbes.rssMiBMean} MiB, ${x.idleProbes.probesPerSecond} probes/s` : ''),
              );
            }
            return list;
          },
          (s) => !isPeer(s) || n <= cfg.peersMaxN,
        );
        if (only.has('cold')) {
          const c = coldRes[n]!;
          rows.push({ workload: `cold start ${n} → all running`, unit: 'ms', lowerIsBetter: true, values: pick(c, (l) => summarize(l.map((x) => x.coldMs))) });
          rows.push({ workload: `  → first replica running`, unit: 'ms', lowerIsBetter: true, values: pick(c, (l) => summarize(l.map((x) => x.firstMs))) });
          rows.push({ workload: `  tend: → status converged`, unit: 'ms', lowerIsBetter: true, values: pick(c, (l) => (l[0]?.convergedMs !== undefined ? summarize(l.map((x) => x.convergedMs!)) : undefined)) });
          rows.push({ workload: `  bare: its own spawn loop (in process)`, unit: 'ms', lowerIsBetter: true, values: pick(c, (l) => (l[0]?.spawnLoopMs !== undefined ? summarize(l.map((x) => x.spawnLoopMs!)) : undefined)) });
          rows.push({ workload: `stop all ${n} → all gone`, unit: 'ms', lowerIsBetter: true, values: pick(c, (l) => summarize(l.map((x) => x.stopMs))) });
        }
      }
      raw.coldStart = coldRes;
      if (only.has('idle') && coldRes[1000]) {
        const c = coldRes[1000];
        const idleOf = (l: ColdRun[]) => l.find((x) => x.idle)?.idle;
        const probesOf = (l: ColdRun[]) => l.find((x) => x.idleProbes)?.idleProbes;
        rows.push({ workload: `idle at 1000: CPU (${cfg.idleSeconds} s window)`, unit: '% core', lowerIsBetter: true, values: pick(c, (l) => fmtNum(idleOf(l)?.cpuPercent, 2)) });
        rows.push({ workload: `idle at 1000: RSS mean`, unit: 'MiB', lowerIsBetter: true, values: pick(c, (l) => fmtNum(idleOf(l)?.rssMiBMean, 1)) });
        const p = (c.tend && !isErrValue(c.tend) && probesOf(c.tend)) || undefined;
        if (p) {
          rows.push({ workload: `idle at 1000 + 1 s tcp probe each: CPU`, unit: '% core', lowerIsBetter: true, values: { tend: fmtNum(p.cpuPercent, 2) }, note: `${p.probesPerSecond} probes/s` });
          rows.push({ workload: `idle at 1000 + 1 s tcp probe each: RSS`, unit: 'MiB', lowerIsBetter: true, values: { tend: fmtNum(p.rssMiBMean, 1) } });
          rows.push({ workload: `  probe added live: → all probed, converged`, unit: 'ms', lowerIsBetter: true, values: { tend: fmtNum(p.convergedMs, 0) }, note: p.keptPids ? 'no restarts' : 'replicas restarted!' });
        }
      }
    }

    // ---- 2: edit-to-running ----
    if (only.has('edit')) {
      const res = await each(`edit-to-running`, (sys, make) => editLatency(env, make, sys === 'pm2' || sys === 'supervisord' ? cfg.peerEdits : cfg.edits));
      raw.edit = res;
      rows.push({ workload: `edit replicas → new replica running (median)`, unit: 'ms', lowerIsBetter: true, values: pick(res, (e) => summarize(e.latencyMs)) });
      rows.push({ workload: `  p95`, unit: 'ms', lowerIsBetter: true, values: pick(res, (e) => fmtNum(summarize(e.latencyMs).p95, 1)) });
      rows.push({ workload: `  tend: → replica.started event`, unit: 'ms', lowerIsBetter: true, values: pick(res, (e) => (e.eventMs ? summarize(e.eventMs) : undefined)) });
      rows.push({ workload: `  edits that kept every running pid`, unit: 'of n', lowerIsBetter: false, values: pick(res, (e) => `${e.editsKeepingPids}/${e.latencyMs.length}`) });
      for (const [sys, e] of Object.entries(res)) if (!isErr(e)) log(`  ${sys}: median ${summarize(e.latencyMs).median} ms, p95 ${summarize(e.latencyMs).p95} ms`);
    }

    // ---- 3: crash-to-restart ----
    if (only.has('crash')) {
      const kills = Number(process.argv.find((a) => a.startsWith('--kills='))?.slice(8) ?? cfg.kills);
      const res = await each(`crash-to-restart`, (sys, make) => crashRestart(env, make, sys === 'pm2' || sys === 'supervisord' ? cfg.peerKills : kills));
      raw.crash = res;
      rows.push({ workload: `SIGKILL a replica → new pid running`, unit: 'ms', lowerIsBetter: true, values: pick(res, (l) => summarize(l)) });
      rows.push({ workload: `  p95`, unit: 'ms', lowerIsBetter: true, values: pick(res, (l) => fmtNum(summarize(l).p95, 1)) });
      for (const [sys, l] of Object.entries(res)) if (!isErr(l)) log(`  ${sys}: median ${summarize(l).median} ms`);
    }

    // ---- 4: scale N → 2N → N ----
    if (only.has('scale')) {
      const n = cfg.scaleN;
      const res = await each(`scale ${n} → ${2 * n} → ${n}`, async (_s, make) => {
        const runs = [];
        for (let r = 0; r < cfg.scaleRuns; r++) runs.push(await scaleUpDown(env, make, n));
        return runs;
      });
      raw.scale = res;
      rows.push({ workload: `scale ${n} → ${2 * n}: all running`, unit: 'ms', lowerIsBetter: true, values: pick(res, (l) => summarize(l.map((x) => x.upMs))) });
      rows.push({ workload: `scale ${2 * n} → ${n}: extra gone`, unit: 'ms', lowerIsBetter: true, values: pick(res, (l) => summarize(l.map((x) => x.downMs))) });
      rows.push({ workload: `  first ${n} kept their pids (up / both)`, unit: 'of n', lowerIsBetter: false, values: pick(res, (l) => `${Math.min(...l.map((x) => x.keptAfterUp))}/${Math.min(...l.map((x) => x.keptAfterDown))}`) });
    }

    // ---- 7: log throughput ----
    if (only.has('logs')) {
      const res = await each(`log throughput (${cfg.logLines} lines)`, async (_s, make) => {
        const runs = [];
        for (let r = 0; r < cfg.logRuns; r++) runs.push(await logThroughput(env, make, cfg.logLines));
        return runs;
      });
      raw.logs = res;
      rows.push({ workload: `${cfg.logLines} lines: start job → all in log`, unit: 'ms', lowerIsBetter: true, values: pick(res, (l) => summarize(l.map((x) => x.allLinesMs))) });
      rows.push({ workload: `  first byte → last line`, unit: 'ms', lowerIsBetter: true, values: pick(res, (l) => summarize(l.map((x) => x.writeMs))) });
      rows.push({ workload: `  lines lost (max) / log intact`, unit: '', lowerIsBetter: true, values: pick(res, (l) => `${Math.max(...l.map((x) => x.linesLost))} / ${l.every((x) => x.intact) ? 'yes' : 'no'}`) });
    }

    // ---- 8: validate, and the component benches of issues 3 and 5 ----
    if (only.has('validate') && active.includes('tend')) {
      log('tend validate on 500 files');
      try {
        const r = await benchValidate({ files: 500, runs: cfg.validateRuns });
        raw.validate = r;
        rows.push({ workload: `tend validate, 500 files (in process)`, unit: 'ms', lowerIsBetter: true, values: { tend: summarize(r.runs) } });
        if (launcher.kind === 'dist' || launcher.kind === 'build') {
          const cli = await validateCli(env, [launcher.entry], 500, Math.min(5, cfg.validateRuns));
          raw.validateCli = cli;
          rows.push({ workload: `  tend validate DIR (the CLI, a process)`, unit: 'ms', lowerIsBetter: true, values: { tend: summarize(cli) } });
        }
      } catch (err) {
        notes.push(`validate: ${String(err)}`);
      }
    }
    if (only.has('runtime') && active.includes('tend')) {
      log('runtime spawn: 500 replicas through ProcessRuntime vs bare spawn (in process)');
      try {
        const r = await benchRuntimeSpawn({ n: 500, runs: cfg.runtimeRuns });
        raw.runtimeSpawn = r;
        rows.push({ workload: `ProcessRuntime.start ×500 (in process)`, unit: 'ms', lowerIsBetter: true, values: { bare: summarize(r.bare), tend: summarize(r.tend) } });
      } catch (err) {
        notes.push(`runtime-spawn: ${String(err)}`);
      }
    }
    if (only.has('probes') && cfg.inProcessProbes && active.includes('tend')) {
      log(`probes: 1000 ProbeRunners, tcp every 1 s, ${cfg.probeSeconds} s (in process)`);
      try {
        const r = await benchProbes({ n: 1000, seconds: cfg.probeSeconds });
        raw.probes = r;
        rows.push({ workload: `1000 tcp probes/s: CPU (in process)`, unit: '% core', lowerIsBetter: true, values: { tend: fmtNum(r.cpuPercent, 1) }, note: `${r.probesPerSecond} probes/s` });
      } catch (err) {
        notes.push(`probes: ${String(err)}`);
      }
    }
  } finally {
    await registry.killAndWait().catch(() => undefined);
    rmSync(tmpRoot, { recursive: true, force: true });
  }

  const zombiesAfter = zombieCount();
  if (zombiesAfter > zombiesBefore) notes.push(`${zombiesAfter - zombiesBefore} zombies appeared during the run (orphans PID 1 does not reap)`);
  const loadEnd = loadavg().map((l) => round(l, 2));
  notes.push(`load average at start ${machine.loadAvgAtStart.join(' ')}, at end ${loadEnd.join(' ')} on ${machine.cores} cores; other work shares this machine, so treat small differences as noise`);

  const goals = evaluateGoals(rows);
  const table = renderReport(rows, active);
  process.stdout.write(`\ntend bench (${cfg.quick ? 'quick' : 'full'}) — ${machine.cpuModel}, ${machine.cores} cores, ${machine.memoryGiB} GiB, node ${machine.node}, ${new Date().toISOString()}\n`);
  for (const sys of active) process.stdout.write(`  ${sys}: ${descriptions[sys]}\n`);
  process.stdout.write(`\n${table}\n\nGoals (issue 7, 4, 5):\n`);
  for (const g of goals) process.stdout.write(`  ${g.met === undefined ? '  ?' : g.met ? ' ok' : 'MISS'}  ${g.goal}: ${g.measured}\n`);
  if (notes.length) process.stdout.write(`\nNotes:\n${notes.map((n) => `  - ${n}`).join('\n')}\n`);
  process.stdout.write(`\n(${((Date.now() - started) / 1000).toFixed(0)} s; figures in ${out})\n`);

  mkdirSync(dirname(out), { recursive: true });
  const report = {
    date: new Date(started).toISOString(),
    mode: cfg.quick ? 'quick' : 'full',
    durationSeconds: Math.round((Date.now() - started) / 1000),
    machine: { ...machine, loadAvgAtEnd: loadEnd },
    systems: descriptions,
    tendLauncher: launcher.kind,
    config: cfg,
    table: rows,
    goals,
    notes,
    raw,
  };
  writeFileSync(out, JSON.stringify(report, null, 2) + '\n');
}

function isErrValue(v: unknown): v is { error: string } {
  return typeof v === 'object' && v !== null && 'error' in v;
}

function fmtNum(x: number | undefined, digits: number): string | undefined {
  return x === undefined || Number.isNaN(x) ? undefined : x.toFixed(digits);
}

function cell(v: Summary | string | undefined): string {
  if (v === undefined) return '–';
  if (typeof v === 'string') return v;
  const f = (x: number) => (x >= 100 ? x.toFixed(0) : x.toFixed(1));
  return v.n > 1 ? `${f(v.median)} (${f(v.min)}–${f(v.max)})` : f(v.median);
}

function central(v: Summary | string | undefined): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v === 'string') {
    const x = Number(v);
    return Number.isFinite(x) && v.trim() !== '' ? x : undefined;
  }
  return v.median;
}

function ratio(a: number | undefined, b: number | undefined): string {
  if (a === undefined || b === undefined || b === 0) return '';
  return `${(a / b).toFixed(2)}×`;
}

function renderReport(rows: Row[], active: System[]): string {
  const others = active.filter((s) => s !== 'tend');
  const headers = ['workload', 'unit', ...active, ...others.map((s) => `tend÷${s === 'supervisord' ? 'svd' : s}`), 'note'];
  const body = rows.map((r) => {
    const t = central(r.values.tend);
    return [
      r.workload,
      r.unit,
      ...active.map((s) => cell(r.values[s])),
      ...others.map((s) => (r.unit === 'of n' || r.unit === '' ? '' : ratio(t, central(r.values[s])))),
      r.note ?? '',
    ];
  });
  return renderTable(headers, body);
}

interface Goal {
  goal: string;
  measured: string;
  met?: boolean;
}

function evaluateGoals(rows: Row[]): Goal[] {
  const find = (name: string) => rows.find((r) => r.workload === name);
  const goals: Goal[] = [];
  const cold = find('cold start 1000 → all running');
  if (cold) {
    const t = central(cold.values.tend);
    const b = central(cold.values.bare);
    const runs = typeof cold.values.tend === 'object' ? cold.values.tend.n : 0;
    goals.push({ goal: 'cold start 1000 within 1.5× of bare spawn', measured: `${ratio(t, b) || 'n/a'} (tend ${t?.toFixed(0)} ms, bare ${b?.toFixed(0)} ms, median of ${runs})`, ...(t !== undefined && b !== undefined ? { met: t <= 1.5 * b } : {}) });
    // In quick mode the peers stop at N = 200: compare there instead, and say so.
    const peerRow = central(cold.values.pm2) !== undefined || central(cold.values.supervisord) !== undefined ? cold : [...rows].reverse().find((r) => r.workload.startsWith('cold start') && r.workload.endsWith('→ all running') && (central(r.values.pm2) !== undefined || central(r.values.supervisord) !== undefined));
    if (peerRow) {
      const tp = central(peerRow.values.tend);
      const p = central(peerRow.values.pm2);
      const s = central(peerRow.values.supervisord);
      const at = peerRow === cold ? '' : ` (at ${peerRow.workload.replace('cold start ', '').replace(' → all running', '')}: the peers do not run 1000 in quick mode)`;
      goals.push({
        goal: 'cold start 1000 ahead of PM2 and supervisord',
        measured: `tend ${tp?.toFixed(0)} ms, pm2 ${p?.toFixed(0) ?? 'n/a'} ms, supervisord ${s?.toFixed(0) ?? 'n/a'} ms${at}`,
        ...(tp !== undefined ? { met: (p === undefined || tp < p) && (s === undefined || tp < s) } : {}),
      });
    }
  }
  const crash = find('SIGKILL a replica → new pid running');
  if (crash && central(crash.values.tend) !== undefined) {
    const t = central(crash.values.tend)!;
    goals.push({ goal: 'crash-to-restart under 50 ms median', measured: `${t.toFixed(1)} ms`, met: t < 50 });
  }
  const edit = find('edit replicas → new replica running (median)');
  if (edit && central(edit.values.tend) !== undefined) {
    const t = central(edit.values.tend)!;
    goals.push({ goal: 'edit-to-running under 150 ms median', measured: `${t.toFixed(1)} ms`, met: t < 150 });
  }
  const cpu = rows.find((r) => r.workload.startsWith('idle at 1000: CPU'));
  if (cpu && central(cpu.values.tend) !== undefined) {
    const t = central(cpu.values.tend)!;
    goals.push({ goal: 'idle at 1000: under 2% of a core', measured: `${t.toFixed(2)}%`, met: t < 2 });
  }
  const rss = find('idle at 1000: RSS mean');
  if (rss && central(rss.values.tend) !== undefined) {
    const t = central(rss.values.tend)!;
    goals.push({ goal: 'idle at 1000: under 150 MB RSS', measured: `${t.toFixed(1)} MiB (${((t * 1024 ** 2) / 1e6).toFixed(1)} MB)`, met: (t * 1024 ** 2) / 1e6 < 150 });
  }
  const probes = find('idle at 1000 + 1 s tcp probe each: CPU');
  if (probes && central(probes.values.tend) !== undefined) {
    const t = central(probes.values.tend)!;
    goals.push({ goal: '1000 tcp probes/s under 15% of a core (daemon, idle + probes)', measured: `${t.toFixed(1)}% (${probes.note})`, met: t < 15 });
  }
  const probesIn = find('1000 tcp probes/s: CPU (in process)');
  if (probesIn && central(probesIn.values.tend) !== undefined) {
    const t = central(probesIn.values.tend)!;
    goals.push({ goal: '1000 tcp probes/s under 15% of a core (ProbeRunners alone)', measured: `${t.toFixed(1)}% (${probesIn.note})`, met: t < 15 });
  }
  const rt = find('ProcessRuntime.start ×500 (in process)');
  if (rt) {
    const t = central(rt.values.tend);
    const b = central(rt.values.bare);
    if (t !== undefined && b !== undefined) goals.push({ goal: 'runtime: 500 starts within 1.3× of bare spawn (issue 3)', measured: ratio(t, b), met: t <= 1.3 * b });
  }
  const v = find('tend validate, 500 files (in process)');
  if (v && central(v.values.tend) !== undefined) {
    const t = central(v.values.tend)!;
    goals.push({ goal: 'validate 500 files under 1 s (bench/validate.ts)', measured: `${t.toFixed(0)} ms`, met: t < 1000 });
  }
  return goals;
}

await main();
process.exit(0);
