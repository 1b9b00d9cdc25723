// The two Node baselines, each a tiny supervisor in its own node process, fed commands on stdin:
// - `minimal` (lib/minimal-supervisor.mjs): the floor of issue 13. spawn with stdio ignored, no
//   environment built per child, no log file, respawn on exit. No supervisor can do less.
// - `bare` (lib/bare-supervisor.mjs): what a real supervisor must at least do per replica: a copy
//   of the environment plus the replica's variables, an O_APPEND log fd for stdout and stderr,
//   detached (own process group), respawn on exit.

import type { ChildProcess } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { Unsupported, type Driver, type LaunchOptions } from '../driver.js';
import { registry, tailOf } from '../procs.js';
import { exitOf, launch } from '../spawn.js';

export type BareVariant = 'bare' | 'minimal';

const SCRIPTS: Record<BareVariant, string> = {
  bare: resolve(import.meta.dirname, '../bare-supervisor.mjs'),
  minimal: resolve(import.meta.dirname, '../minimal-supervisor.mjs'),
};

export class BareDriver implements Driver {
  readonly name: BareVariant;
  private child?: ChildProcess;
  /** The supervisor's own figure: ms from its start to the last 'spawn' event of the first batch. */
  spawnLoopMs?: number;

  constructor(
    private readonly tmp: string,
    variant: BareVariant = 'bare',
  ) {
    this.name = variant;
  }

  describe(): string {
    return this.name === 'minimal'
      ? 'minimal loop: child_process.spawn(sleep) with stdio ignored, no per-child environment, no log file, respawn on exit (lib/minimal-supervisor.mjs, its own node process)'
      : 'bare loop: child_process.spawn detached, a copy of the environment plus REPLICA/REPLICAS per child, an O_APPEND log fd, respawn on exit (lib/bare-supervisor.mjs, its own node process)';
  }

  async launch(opts: LaunchOptions): Promise<void> {
    mkdirSync(this.tmp, { recursive: true });
    const args = this.name === 'minimal' ? [String(opts.replicas)] : [join(this.tmp, 'logs'), String(opts.replicas)];
    const child = launch(process.execPath, [...(opts.nodeFlags ?? []), SCRIPTS[this.name], ...args], {
      logFile: join(this.tmp, `${this.name}.log`),
      ...(opts.env ? { env: opts.env } : {}),
      pipeStdin: true,
      pipeStdout: true,
    });
    this.child = child;
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const m = /^spawned ([\d.]+)/.exec(line);
      if (m) this.spawnLoopMs ??= Number(m[1]);
    });
  }

  supervisorPid(): number | undefined {
    return this.child?.pid;
  }

  private send(cmd: unknown): void {
    this.child?.stdin?.write(JSON.stringify(cmd) + '\n');
  }

  async scale(n: number): Promise<void> {
    this.send({ op: 'scale', n });
  }

  async stopAll(): Promise<void> {
    this.child?.kill('SIGTERM');
  }

  exited(): Promise<void> {
    return this.child ? exitOf(this.child) : Promise.resolve();
  }

  async startJob(name: string, argv: string[]): Promise<string> {
    if (this.name === 'minimal') throw new Unsupported('the minimal loop keeps no logs (stdio ignored)');
    const log = join(this.tmp, `${name}.log`);
    this.send({ op: 'job', log, argv });
    return log;
  }

  diagnostics(): string {
    return tailOf(join(this.tmp, `${this.name}.log`));
  }

  async cleanup(): Promise<void> {
    this.child?.stdin?.destroy();
    await registry.killAndWait().catch(() => undefined);
    rmSync(this.tmp, { recursive: true, force: true });
  }
}
