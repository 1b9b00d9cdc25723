// The bare limit: bench/lib/bare-supervisor.mjs, a minimal Node supervisor (spawn detached with an
// O_APPEND log fd, respawn on exit at once, no state, no API, no checks) run as its own process.

import type { ChildProcess } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import type { Driver, LaunchOptions } from '../driver.js';
import { registry, tailOf } from '../procs.js';
import { exitOf, launch } from '../spawn.js';

const SCRIPT = resolve(import.meta.dirname, '../bare-supervisor.mjs');

export class BareDriver implements Driver {
  readonly name = 'bare';
  private child?: ChildProcess;
  /** The supervisor's own figure: ms from its start to the last 'spawn' event of the first batch. */
  spawnLoopMs?: number;

  constructor(private readonly tmp: string) {}

  describe(): string {
    return 'child_process.spawn loop in its own node process (detached, O_APPEND log fd, respawn on exit)';
  }

  async launch(opts: LaunchOptions): Promise<void> {
    mkdirSync(this.tmp, { recursive: true });
    const child = launch(process.execPath, [...(opts.nodeFlags ?? []), SCRIPT, join(this.tmp, 'logs'), String(opts.replicas)], {
      logFile: join(this.tmp, 'bare.log'),
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
    const log = join(this.tmp, `${name}.log`);
    this.send({ op: 'job', log, argv });
    return log;
  }

  diagnostics(): string {
    return tailOf(join(this.tmp, 'bare.log'));
  }

  async cleanup(): Promise<void> {
    this.child?.stdin?.destroy();
    await registry.killAndWait().catch(() => undefined);
    rmSync(this.tmp, { recursive: true, force: true });
  }
}
