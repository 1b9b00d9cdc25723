// s6 (Debian's `s6` package, installed with apt-get when missing and running as root): `s6-svscan`
// in the foreground over a scan directory in a temp dir holding one service directory per replica
// (s6 has no replica count: N services, each `run` an execline script `sleep 1000`, the way s6's
// own examples write run scripts). Scaled as its users do, by adding or removing service
// directories and `s6-svscanctl -an` (rescan, and drop services whose directory went); stopped with
// `s6-svscanctl -t` (SIGTERM to every s6-supervise, which brings its service down, then s6-svscan
// exits). Process tree: s6-svscan → one s6-supervise per service → sleep.

import { spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Unsupported, type Driver, type LaunchOptions } from '../driver.js';
import { childrenOf, pidsWithCwdUnder, readProcStat, registry, tailOf } from '../procs.js';
import { exitOf, launch, run } from '../spawn.js';

/** Makes sure s6 is installed; returns its version, or a note why it is skipped. */
export function ensureS6(log: (s: string) => void): { ok: true; version: string } | { ok: false; note: string } {
  const version = () => spawnSync('dpkg-query', ['-W', '-f', '${Version}', 's6'], { encoding: 'utf8' });
  const present = () => spawnSync('sh', ['-c', 'command -v s6-svscan && command -v s6-svscanctl'], { stdio: 'ignore' }).status === 0;
  if (!present()) {
    if (process.getuid?.() !== 0) return { ok: false, note: 's6 not installed and not running as root to install it' };
    log('installing s6 (apt-get update && apt-get install -y s6) ...');
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    const up = spawnSync('apt-get', ['update'], { stdio: 'ignore', env, timeout: 300_000 });
    const inst = up.status === 0 ? spawnSync('apt-get', ['install', '-y', 's6'], { stdio: 'ignore', env, timeout: 300_000 }) : up;
    if (inst.status !== 0) return { ok: false, note: `apt-get install s6 failed (exit ${inst.status ?? inst.signal})` };
    if (!present()) return { ok: false, note: 's6-svscan still not runnable after install' };
  }
  const v = version();
  return { ok: true, version: v.status === 0 ? v.stdout.trim() : 'unknown' };
}

const EXECLINE = '/usr/bin/execlineb';

export class S6Driver implements Driver {
  readonly name = 's6';
  readonly replicaVia = 's6-supervise';
  private readonly scan: string;
  private child?: ChildProcess;
  private replicas = 0;

  constructor(
    private readonly tmp: string,
    private readonly version: string,
  ) {
    this.scan = join(tmp, 'scan');
  }

  describe(): string {
    const run = existsSync(EXECLINE) ? 'an execlineb run script' : 'a sh run script (exec)';
    return `s6 ${this.version}: s6-svscan over a scan dir of N service dirs, each ${run} \`sleep 1000\`; scale by adding/removing dirs + s6-svscanctl -an; stop s6-svscanctl -t; CPU and RSS summed over s6-svscan and every s6-supervise`;
  }

  private writeService(i: number): void {
    const dir = join(this.scan, `sl-${i}`);
    // Built beside the scan dir and renamed in, so s6-svscan never sees a half-written service.
    const tmp = join(this.tmp, `new-sl-${i}`);
    mkdirSync(tmp, { recursive: true });
    const script = existsSync(EXECLINE) ? `#!${EXECLINE} -P\nsleep 1000\n` : '#!/bin/sh\nexec sleep 1000\n';
    writeFileSync(join(tmp, 'run'), script);
    chmodSync(join(tmp, 'run'), 0o755);
    renameSync(tmp, dir);
  }

  private ctl(...args: string[]): Promise<number> {
    return run('s6-svscanctl', [...args, this.scan], { cwd: this.tmp, logFile: join(this.tmp, 'ctl.log'), timeoutMs: 300_000, allowFail: true });
  }

  async launch(opts: LaunchOptions): Promise<void> {
    mkdirSync(this.scan, { recursive: true });
    for (let i = 0; i < opts.replicas; i++) this.writeService(i);
    this.replicas = opts.replicas;
    // -c: s6-svscan keeps at most 1000 services by default; room for the scale workloads.
    const max = Math.max(1000, 2 * opts.replicas + 100);
    this.child = launch('s6-svscan', ['-c', String(max), this.scan], { cwd: this.tmp, logFile: join(this.tmp, 's6-svscan.log') });
    const root = this.child.pid;
    this.rootStart = root === undefined ? undefined : readProcStat(root)?.startTime;
    this.forget?.();
    this.forget = registry.onKill(() => this.registerReplicas());
  }

  private forget?: () => void;
  /** s6-svscan's start time: its pid, once it is gone, may be another process's. */
  private rootStart?: number;

  /** The replicas run in their own sessions (s6-supervise setsid()s them): registered before the
   *  group launch() created (s6-svscan and its s6-supervise children) is killed, so that none is
   *  left behind, also by a SIGINT: every one under an s6-supervise, and every one whose working
   *  directory is a service directory of this scan directory (what s6-supervise forked just
   *  before it was killed has lost its parent, not its directory). */
  private registerReplicas(): void {
    const root = this.child?.pid;
    if (root !== undefined && this.rootStart !== undefined && readProcStat(root)?.startTime === this.rootStart) {
      for (const sup of childrenOf(root)) for (const pid of childrenOf(sup)) registry.addPid(pid, undefined, true);
    }
    for (const pid of pidsWithCwdUnder(`${this.scan}/`)) registry.addPid(pid, undefined, true);
  }

  supervisorPid(): number | undefined {
    return this.child?.pid;
  }

  supervisorProcesses(): number[] {
    const root = this.child?.pid;
    return root === undefined ? [] : [root, ...childrenOf(root)];
  }

  async scale(n: number): Promise<void> {
    for (let i = this.replicas; i < n; i++) this.writeService(i);
    for (let i = n; i < this.replicas; i++) rmSync(join(this.scan, `sl-${i}`), { recursive: true, force: true });
    this.replicas = n;
    await this.ctl('-an');
  }

  async stopAll(): Promise<void> {
    await this.ctl('-t');
  }

  exited(): Promise<void> {
    return this.child ? exitOf(this.child) : Promise.resolve();
  }

  async startJob(): Promise<string> {
    throw new Unsupported('s6 logs through s6-log services: not benched');
  }

  diagnostics(): string {
    return `${tailOf(join(this.tmp, 's6-svscan.log'), 4)}\n${tailOf(join(this.tmp, 'ctl.log'), 4)}`;
  }

  async cleanup(): Promise<void> {
    await registry.killAndWait().catch(() => undefined);
    this.forget?.();
    rmSync(this.tmp, { recursive: true, force: true });
  }
}
