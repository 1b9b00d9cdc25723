// Runs a real Supervisor (watcher + controller + runtime) on a temp directory for a test, and
// guarantees that every process group it started is killed afterwards, even when the test fails.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import pino from 'pino';
import type { TendEvent } from '../../src/api/types.js';
import type { Instance } from '../../src/reconcile/types.js';
import { Supervisor, type SupervisorOptions } from '../../src/supervisor.js';
import { allPids, cleanup, processReaper, procStat, waitFor } from './index.js';
import { killMarkedGroups } from './daemon.js';

export interface TestSupervisor {
  sup: Supervisor;
  events: TendEvent[];
  /** Running replicas of a service by index → pid. */
  pids(service: string): Map<number, number>;
  /** Live instances (starting/running/paused/stopping) of a service. */
  live(service: string): Instance[];
  waitFor<T>(check: () => T, what: string, timeoutMs?: number): Promise<NonNullable<T>>;
  /** Waits until the service has exactly `n` running, ready replicas and nothing else live. */
  waitReady(service: string, n: number, timeoutMs?: number): Promise<Map<number, number>>;
}

export async function startSupervisor(
  t: TestContext,
  dir: string,
  stateDir: string,
  opts: Partial<SupervisorOptions> = {},
  { beforeStart }: { beforeStart?: (sup: Supervisor) => unknown } = {},
): Promise<TestSupervisor> {
  const reaper = processReaper(t);
  const events: TendEvent[] = [];
  const sup = new Supervisor({
    dir,
    stateDir: stateDir ?? join(dir, '..', 'state'),
    log: pino({ level: 'silent' }),
    settleMs: 30,
    statsIntervalMs: 0,
    onEvent: (e) => {
      events.push(e);
      if (e.type === 'replica.started' && e.pid) reaper.track(e.pid, true);
    },
    ...opts,
  });
  // Closed first, then every replica carrying this state directory's marker is killed, once the
  // spawn helpers are gone: a start in flight at the close forks after it, untold to the test (the
  // reaper above only knows the replicas it saw start), and was left running.
  cleanup(t, async () => {
    sup.close();
    await waitFor(() => spawnHelpersOfThisProcess().length === 0, { what: 'the spawn helpers to exit', timeoutMs: 10_000 });
    killMarkedGroups(sup.stateDir);
  });
  await beforeStart?.(sup);
  await sup.start();

  const live = (service: string) =>
    sup.controller.select(service).filter((i) => ['starting', 'running', 'paused', 'stopping'].includes(i.state));
  const pids = (service: string) =>
    new Map(sup.controller.select(service).filter((i) => i.state === 'running' && i.pid).map((i) => [i.index, i.pid!]));
  return {
    sup,
    events,
    pids,
    live,
    waitFor: (check, what, timeoutMs = 10_000) => waitFor(check, { what, timeoutMs }),
    waitReady: (service, n, timeoutMs = 10_000) =>
      waitFor(
        () => {
          const l = live(service);
          return l.length === n && l.every((i) => i.state === 'running' && i.ready) ? pids(service) : undefined;
        },
        { what: `${service}: ${n} ready`, timeoutMs },
      ),
  };
}

/** A service file for `sleep` replicas, the cheapest real process. */
export function sleepService(over: string = ''): string {
  return `command: ["sleep", "1000"]\nstop_timeout: 2s\n${over}`;
}

/** Live spawn helpers (compiled or node's) that this test process started. */
function spawnHelpersOfThisProcess(): number[] {
  return allPids().filter((pid) => {
    const st = procStat(pid);
    if (st === null || st.ppid !== process.pid || st.state === 'Z') return false;
    try {
      return readFileSync(`/proc/${pid}/cmdline`, 'latin1').includes('tend-spawn-helper');
    } catch {
      return false;
    }
  });
}
