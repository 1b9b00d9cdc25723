// PM2 (the devDependency), driven through its CLI with its own PM2_HOME: `pm2 start` of an
// ecosystem file (fork mode, `instances: N`, interpreter none), `pm2 scale`, `pm2 kill`.

import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Driver, LaunchOptions } from '../driver.js';
import { alive, registry, tailOf } from '../procs.js';
import { run } from '../spawn.js';
import { sleep } from '../timers.js';

const ROOT = resolve(import.meta.dirname, '../../..');
const PM2_BIN = join(ROOT, 'node_modules/pm2/bin/pm2');

export function pm2Version(): string {
  try {
    return (JSON.parse(readFileSync(join(ROOT, 'node_modules/pm2/package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

export class Pm2Driver implements Driver {
  readonly name = 'pm2';
  private readonly home: string;
  private pid?: number;
  private launched = false;

  constructor(private readonly tmp: string) {
    this.home = join(tmp, 'home');
  }

  describe(): string {
    return `pm2 ${pm2Version()} (fork mode, instances: N, interpreter none, restart_delay 0, min_uptime 0)`;
  }

  private env(): NodeJS.ProcessEnv {
    return { ...process.env, PM2_HOME: this.home, PM2_DISABLE_VERSION_CHECK: 'true' };
  }

  /** One pm2 CLI call, awaited. */
  pm2(...args: string[]): Promise<number> {
    return run(process.execPath, [PM2_BIN, ...args], { cwd: this.tmp, env: this.env(), logFile: join(this.tmp, 'cli.log'), timeoutMs: 300_000 });
  }

  private app(n: number): object {
    return {
      name: 'sl',
      script: 'sleep',
      args: '1000',
      interpreter: 'none',
      exec_mode: 'fork',
      instances: n,
      autorestart: true,
      restart_delay: 0,
      min_uptime: 0,
      max_restarts: 1_000_000,
      out_file: join(this.tmp, 'logs/sl.log'),
      error_file: join(this.tmp, 'logs/sl.log'),
    };
  }

  async launch(opts: LaunchOptions): Promise<void> {
    mkdirSync(join(this.tmp, 'logs'), { recursive: true });
    this.launched = true;
    if (opts.replicas === 0) {
      await this.pm2('ping');
      return;
    }
    const eco = join(this.tmp, 'eco.config.js');
    writeFileSync(eco, `module.exports = ${JSON.stringify({ apps: [this.app(opts.replicas)] }, null, 2)};\n`);
    // Not awaited: the workload times from here until the replicas run, as it does for the others.
    void this.pm2('start', eco).catch((err: unknown) => process.stderr.write(`pm2 start: ${String(err)}\n`));
  }

  supervisorPid(): number | undefined {
    if (this.pid !== undefined) return this.pid;
    try {
      const pid = Number(readFileSync(join(this.home, 'pm2.pid'), 'utf8').trim());
      if (pid > 0 && alive(pid)) {
        this.pid = pid;
        registry.addPid(pid, undefined, true);
      }
    } catch {
      /* not yet */
    }
    return this.pid;
  }

  async scale(n: number): Promise<void> {
    await this.pm2('scale', 'sl', String(n));
  }

  async stopAll(): Promise<void> {
    await this.pm2('kill');
  }

  async exited(): Promise<void> {
    while (this.pid !== undefined && alive(this.pid)) await sleep(10);
  }

  async startJob(name: string, argv: string[]): Promise<string> {
    const log = join(this.tmp, `logs/${name}.log`);
    const eco = join(this.tmp, `${name}.config.js`);
    const app = {
      name,
      script: argv[0],
      args: argv.slice(1),
      interpreter: 'none',
      exec_mode: 'fork',
      autorestart: false,
      out_file: log,
      error_file: `${log}.err`,
    };
    writeFileSync(eco, `module.exports = ${JSON.stringify({ apps: [app] }, null, 2)};\n`);
    await this.pm2('start', eco);
    return log;
  }

  diagnostics(): string {
    return `${tailOf(join(this.tmp, 'cli.log'), 4)}\n${tailOf(join(this.home, 'pm2.log'), 4)}`;
  }

  async cleanup(): Promise<void> {
    if (this.launched && this.supervisorPid() !== undefined && alive(this.pid!)) await this.pm2('kill').catch(() => undefined);
    await registry.killAndWait().catch(() => undefined);
    rmSync(this.tmp, { recursive: true, force: true });
  }
}
