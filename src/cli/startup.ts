// `tend startup [DIR] [--user] [--name NAME] [--install]`: a systemd unit that runs `tend up DIR`
// at boot, as `pm2 startup` writes one for PM2. Written by hand (the README's example), a unit
// failed in ways that only show at the next boot: systemd starts services with a PATH of its own,
// so `tend`'s `exec node` found no node installed by nvm or in /opt ("node: not found"); relative
// paths resolve against `/`; and the default TimeoutStopSec (90 s) cut short a shutdown whose
// dependents-first stops took longer. This one names every path absolutely, puts the directory of
// the node running it first on PATH, and gives systemd the time tend's stop can take.
//
// Printed on stdout (`tend startup | sudo tee /etc/systemd/system/tend-app.service`), or written
// with --install; the next steps (daemon-reload, enable --now) go to stderr. tend runs no
// systemctl itself: what it enables at boot is the user's call.

import { existsSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { homedir, userInfo } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TendError } from '../errors.js';
import { SHUTDOWN_DRAIN_MS } from '../hooks/runner.js';
import { loadDirectory } from '../spec/load.js';
import type { ServiceSpec } from '../spec/types.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import { displayPath, fromWorkingDir, workingDir } from '../util/working-dir.js';
import type { Cli } from './context.js';
import { EXIT } from './exit-codes.js';

export interface StartupOptions {
  /** A unit of the user's own systemd (`systemctl --user`), not a system one. */
  user?: boolean;
  name?: string;
  install?: boolean;
}

export interface UnitInput {
  /** The tend command (dist/bin/tend.js, whose sh line execs node). */
  tend: string;
  /** The directory of the node that runs tend: first on the unit's PATH. */
  nodeDir: string;
  dir: string;
  stateDir: string;
  workingDir: string;
  scope: 'system' | 'user';
  /** `User=` of a system unit; none runs it as root. */
  runAs?: string;
  /** Type=notify with a watchdog when tend can speak sd_notify (unix-dgram built), else Type=exec. */
  notify: boolean;
  stopTimeoutSec: number;
}

/** systemd's own PATH for services (src/basic/path-util.h, DEFAULT_PATH_NORMAL). */
const SYSTEMD_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
/** systemd's DefaultTimeoutStopSec: the least a unit is given here. */
const MIN_STOP_SEC = 90;
/** What tend's stop takes besides the replicas' stop timeouts: signals, the last state write,
 *  and the hooks the stop set off. */
const STOP_MARGIN_SEC = 10 + SHUTDOWN_DRAIN_MS / 1000;

/** The unit file's text. */
export function systemdUnit(u: UnitInput): string {
  const exec = [u.tend, '--state-dir', u.stateDir, 'up', u.dir].map(quoteArg).join(' ');
  const path = [u.nodeDir, ...SYSTEMD_PATH.split(':').filter((p) => p !== u.nodeDir)].join(':');
  const lines = [
    `# tend for ${u.dir}, written by \`tend startup\`.`,
    '[Unit]',
    `Description=tend: ${specifiers(u.dir)}`,
    'After=network-online.target',
    'Wants=network-online.target',
    '',
    '[Service]',
    ...(u.notify
      ? ['# tend says READY=1 once its API answers, and WATCHDOG=1 from its event loop.', 'Type=notify', 'WatchdogSec=30s']
      : ['# Type=exec: tend cannot speak sd_notify here (its optional dependency unix-dgram is not built).', 'Type=exec']),
    `ExecStart=${exec}`,
    `WorkingDirectory=${specifiers(u.workingDir)}`,
    ...(u.runAs === undefined ? [] : [`User=${u.runAs}`]),
    `# systemd's own PATH, after the directory of the node that ran \`tend startup\`.`,
    `Environment=${quoteArg(`PATH=${path}`)}`,
    '# tend stops the replicas, dependents first; systemd then kills what is left.',
    'KillMode=mixed',
    `TimeoutStopSec=${u.stopTimeoutSec}s`,
    'Restart=on-failure',
    'RestartSec=1s',
    '',
    '[Install]',
    `WantedBy=${u.scope === 'user' ? 'default.target' : 'multi-user.target'}`,
  ];
  return lines.join('\n') + '\n';
}

/** One argument of ExecStart= or an assignment of Environment=: double-quoted, with `\` and `"`
 *  escaped, `%` (specifiers) and `$` (variables) doubled, as systemd.service(5) reads them. */
export function quoteArg(arg: string): string {
  return `"${specifiers(arg).replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\$/g, '$$$$')}"`;
}

function specifiers(s: string): string {
  if (/[\n\r]/.test(s)) throw new TendError('API_BAD_REQUEST', `a path with a line break cannot go in a unit file: ${JSON.stringify(s)}`);
  return s.replace(/%/g, '%%');
}

/** How long tend's stop may take: along the longest chain of dependents, each service's
 *  stop_timeout one after the other (tend stops dependents first), plus a margin. */
export function stopTimeoutSec(services: readonly Pick<ServiceSpec, 'name' | 'dependsOn' | 'stopTimeoutMs'>[]): number {
  const byName = new Map(services.map((s) => [s.name, s]));
  const longest = new Map<string, number>();
  const visiting = new Set<string>();
  const chain = (name: string): number => {
    const known = longest.get(name);
    if (known !== undefined) return known;
    const s = byName.get(name);
    if (s === undefined || visiting.has(name)) return 0; // unknown, or a cycle (the loader reports it)
    visiting.add(name);
    // A service is stopped after everything that depends on it.
    let after = 0;
    for (const other of services) if (Object.hasOwn(other.dependsOn, name)) after = Math.max(after, chain(other.name));
    visiting.delete(name);
    const total = after + s.stopTimeoutMs;
    longest.set(name, total);
    return total;
  };
  const ms = Math.max(0, ...services.map((s) => chain(s.name)));
  return Math.max(MIN_STOP_SEC, Math.ceil(ms / 1000) + STOP_MARGIN_SEC);
}

/** Where --install writes a unit. */
export function unitDir(scope: 'system' | 'user', env: NodeJS.ProcessEnv = process.env): string {
  if (scope === 'system') return '/etc/systemd/system';
  const config = env['XDG_CONFIG_HOME'] !== undefined && env['XDG_CONFIG_HOME'].startsWith('/') ? env['XDG_CONFIG_HOME'] : join(homedir(), '.config');
  return join(config, 'systemd', 'user');
}

/** `tend-<project directory>`, in the characters a unit name may hold. */
export function unitName(workingDirectory: string, given?: string): string {
  const name = given ?? `tend-${basename(workingDirectory) || 'root'}`;
  const clean = name.replace(/\.service$/, '');
  if (!/^[A-Za-z0-9:_.\\-]{1,200}$/.test(clean)) {
    throw new TendError('API_BAD_REQUEST', `expected --name to be a unit name (letters, digits, ":", "_", ".", "-"), got "${name}"`);
  }
  return clean;
}

export async function startupCommand(cli: Cli, dirArg: string | undefined, opts: StartupOptions): Promise<number> {
  const dir = fromWorkingDir(dirArg ?? 'services.d');
  if (!existsSync(dir)) throw new TendError('SPEC_INVALID', `the services directory ${displayPath(dir)} does not exist`);
  const tend = fileURLToPath(new URL('../../dist/bin/tend.js', import.meta.url));
  if (!existsSync(tend)) throw new TendError('SPEC_INVALID', `${tend} is not built: run \`npm run build\` first`);
  const scope = opts.user ? 'user' : 'system';
  const loaded = await loadDirectory(dir);
  const name = unitName(workingDir(), opts.name);
  const unit = systemdUnit({
    tend,
    nodeDir: dirname(process.execPath),
    dir,
    stateDir: cli.stateDir(),
    workingDir: workingDir(),
    scope,
    ...(scope === 'system' ? runAs() : {}),
    notify: canNotify(),
    stopTimeoutSec: stopTimeoutSec(loaded.services),
  });
  if (loaded.problems.length > 0) {
    cli.err.write(`tend: ${displayPath(dir)} has ${loaded.problems.length} problem(s) now (tend validate shows them); tend started by the unit runs what loads\n`);
  }
  const systemctl = scope === 'user' ? 'systemctl --user' : 'sudo systemctl';
  const next = [`  ${systemctl} daemon-reload`, `  ${systemctl} enable --now ${name}`, `  ${systemctl} status ${name}`];
  if (scope === 'user') next.push(`  sudo loginctl enable-linger ${myName()}    # to start it at boot, not at your first login`);
  if (!opts.install) {
    cli.out.write(unit);
    const target = join(unitDir(scope), `${name}.service`);
    cli.err.write(`tend: to install it: tend startup${opts.user ? ' --user' : ''} --install (or pipe this to ${scope === 'system' ? 'sudo ' : ''}tee ${target}), then:\n${next.join('\n')}\n`);
    return EXIT.OK;
  }
  const where = unitDir(scope);
  const file = join(where, `${name}.service`);
  try {
    mkdirSync(where, { recursive: true });
    writeFileAtomic(file, unit, 0o644);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') {
      throw new TendError('FILE_NOT_WRITABLE', `cannot write ${file}: ${code === 'EROFS' ? 'read-only file system' : 'permission denied'}; ${scope === 'system' ? 'run it as root (sudo), or use --user for a unit of your own' : 'check the directory'}`, {}, { cause: err });
    }
    throw err;
  }
  cli.out.write(`wrote ${file}; now:\n${next.join('\n')}\n`);
  return EXIT.OK;
}

/** Who a system unit runs as: whoever asked (through sudo: who ran sudo), not root, as `pm2
 *  startup -u` does; root when root asked itself. */
function runAs(): { runAs?: string } {
  const sudoUser = process.env['SUDO_USER'];
  if (process.getuid?.() === 0) return sudoUser !== undefined && sudoUser !== '' && sudoUser !== 'root' ? { runAs: sudoUser } : {};
  return { runAs: myName() };
}

/** This user's name, or its uid where it has none (a container's uid with no passwd entry:
 *  os.userInfo() throws); systemd's User= takes either. */
function myName(): string {
  try {
    return userInfo().username;
  } catch {
    return String(process.getuid?.() ?? '');
  }
}

function canNotify(): boolean {
  try {
    createRequire(import.meta.url)('unix-dgram');
    return true;
  } catch {
    return false;
  }
}
