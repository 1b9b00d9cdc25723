// Runs the real daemon as a separate process (so a test can SIGKILL it) and talks to it over its socket.

import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, closeSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { ApiClient } from '../../src/api/client.js';
import type { StatusReport } from '../../src/api/types.js';
import { cleanup, FIXTURES, NODE, ROOT, allPids, isAlive, procStat, procState, waitFor } from './index.js';
import { SOCKET_NAME } from '../../src/state/pid-file.js';
import { readSupervisorId } from '../../src/state/orphans.js';

export interface DaemonProcess {
  child: ChildProcess;
  pid: number;
  api: ApiClient;
  status(): Promise<StatusReport>;
  /** Waits until status is converged and `check` holds. */
  converged(check?: (s: StatusReport) => boolean, timeoutMs?: number): Promise<StatusReport>;
  exited: Promise<number | null>;
}

/** Starts `runDaemon` in a child process. Every replica group it reports is killed after the test. */
export async function startDaemon(
  t: TestContext,
  dir: string,
  stateDir: string,
  {
    flags = [],
    nofile,
    nproc,
    env,
    inotifyWatches,
  }: { flags?: string[]; nofile?: number; nproc?: number; env?: Record<string, string>; inotifyWatches?: number } = {},
): Promise<DaemonProcess> {
  const logFile = join(stateDir, '..', `daemon-${Date.now()}.log`);
  const out = openSync(logFile, 'a');
  const argv = [NODE, '--import', 'tsx', join(FIXTURES, 'run-daemon.ts'), dir, stateDir, ...flags];
  // With `nofile` (or `nproc`), a shell sets the descriptor (or process) limit and then becomes the
  // daemon (exec): Node has no setrlimit.
  // With `inotifyWatches`, the daemon runs in a user namespace of its own (`unshare -U -r`), whose
  // inotify limit is set to that: the machine's is left alone (Linux counts watches per namespace).
  const ulimits = [
    ...(nofile === undefined ? [] : [`ulimit -n ${nofile}`]),
    ...(nproc === undefined ? [] : [`ulimit -u ${nproc}`]),
    ...(inotifyWatches === undefined ? [] : [`echo ${inotifyWatches} > /proc/sys/user/max_inotify_watches`]),
  ];
  const shell = ['sh', '-c', `${ulimits.join(' && ')} && exec "$@"`, 'sh', ...argv];
  const [cmd, ...args] = ulimits.length === 0 ? argv : inotifyWatches === undefined ? shell : ['unshare', '-U', '-r', ...shell];
  const child = spawn(cmd!, args, { cwd: ROOT, stdio: ['ignore', out, out], ...(env ? { env: { ...process.env, ...env } } : {}) });
  closeSync(out);
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  killAfter(t, child, stateDir);
  const api = new ApiClient(join(stateDir, SOCKET_NAME));
  // Generous: the daemon runs from source through tsx, which on a loaded 2-core machine took 12–20 s
  // to compile it before the socket answered (a test timed out at 15 s in CI's conditions).
  await waitFor(() => api.status(), { what: 'daemon socket', timeoutMs: 60_000 }).catch((err: unknown) => {
    // Say why: whether the daemon is still there, and the end of what it wrote.
    const said = readFileSync(logFile, 'utf8').trimEnd().split('\n').slice(-30).join('\n');
    const state = child.exitCode !== null || child.signalCode !== null ? `exited (${child.exitCode ?? child.signalCode})` : `running, ${procState(child.pid!) ?? 'gone'}`;
    throw new Error(`${(err as Error).message}\nthe daemon is ${state}; its output ends with:\n${said}`, { cause: err });
  });
  markedGroups(stateDir); // remembers the state directory's token for the cleanup above
  const d: DaemonProcess = {
    child,
    pid: child.pid!,
    api,
    exited,
    status: () => api.status(),
    converged: (check = () => true, timeoutMs = 15_000) =>
      waitFor(
        async () => {
          const s = await api.status();
          return s.converged && check(s) ? s : undefined;
        },
        { what: 'converged', timeoutMs, intervalMs: 25 },
      ),
  };
  return d;
}

/** After the test: the daemon `child` is killed, and gone, before anything made earlier in the
 *  test is undone (a daemon still there puts back a state directory removed under it); then its
 *  replicas, by their marker, once it can no longer start them again (the other order left the
 *  replacements of the killed ones running). */
export function killAfter(t: TestContext, child: ChildProcess, stateDir: string): void {
  const gone = new Promise<void>((r) => (child.exitCode !== null || child.signalCode !== null ? r() : child.once('exit', () => r())));
  cleanup(t, async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await gone;
    }
    killMarkedGroups(stateDir);
  });
}

/** Kills every replica (and its group) that carries this state dir's marker, and every exec probe
 *  and hook command its daemons ran (TEND_TRANSIENT_OF: one in flight when the test SIGKILLed the
 *  daemon wrote into the test's directory as it was removed), whatever the test left: call it from
 *  a cleanup, after markedGroups(stateDir) once saw the directory's token. */
export function killMarkedGroups(stateDir: string): void {
  for (const pid of [...markedGroups(stateDir), ...transientGroups(stateDir)]) {
    for (const target of [-pid, pid]) {
      try {
        process.kill(target, 'SIGKILL');
      } catch {
        /* gone, or not a group leader */
      }
    }
  }
}

/** SIGKILLs a detached daemon (`up -d`) of `stateDir` by its pid, if that pid is still it (its
 *  command line names the state directory): after the test, the pid may be another process's. */
export function killDetachedDaemon(pid: number, stateDir: string): void {
  try {
    if (!readFileSync(`/proc/${pid}/cmdline`, 'latin1').split('\0').includes(stateDir)) return;
    process.kill(pid, 'SIGKILL');
  } catch {
    /* gone */
  }
}

const tokens = new Map<string, string>();

/** Group leaders alive with this state dir's token in their environment: its replicas (and any
 *  descendant of theirs that left their group). */
export function markedGroups(stateDir: string): number[] {
  // The token is remembered: cleanup may run after the test's directory (and its `id`) is gone.
  const token = tokens.get(stateDir) ?? readSupervisorId(stateDir);
  if (token !== undefined) tokens.set(stateDir, token);
  const needle = token === undefined ? undefined : `TEND_SUPERVISOR_ID=${token}\0`;
  // Without a token, a replica of this test's own state directory: its path and a spawn nonce.
  const pathNeedle = `TEND_STATE_DIR=${stateDir}\0`;
  const found: number[] = [];
  for (const pid of allPids()) {
    if (!isAlive(pid)) continue;
    try {
      const env = readFileSync(`/proc/${pid}/environ`, 'latin1');
      if (needle !== undefined ? env.includes(needle) : env.includes(pathNeedle) && env.includes('TEND_REPLICA_NONCE=')) found.push(pid);
    } catch {
      /* gone */
    }
  }
  return found;
}

/** Exec probes and hook commands that the daemons of this state dir ran (src/state/orphans.ts
 *  TRANSIENT_VAR), found by the token markedGroups remembered. */
export function transientGroups(stateDir: string): number[] {
  const token = tokens.get(stateDir) ?? readSupervisorId(stateDir);
  if (token === undefined) return [];
  const needle = `TEND_TRANSIENT_OF=${token}:`;
  return allPids().filter((pid) => {
    try {
      return isAlive(pid) && readFileSync(`/proc/${pid}/environ`, 'latin1').includes(needle);
    } catch {
      return false;
    }
  });
}

/** Zombie children of a process: what it failed to reap. */
export function zombieChildren(ppid: number): number[] {
  return allPids().filter((pid) => {
    const st = procStat(pid);
    return st?.state === 'Z' && st.ppid === ppid;
  });
}

export function runningPids(s: StatusReport, service?: string): number[] {
  return s.services
    .filter((x) => service === undefined || x.name === service)
    .flatMap((x) => x.replicas.filter((r) => r.state === 'running' && r.pid !== null).map((r) => r.pid!))
    .sort((a, b) => a - b);
}

export { procState };
