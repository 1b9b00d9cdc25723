// tend, run as a user runs it: `tend --state-dir S up DIR` in the foreground, as its own process
// (the built CLI when it works, else the CLI through tsx, else bench/lib/run-daemon.ts); replicas
// scaled by editing `replicas:` in the spec file; stopped with POST /v1/shutdown (`tend down`).

import { spawnSync, type ChildProcess } from 'node:child_process';
import { accessSync, constants, copyFileSync, existsSync, mkdirSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ApiClient } from '../../../src/api/client.js';
import type { StatusReport, TendEvent } from '../../../src/api/types.js';
import { findMarkedGroups, readSupervisorId } from '../../../src/state/orphans.js';
import type { Driver, LaunchOptions } from '../driver.js';
import { childrenOf, cmdlineOf, comm, registry, tailOf } from '../procs.js';
import { exitOf, launch } from '../spawn.js';
import { SOCKET_NAME } from '../../../src/state/pid-file.js';

const ROOT = resolve(import.meta.dirname, '../../..');

export type TendLauncher =
  /** The CLI as built by `npm run build` (dist/bin/tend.js), when it is at least as new as src/. */
  | { kind: 'dist'; entry: string }
  /** src/ compiled and bundled (as `npm run build` does) into a temp dir by the bench: the same JS. */
  | { kind: 'build'; entry: string }
  /** The CLI run through tsx (slower start-up: transpiles on load). */
  | { kind: 'tsx-cli' }
  /** bench/lib/run-daemon.ts through tsx, for when the CLI does not work. */
  | { kind: 'launcher' };

const executable = (file: string): boolean => {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
};

const works = (args: string[]) => spawnSync(process.execPath, args, { cwd: ROOT, stdio: 'ignore', timeout: 30_000 }).status === 0;

function newestMtime(dir: string): number {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    newest = Math.max(newest, e.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return newest;
}

/** Compiles src/ with the project's tsconfig into `<tmp>/dist` and bundles the CLI into
 *  `<tmp>/dist/bin`, beside links to package.json's neighbours (node_modules, schemas, libexec), so
 *  the CLI runs exactly as the built package does. Returns the bundled CLI. */
export function buildIntoTemp(tmp: string, log: (s: string) => void, sourceMap = false): string | undefined {
  mkdirSync(tmp, { recursive: true });
  const t0 = Date.now();
  const r = spawnSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json', '--outDir', join(tmp, 'dist'), '--sourceMap', String(sourceMap)], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 180_000,
  });
  copyFileSync(join(ROOT, 'package.json'), join(tmp, 'package.json'));
  for (const link of ['node_modules', 'schemas', 'libexec']) if (!existsSync(join(tmp, link))) symlinkSync(join(ROOT, link), join(tmp, link));
  if (r.status !== 0) log(`tsc reported errors (emitted anyway): ${(r.stdout + r.stderr).trim().split('\n').slice(0, 3).join(' | ')}`);
  const b = spawnSync(process.execPath, [join(ROOT, 'scripts/bundle-cli.mjs'), join(tmp, 'dist/bin'), ...(sourceMap ? ['--sourcemap'] : [])], { cwd: ROOT, encoding: 'utf8', timeout: 180_000 });
  if (b.status !== 0) log(`bundling failed: ${(b.stdout + b.stderr).trim().split('\n').slice(0, 3).join(' | ')}`);
  const entry = join(tmp, 'dist/bin/tend.js');
  log(`compiled src/ into ${tmp} in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  return existsSync(entry) && works([entry, 'up', '--help']) ? entry : undefined;
}

/**
 * How to start tend: `--tend=dist|build|tsx-cli|launcher`, or by default the built CLI when
 * dist/ is current, else a fresh tsc build in a temp dir, else the CLI through tsx, else the launcher.
 */
export function pickLauncher(wanted: string | undefined, buildDir: string, log: (s: string) => void): TendLauncher {
  const dist = join(ROOT, 'dist/bin/tend.js');
  const distOk = () => existsSync(dist) && works([dist, 'up', '--help']);
  if (wanted !== undefined && wanted.endsWith('.js')) {
    // An explicit CLI entry (e.g. another commit's build, for an A/B comparison).
    if (!works([wanted, 'up', '--help'])) throw new Error(`--tend=${wanted}: up --help does not work`);
    return { kind: 'dist', entry: resolve(wanted) };
  }
  if (wanted === 'dist') {
    if (!distOk()) throw new Error('--tend=dist: node dist/bin/tend.js up --help does not work (npm run build?)');
    return { kind: 'dist', entry: dist };
  }
  if (wanted === undefined && distOk() && statSync(dist).mtimeMs >= newestMtime(join(ROOT, 'src'))) return { kind: 'dist', entry: dist };
  if (wanted === undefined || wanted === 'build') {
    const entry = buildIntoTemp(buildDir, log);
    if (entry) return { kind: 'build', entry };
    if (wanted === 'build') throw new Error('--tend=build: the compiled CLI does not run');
  }
  if (wanted !== 'launcher' && works(['--import', 'tsx', 'src/cli/index.ts', 'up', '--help'])) return { kind: 'tsx-cli' };
  return { kind: 'launcher' };
}

export class TendDriver implements Driver {
  readonly name = 'tend';
  readonly dir: string;
  readonly stateDir: string;
  private child?: ChildProcess;
  private replicas = 0;
  private probePort?: number;
  private events?: AbortController;
  /** Arrival time (performance.now()) of replica.started events, by `service/index`, newest last. */
  readonly started = new Map<string, number[]>();

  constructor(
    private readonly tmp: string,
    private readonly launcher: TendLauncher,
  ) {
    // services.d sits alone in its parent: tend also watches the parent (for a switched symlink),
    // and the daemon's own log written there would wake the watcher on every line it logs.
    this.dir = join(tmp, 'project', 'services.d');
    this.stateDir = join(tmp, 'state');
  }

  get client(): ApiClient {
    return new ApiClient(join(this.stateDir, SOCKET_NAME));
  }

  describe(): string {
    const how = {
      dist: 'dist/bin/tend.js up (the built CLI, run as a command)',
      build: '<tmp>/dist/bin/tend.js up (src/ compiled and bundled into a temp dir as npm run build does, run as a command)',
      'tsx-cli': 'node --import tsx src/cli/index.ts up (transpiled on load: slower start-up)',
      launcher: 'node --import tsx bench/lib/run-daemon.ts (runDaemon, transpiled on load)',
    }[this.launcher.kind];
    return `tend via ${how}; default settle 100 ms; replicas sleep 1000, backoff initial 0, max_restarts 0`;
  }

  private spec(n: number): string {
    const lines = ['command: ["sleep", "1000"]', `replicas: ${n}`, 'backoff: { initial: 0 }', 'max_restarts: 0'];
    if (this.probePort !== undefined) {
      lines.push(`readiness: { tcp: { host: 127.0.0.1, port: ${this.probePort} }, interval: 1s, timeout: 1s }`);
    }
    return lines.join('\n') + '\n';
  }

  async launch(opts: LaunchOptions): Promise<void> {
    mkdirSync(this.dir, { recursive: true });
    this.replicas = opts.replicas;
    this.probePort = opts.probePort;
    if (opts.replicas > 0) writeFileSync(join(this.dir, 'bench.yaml'), this.spec(opts.replicas));
    const flags = opts.nodeFlags ?? [];
    const l = this.launcher;
    const args =
      l.kind === 'dist' || l.kind === 'build'
        ? [...flags, l.entry, '--state-dir', this.stateDir, 'up', this.dir]
        : l.kind === 'tsx-cli'
          ? [...flags, '--import', 'tsx', 'src/cli/index.ts', '--state-dir', this.stateDir, 'up', this.dir]
          : [...flags, '--import', 'tsx', 'bench/lib/run-daemon.ts', this.dir, this.stateDir];
    // The built CLI is run as a command, as `npx tend` or an installed `tend` runs it (through its sh
    // line, src/util/deferred-ca.ts); with Node flags (a profile), through node.
    const asCommand = (l.kind === 'dist' || l.kind === 'build') && flags.length === 0 && executable(l.entry);
    const [program, argv] = asCommand ? [args[0]!, args.slice(1)] : [process.execPath, args];
    this.child = launch(program, argv, { cwd: ROOT, logFile: join(this.tmp, 'daemon.log'), ...(opts.env ? { env: opts.env } : {}) });
  }

  supervisorPid(): number | undefined {
    return this.child?.pid;
  }

  /** tend's children: whether each is a spawn helper (those not exec'd yet are not recorded). */
  private readonly isHelper = new Map<number, boolean>();
  /** tend's spawn helpers (libexec/tend-spawn-helper.mjs): the parents of the replicas they forked. */
  replicaParents(): number[] {
    const root = this.child?.pid;
    if (root === undefined) return [];
    const out: number[] = [];
    for (const pid of childrenOf(root)) {
      let is = this.isHelper.get(pid);
      if (is === undefined) {
        const cmdline = cmdlineOf(pid);
        is = cmdline.includes('tend-spawn-helper');
        // A child still running tend's own image may exec into a helper yet, and one in the middle
        // of its exec has the helper's name but no command line yet (read as empty: a run of the
        // bench waited for ever on a helper taken for something else): decide later.
        if (is || (cmdline !== '' && comm(pid) !== comm(root))) this.isHelper.set(pid, is);
      }
      if (is) out.push(pid);
    }
    return out;
  }

  /** The daemon and its spawn helpers: their CPU is summed, their memory is their PSS summed. */
  supervisorProcesses(): number[] {
    const root = this.child?.pid;
    return root === undefined ? [] : [root, ...this.replicaParents()];
  }

  async status(): Promise<StatusReport | undefined> {
    try {
      return await this.client.status();
    } catch {
      return undefined;
    }
  }

  /** Follows /v1/events, recording when each replica.started arrives. */
  async followEvents(): Promise<void> {
    this.events?.abort();
    const ac = new AbortController();
    this.events = ac;
    const stream = this.client.events({ tail: 0, signal: ac.signal });
    // The first event (or none) tells us the subscription is live; start consuming in the background.
    void (async () => {
      try {
        for await (const e of stream) this.onEvent(e);
      } catch {
        /* daemon gone */
      }
    })();
  }

  private onEvent(e: TendEvent): void {
    if (e.type !== 'replica.started') return;
    const key = `${e.service}/${e.replica}`;
    const list = this.started.get(key) ?? [];
    list.push(performance.now());
    this.started.set(key, list);
  }

  /** Adds (or removes) a 1 s tcp readiness probe on every replica: a live change, no restart. */
  async setProbe(port: number | undefined): Promise<void> {
    this.probePort = port;
    writeFileSync(join(this.dir, 'bench.yaml'), this.spec(this.replicas));
  }

  async scale(n: number): Promise<void> {
    this.replicas = n;
    writeFileSync(join(this.dir, 'bench.yaml'), this.spec(n));
  }

  async stopAll(): Promise<void> {
    this.events?.abort();
    await this.client.shutdown();
  }

  exited(): Promise<void> {
    return this.child ? exitOf(this.child) : Promise.resolve();
  }

  async startJob(name: string, argv: string[]): Promise<string> {
    writeFileSync(join(this.dir, `${name}.yaml`), `command: ${JSON.stringify(argv)}\noneshot: true\nrestart: never\n`);
    return join(this.stateDir, 'logs', name, '0.log');
  }

  diagnostics(): string {
    return tailOf(join(this.tmp, 'daemon.log'));
  }

  async cleanup(): Promise<void> {
    this.events?.abort();
    for (const g of findMarkedGroups(readSupervisorId(this.stateDir) ?? '-')) registry.addPid(g.pgid, g.startTime, true);
    await registry.killAndWait().catch(() => undefined);
    rmSync(this.tmp, { recursive: true, force: true });
  }

  get replicaCount(): number {
    return this.replicas;
  }
}
