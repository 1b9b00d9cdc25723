// `tend up [DIR] [-d] [--wait]`: run the daemon in the foreground, or start it detached (its own
// session, its output in .tend/tend.log) and, with --wait, follow it until everything converged.

import { spawn } from 'node:child_process';
import { closeSync, fstatSync, mkdirSync, openSync, readFileSync, readSync, statfsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { ApiClient } from '../api/client.js';
import type { StatusReport } from '../api/types.js';
import { isLoopbackHost, parseHttpAddress } from '../api/http-address.js';
import { HTTP_INFO_NAME, readHttpInfo } from '../api/http-token.js';
import { TendError } from '../errors.js';
import { busy, servicesHolder } from '../state/services-lock.js';
import { leaveStateDirVar } from '../state/state-dir-var.js';
import { realOrSelf } from '../spec/dir.js';
import { deferExtraCa } from '../util/deferred-ca.js';
import { nodeOptionsAside } from '../util/node-options.js';
import { passCallerNofile } from '../util/nofile.js';
import { displayPath, fromWorkingDir } from '../util/working-dir.js';
import { delay, parseCount, parseDuration, type Cli } from './context.js';
import { EXIT } from './exit-codes.js';
import { specError } from './format.js';
import { lastOutput } from './last-output.js';
import { paint } from './term.js';

export interface UpOptions {
  detach?: boolean;
  wait?: boolean;
  timeout: string;
  settle?: string;
  adopt: boolean;
  logLevel?: string;
  maxReplicas?: string;
  /** `HOST:PORT` of the TCP listener and dashboard; off when undefined. */
  http?: string;
  httpAllowRemote?: boolean;
  /** Start even when DIR does not exist yet, and pick it up when it appears. */
  waitForDir?: boolean;
  /** Hidden: set by `up -d` on the process it spawns, which then runs the daemon. */
  detachedChild?: boolean;
}

const POLL_MS = 100;
/** How long `--wait` wants to see the status converged, with no restart, before it says so. */
const STABLE_MS = 500;

/** Runs `up`; resolves with the exit code (the daemon's own when in the foreground). */
export async function upCommand(cli: Cli, dirArg: string | undefined, opts: UpOptions): Promise<number> {
  const dir = fromWorkingDir(dirArg ?? 'services.d');
  const settleMs = opts.settle === undefined ? undefined : parseDuration(opts.settle, '--settle');
  const timeoutMs = parseDuration(opts.timeout, '--timeout');
  if (opts.wait && !opts.detach) throw new TendError('API_BAD_REQUEST', '--wait needs -d (in the foreground, tend runs until stopped)');
  const http = httpOption(opts);
  checkLogLevel(opts.logLevel);
  if (!opts.waitForDir && !opts.detachedChild && !checkDirectory(dir, cli.stateDir())) {
    cli.err.write(`tend: ${displayPath(dir)} does not exist (yet): keeping what the previous daemon ran from its last good specs, and loading the directory when it appears\n`);
  }
  if (!opts.detach) {
    // Loaded here so that client commands never pay for the daemon's modules.
    const { runDaemon } = await import('../daemon.js');
    return runDaemon({
      dir,
      stateDir: cli.stateDir(),
      adopt: opts.adopt,
      detached: opts.detachedChild ?? false,
      ...(settleMs === undefined ? {} : { settleMs }),
      ...(opts.logLevel === undefined ? {} : { logLevel: opts.logLevel }),
      ...(opts.maxReplicas === undefined ? {} : { maxReplicas: parseCount(opts.maxReplicas, '--max-replicas') }),
      ...(http === undefined ? {} : { http }),
    });
  }
  const deadline = Date.now() + timeoutMs;
  const started = await startDetached(cli, dir, opts, deadline);
  if (started === EXIT.OK && http !== undefined) await warnNoListener(cli, deadline);
  if (started !== EXIT.OK || !opts.wait) return started;
  return waitConverged(cli, cli.client(), deadline, opts.timeout);
}

// The daemon binds --http once its API answers; an address in use leaves it running without a
// listener (its services must not pay for it). Said here, rather than found out at `tend dashboard`.
async function warnNoListener(cli: Cli, deadline: number): Promise<void> {
  const pid = (await cli.client().status().catch(() => undefined))?.pid;
  const path = join(cli.stateDir(), HTTP_INFO_NAME);
  while (pid !== undefined) {
    const info = readHttpInfo(path);
    if (info?.pid === pid) {
      if ('error' in info) {
        cli.err.write(`tend: warning: no dashboard: cannot listen on ${info.address}: ${info.error}; the services run, with the Unix socket alone (free the address, then \`tend down && tend up -d --http ${info.address}\`)\n`);
      }
      return;
    }
    if (Date.now() > deadline) return;
    await delay(POLL_MS);
  }
}

// A daemon on a directory that does not exist would watch nothing: say so, unless asked to wait.
// Mid-deploy (a restart of tend while a release swaps services.d) the directory may be missing for a
// moment while the previous daemon's replicas run: when its state file holds last good specs loaded
// from this very directory, the new daemon starts from those (crash safety, issue 11) and false is
// returned for a warning. A mistyped directory is still an error.
function checkDirectory(dir: string, stateDir: string): boolean {
  const st = statSync(dir, { throwIfNoEntry: false });
  if (st === undefined) {
    if (ranFrom(stateDir, dir)) return false;
    throw new TendError('SPEC_INVALID', `the services directory ${displayPath(dir)} does not exist; create it, or add --wait-for-dir to start now and load it when it appears`);
  }
  if (!st.isDirectory()) throw new TendError('SPEC_INVALID', `${displayPath(dir)} is not a directory (tend up takes the directory of *.yaml files)`);
  return true;
}

/** Whether the state file left in `stateDir` holds services loaded from `dir`. Read only: the
 *  daemon itself moves a corrupt state file aside, with an event. */
function ranFrom(stateDir: string, dir: string): boolean {
  try {
    const state = JSON.parse(readFileSync(join(stateDir, 'state.json'), 'utf8')) as { specs?: Record<string, { file?: unknown }> };
    return Object.values(state.specs ?? {}).some((s) => typeof s.file === 'string' && s.file.startsWith(`${dir}/`));
  } catch {
    return false;
  }
}

// Spawns this CLI again as `up DIR --detached-child` in a new session, its output appended to
// tend.log, and waits for its socket to answer.
async function startDetached(cli: Cli, dir: string, opts: UpOptions, deadline: number): Promise<number> {
  const stateDir = cli.stateDir();
  const client = cli.client();
  const running = await client.status().catch((err: unknown) => {
    // None answers: start one. Unless the directory is not this user's to use (it says whose).
    if (err instanceof TendError && err.code === 'DAEMON_UNREACHABLE' && err.details['code'] === undefined) return undefined;
    throw err;
  });
  if (running) {
    const leave = leaveStateDirVar(stateDir);
    const other = realOrSelf(running.source) !== realOrSelf(dir);
    throw new TendError(
      'DAEMON_RUNNING',
      other
        ? `the state directory ${displayPath(stateDir)} is in use by the tend daemon ${running.pid}, which supervises ${running.source}, not ${dir}; ${leave ?? 'give another --state-dir'}`
        : `a tend daemon (pid ${running.pid}) already supervises ${running.source} on ${displayPath(stateDir)}; ${leave ?? 'stop it with `tend down` or use another --state-dir'}`,
    );
  }

  const holder = await servicesHolder(dir);
  if (holder !== undefined) throw busy(dir, holder);

  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  const logPath = join(stateDir, 'tend.log');
  const fd = openSync(logPath, 'a', 0o600);
  const logStart = fstatSync(fd).size;
  const args = [
    ...process.execArgv,
    process.argv[1] as string,
    '--state-dir',
    stateDir,
    'up',
    dir,
    '--detached-child',
    ...(opts.settle === undefined ? [] : ['--settle', opts.settle]),
    ...(opts.adopt ? [] : ['--no-adopt']),
    ...(opts.logLevel === undefined ? [] : ['--log-level', opts.logLevel]),
    ...(opts.maxReplicas === undefined ? [] : ['--max-replicas', opts.maxReplicas]),
    ...(opts.http === undefined ? [] : ['--http', opts.http]),
    ...(opts.httpAllowRemote ? ['--http-allow-remote'] : []),
  ];
  // The daemon is tend too: it starts as `tend` does, with NODE_EXTRA_CA_CERTS put off (deferred-ca.ts),
  // NODE_OPTIONS set aside for the replicas (node-options.ts) and the caller's open-files limit,
  // which this process, being Node, no longer has (nofile.ts).
  const child = spawn(process.execPath, args, { detached: true, stdio: ['ignore', fd, fd], env: passCallerNofile(nodeOptionsAside(deferExtraCa())) });
  closeSync(fd);
  let exited: number | null | undefined;
  let killedBy: NodeJS.Signals | null = null;
  child.once('exit', (code, signal) => {
    exited = code ?? (signal ? 128 : 1);
    killedBy = signal;
  });
  child.unref();

  for (;;) {
    if (exited !== undefined) {
      const ended = killedBy === null ? `exited with code ${exited}` : `was killed by ${killedBy}`;
      const why = daemonOutput(logPath, logStart) || `the daemon ${ended}${silence(stateDir)}`;
      cli.err.write(`tend: the daemon did not start:\n${why}\nsee ${displayPath(logPath)}\n`);
      return exited === EXIT.CONFLICT ? EXIT.CONFLICT : EXIT.FAILURE;
    }
    const up = await client.status().then(
      (s) => s,
      () => undefined,
    );
    if (up) {
      cli.out.write(`tend daemon started (pid ${up.pid}), supervising ${up.source}; log in ${displayPath(logPath)}\n`);
      return EXIT.OK;
    }
    if (Date.now() > deadline) {
      cli.err.write(`tend: the daemon (pid ${child.pid}) did not answer on ${displayPath(client.socketPath)} in time; see ${displayPath(logPath)}\n`);
      return EXIT.FAILURE;
    }
    await delay(POLL_MS);
  }
}

// Why a daemon that exited left nothing in tend.log: the file system it is on is full (its error
// could not be written either).
function silence(stateDir: string): string {
  try {
    const fs = statfsSync(stateDir);
    if (fs.bavail === 0) return `, and wrote nothing: the file system of ${displayPath(stateDir)} is full (no space left on device)`;
    if (fs.ffree === 0 && fs.files > 0) return `, and wrote nothing: the file system of ${displayPath(stateDir)} has no inode left`;
  } catch {
    /* gone meanwhile: nothing more to say */
  }
  return '';
}

// What the daemon said before it exited: non-JSON lines (our own error message) and the messages of
// pino lines at warn level or above; the last few of them.
function daemonOutput(path: string, from: number): string {
  const fd = openSync(path, 'r');
  try {
    const size = fstatSync(fd).size;
    const buf = Buffer.alloc(Math.min(size - from, 64 * 1024));
    readSync(fd, buf, 0, buf.length, Math.max(from, size - buf.length));
    const lines = buf
      .toString('utf8')
      .split('\n')
      .filter((l) => l.trim() !== '')
      .flatMap((l) => {
        try {
          const rec = JSON.parse(l) as { level?: number; msg?: string; err?: { message?: string } };
          return (rec.level ?? 0) >= 40 ? [rec.err?.message ? `${rec.msg}: ${rec.err.message}` : String(rec.msg)] : [];
        } catch {
          return [l];
        }
      });
    // A crash's stack trace: its first lines say what it was, its last where; the middle is Node's.
    return (lines.length > 6 ? [...lines.slice(0, 3), '…', ...lines.slice(-2)] : lines).join('\n');
  } finally {
    closeSync(fd);
  }
}

/** Polls the status, printing each service's progress when it changes, until it has converged and
 *  stayed so for STABLE_MS (0), a service cannot get there (1: failed, blocked, a spec error) or
 *  the deadline passes (1). The stable window keeps a command that dies at once after its spawn
 *  (ready at once when it has no readiness probe) from being reported as converged. */
async function waitConverged(cli: Cli, client: ApiClient, deadline: number, timeoutText: string): Promise<number> {
  const shown = new Map<string, string>();
  let convergedSince: number | undefined;
  let lastRestarts = 0;
  for (;;) {
    let status: StatusReport;
    try {
      status = await client.status();
    } catch (err) {
      cli.err.write(`tend: the daemon went away while waiting: ${(err as Error).message}\n`);
      return EXIT.FAILURE;
    }
    for (const svc of status.services) {
      const line = progressOf(svc);
      if (shown.get(svc.name) !== line) {
        shown.set(svc.name, line);
        cli.out.write(`${line}\n`);
      }
    }
    const verdict = stuck(status);
    if (verdict) {
      // The reasons follow on lines of their own, as `docker compose up --wait` lists its containers.
      cli.err.write(`tend: ${paint(cli.err, 'red', verdict)}\n` + (await crashOutput(client, cli, status)));
      return EXIT.FAILURE;
    }
    const restarts = status.services.reduce((n, svc) => n + svc.restarts, 0);
    if (!status.converged || restarts !== lastRestarts) convergedSince = undefined;
    else convergedSince ??= Date.now();
    lastRestarts = restarts;
    if (convergedSince !== undefined && Date.now() - convergedSince >= STABLE_MS) {
      cli.out.write(paint(cli.out, 'green', 'converged') + '\n');
      return EXIT.OK;
    }
    if (Date.now() > deadline) {
      const pending = status.services.filter((s) => !doneOf(s)).map(progressOf);
      cli.err.write(`tend: timed out after ${timeoutText} waiting for: ${pending.join('; ') || 'convergence'}\n` + (await crashOutput(client, cli, status)));
      return EXIT.FAILURE;
    }
    await delay(POLL_MS);
  }
}

/** What the first crashed replica of each service not done printed last (last-output.ts). */
async function crashOutput(client: ApiClient, cli: Cli, status: StatusReport): Promise<string> {
  const blocks = await Promise.all(status.services.filter((s) => !doneOf(s)).map((s) => lastOutput(client, cli.err, s, 1)));
  return blocks.join('');
}

/** `api 1/2 ready`, `worker waiting for db: healthy`, `migrate completed`. */
function progressOf(svc: StatusReport['services'][number]): string {
  if (svc.blocked) return `${svc.name} blocked: ${svc.blocked}`;
  if (svc.waiting_for) return `${svc.name} waiting for ${svc.waiting_for}`;
  if (svc.oneshot) return `${svc.name} ${svc.state}`;
  return `${svc.name} ${svc.ready}/${svc.replicas_desired} ready${svc.state === 'running' ? '' : ` (${svc.state})`}`;
}

function doneOf(svc: StatusReport['services'][number]): boolean {
  if (svc.replicas_desired === 0) return svc.state === 'stopped';
  return svc.oneshot ? svc.state === 'completed' : svc.ready >= svc.replicas_desired && svc.state === 'running';
}

/** Why the status can no longer converge by itself, or undefined while it still can. */
function stuck(status: StatusReport): string | undefined {
  if (status.errors.length > 0) return `spec errors:\n${status.errors.map(specError).join('\n')}`;
  const reasons: string[] = [];
  const byName = new Map(status.services.map((s) => [s.name, s]));
  for (const svc of status.services) {
    if (svc.state === 'blocked') reasons.push(`${svc.name} is blocked: ${svc.blocked ?? 'unknown reason'}`);
    // Waiting on a dependency that will not get there by itself: a failed one, a blocked one, one
    // held by `tend stop`, or one scaled to 0.
    const dep = svc.waiting_for && !svc.blocked ? byName.get(svc.waiting_for.split(':')[0]!) : undefined;
    if (dep && (dep.state === 'failed' || dep.state === 'blocked' || dep.state === 'held' || dep.replicas_desired === 0)) {
      reasons.push(`${svc.name} cannot start: it waits for ${svc.waiting_for}, and ${dep.name} is ${dep.replicas_desired === 0 && dep.state !== 'held' ? 'scaled to 0' : dep.state}`);
    }
    if (svc.state !== 'failed') continue;
    const failed = svc.replicas.filter((r) => r.state === 'failed');
    const why = failed.map((r) => `${svc.name}/${r.index}: ${r.reason ?? 'failed'}`).join(', ');
    reasons.push(`${svc.name} failed${why ? ` (${why})` : ''}`);
  }
  return reasons.length > 0 ? reasons.join('\n') : undefined;
}

/** The levels of the daemon's log (pino's). */
const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];

// A level pino does not know crashed the daemon as it made its logger: an "internal error" in the
// foreground, a stack trace's tail from `up -d`. Checked before anything starts, as a usage error.
function checkLogLevel(option: string | undefined): void {
  const level = option ?? process.env['TEND_LOG_LEVEL'];
  if (level === undefined || level === '' || LOG_LEVELS.includes(level)) return;
  const name = option === undefined ? 'TEND_LOG_LEVEL' : '--log-level';
  throw new TendError('API_BAD_REQUEST', `expected ${name} to be one of ${LOG_LEVELS.join(', ')}, got ${JSON.stringify(level)}`);
}

// --http is checked here, before anything starts: a typo or a remote address without
// --http-allow-remote is a usage error, not a daemon that runs without its listener.
function httpOption(opts: UpOptions): { address: string; allowRemote: boolean } | undefined {
  if (opts.http === undefined) {
    if (opts.httpAllowRemote) throw new TendError('API_BAD_REQUEST', '--http-allow-remote needs --http HOST:PORT');
    return undefined;
  }
  const { host } = parseHttpAddress(opts.http);
  if (!isLoopbackHost(host) && !opts.httpAllowRemote) {
    throw new TendError(
      'API_BAD_REQUEST',
      `--http ${opts.http} is not a loopback address; pass --http-allow-remote as well to serve the API and dashboard to the network (see docs/dashboard.md)`,
    );
  }
  return { address: opts.http, allowRemote: opts.httpAllowRemote ?? false };
}
