// supervisord (Debian's `supervisor` package), with its own config in a temp dir: a unix socket
// there (no TCP), `numprocs` for replicas, `supervisorctl update` after editing the config to scale,
// `supervisorctl shutdown` to stop. Installed with apt-get when missing and running as root.

import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Driver, LaunchOptions } from '../driver.js';
import { alive, registry, tailOf } from '../procs.js';
import { launch, run } from '../spawn.js';
import { sleep } from '../timers.js';

/** Makes sure supervisord is installed; returns its version, or a note why it is skipped. */
export function ensureSupervisord(log: (s: string) => void): { ok: true; version: string } | { ok: false; note: string } {
  const version = () => spawnSync('supervisord', ['--version'], { encoding: 'utf8' });
  let v = version();
  if (v.status !== 0) {
    if (process.getuid?.() !== 0) return { ok: false, note: 'supervisord not installed and not running as root to install it' };
    log('installing supervisor (apt-get update && apt-get install -y supervisor) ...');
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    const up = spawnSync('apt-get', ['update'], { stdio: 'ignore', env, timeout: 300_000 });
    const inst = up.status === 0 ? spawnSync('apt-get', ['install', '-y', 'supervisor'], { stdio: 'ignore', env, timeout: 300_000 }) : up;
    if (inst.status !== 0) return { ok: false, note: `apt-get install supervisor failed (exit ${inst.status ?? inst.signal})` };
    v = version();
    if (v.status !== 0) return { ok: false, note: 'supervisord still not runnable after install' };
  }
  return { ok: true, version: v.stdout.trim() };
}

interface Program {
  name: string;
  command: string;
  numprocs: number;
  autorestart: boolean;
  log: string;
}

export class SupervisordDriver implements Driver {
  readonly name = 'supervisord';
  private readonly conf: string;
  private readonly pidFile: string;
  private pid?: number;
  private readonly programs = new Map<string, Program>();

  constructor(
    private readonly tmp: string,
    private readonly version: string,
  ) {
    this.conf = join(tmp, 'supervisord.conf');
    this.pidFile = join(tmp, 'supervisord.pid');
  }

  describe(): string {
    return `supervisord ${this.version} (numprocs, autorestart, startsecs=0, supervisorctl update to scale)`;
  }

  private writeConf(): void {
    const t = this.tmp;
    const parts = [
      `[unix_http_server]\nfile=${t}/supervisor.sock\nchmod=0700\n`,
      `[supervisord]\nlogfile=${t}/supervisord.log\npidfile=${this.pidFile}\nchildlogdir=${t}/logs\nnodaemon=false\nminfds=16384\nminprocs=4096\n`,
      `[rpcinterface:supervisor]\nsupervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface\n`,
      `[supervisorctl]\nserverurl=unix://${t}/supervisor.sock\n`,
    ];
    for (const p of this.programs.values()) {
      if (p.numprocs === 0) continue;
      parts.push(
        [
          `[program:${p.name}]`,
          `command=${p.command}`,
          p.numprocs > 1 ? `process_name=%(program_name)s_%(process_num)d` : `process_name=%(program_name)s`,
          `numprocs=${p.numprocs}`,
          `autostart=true`,
          `autorestart=${p.autorestart}`,
          `startsecs=0`,
          `startretries=1000000`,
          `stopsignal=TERM`,
          `stopwaitsecs=10`,
          `redirect_stderr=true`,
          `stdout_logfile=${p.log}`,
          `stdout_logfile_maxbytes=0`,
          '',
        ].join('\n'),
      );
    }
    writeFileSync(this.conf, parts.join('\n'));
  }

  private ctl(...args: string[]): Promise<number> {
    return run('supervisorctl', ['-c', this.conf, ...args], { cwd: this.tmp, logFile: join(this.tmp, 'ctl.log'), timeoutMs: 300_000, allowFail: true });
  }

  async launch(opts: LaunchOptions): Promise<void> {
    mkdirSync(join(this.tmp, 'logs'), { recursive: true });
    this.programs.set('sl', { name: 'sl', command: 'sleep 1000', numprocs: opts.replicas, autorestart: true, log: join(this.tmp, 'logs/sl_%(process_num)d.log') });
    this.writeConf();
    // supervisord daemonizes (nodaemon=false): the process we start exits once the daemon forked.
    launch('supervisord', ['-c', this.conf], { cwd: this.tmp, logFile: join(this.tmp, 'launch.log') });
  }

  supervisorPid(): number | undefined {
    if (this.pid !== undefined) return this.pid;
    if (!existsSync(this.pidFile)) return undefined;
    const pid = Number(readFileSync(this.pidFile, 'utf8').trim());
    if (pid > 0 && alive(pid)) {
      this.pid = pid;
      registry.addPid(pid, undefined, true);
    }
    return this.pid;
  }

  async scale(n: number): Promise<void> {
    this.programs.get('sl')!.numprocs = n;
    this.writeConf();
    await this.ctl('update');
  }

  async stopAll(): Promise<void> {
    await this.ctl('shutdown');
  }

  async exited(): Promise<void> {
    while (this.pid !== undefined && alive(this.pid)) await sleep(10);
  }

  async startJob(name: string, argv: string[]): Promise<string> {
    const log = join(this.tmp, `logs/${name}.log`);
    this.programs.set(name, { name, command: argv.join(' '), numprocs: 1, autorestart: false, log });
    this.writeConf();
    await this.ctl('update');
    return log;
  }

  diagnostics(): string {
    return `${tailOf(join(this.tmp, 'launch.log'), 4)}\n${tailOf(join(this.tmp, 'ctl.log'), 4)}\n${tailOf(join(this.tmp, 'supervisord.log'), 4)}`;
  }

  async cleanup(): Promise<void> {
    if (this.supervisorPid() !== undefined && alive(this.pid!)) {
      await this.ctl('shutdown').catch(() => undefined);
      for (let i = 0; i < 500 && alive(this.pid!); i++) await sleep(20);
    }
    await registry.killAndWait().catch(() => undefined);
    rmSync(this.tmp, { recursive: true, force: true });
  }
}
