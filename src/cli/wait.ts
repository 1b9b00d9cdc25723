// `--wait [--timeout]` for the verbs that change what runs (restart, scale, stop, start): polls the
// status, prints a progress line when it changes, and ends when the target is reached (exit 0),
// cannot be (a replica failed: exit 1) or the timeout passes (exit 1).

import type { ReplicaStatus, ServiceStatus, StatusReport } from '../api/types.js';
import { delay, type Cli } from './context.js';
import { EXIT } from './exit-codes.js';
import { lastOutput } from './last-output.js';

const POLL_MS = 100;

export interface WaitVerdict {
  /** One line per service or replica, printed when it changes. */
  progress: string[];
  done: boolean;
  /** Set when the target cannot be reached without a person (a replica failed). */
  failed?: string;
}

/** What a wait checks on each status report. */
export type WaitCheck = (report: StatusReport) => WaitVerdict;

/** Waits for `check` on `service`; when it fails or times out, also says what the service's first
 *  crashed replica printed last (last-output.ts). */
export async function waitForTarget(cli: Cli, what: string, service: string, check: WaitCheck, timeoutMs: number, timeoutText: string): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  const shown = new Set<string>();
  let last: WaitVerdict | undefined;
  for (;;) {
    let report: StatusReport;
    try {
      report = await cli.client().status();
    } catch (err) {
      cli.err.write(`tend: the daemon went away while waiting for ${what}: ${(err as Error).message}\n`);
      return EXIT.FAILURE;
    }
    last = check(report);
    for (const line of last.progress) {
      if (shown.has(line)) continue;
      shown.add(line);
      cli.out.write(`${line}\n`);
    }
    if (last.done) {
      cli.out.write(`${what}: done\n`);
      return EXIT.OK;
    }
    if (last.failed) {
      cli.err.write(`tend: ${what} cannot be reached: ${last.failed}\n${await crashOutput(cli, report, service)}`);
      return EXIT.FAILURE;
    }
    if (Date.now() > deadline) {
      cli.err.write(`tend: timed out after ${timeoutText} waiting for ${what}\n${await crashOutput(cli, report, service)}`);
      return EXIT.FAILURE;
    }
    await delay(POLL_MS);
  }
}

function crashOutput(cli: Cli, report: StatusReport, service: string): Promise<string> {
  const svc = report.services.find((s) => s.name === service);
  return svc ? lastOutput(cli.client(), cli.err, svc, 1) : Promise.resolve('');
}

/** A service at `replicas` replicas, all of them ready (a job: completed), none leaving. */
export function scaledTo(service: string, replicas: number): WaitCheck {
  return (report) => {
    const svc = report.services.find((s) => s.name === service);
    if (!svc) return { progress: [], done: replicas === 0 };
    const done = svc.replicas_desired === replicas && countReady(svc) === replicas && svc.replicas.length === replicas;
    const failed = failures(svc, svc.replicas);
    return { progress: [`${service}: ${countReady(svc)}/${svc.replicas_desired} ${svc.oneshot ? 'completed' : 'ready'} (${svc.state})`], done, ...(failed ? { failed } : {}) };
  };
}

/** A service released from `tend stop`: no longer held, at its file's count, every replica ready. */
export function released(service: string): WaitCheck {
  return (report) => {
    const svc = report.services.find((s) => s.name === service);
    if (!svc) return { progress: [], done: false, failed: `service "${service}" is gone` };
    if (svc.held) return { progress: [`${service}: held`], done: false };
    return scaledTo(service, svc.replicas_desired)(report);
  };
}

/** A service held by `tend stop` with none of its replicas' processes left. */
export function heldStopped(service: string): WaitCheck {
  return (report) => {
    const svc = report.services.find((s) => s.name === service);
    if (!svc) return { progress: [], done: true }; // removed meanwhile: nothing of it runs
    const live = svc.replicas.filter((r) => r.pid !== null).length;
    return { progress: [`${service}: ${live === 0 ? 'stopped' : `${live} of ${svc.replicas.length} still stopping`}`], done: svc.held === true && live === 0 };
  };
}

/** Every replica of `service` (or the one at `index`) started after `since` and is ready. */
export function restartedSince(service: string, index: number | undefined, since: ReadonlyMap<string, string | null>): WaitCheck {
  return (report) => {
    const svc = report.services.find((s) => s.name === service);
    if (!svc) return { progress: [], done: false, failed: `service "${service}" is gone` };
    const targets = svc.replicas.filter((r) => (index === undefined ? r.index < svc.replicas_desired : r.index === index));
    const fresh = (r: ReplicaStatus) => r.started_at !== null && r.started_at !== since.get(`${service}/${r.index}`);
    const progress = targets.map((r) => `${service}/${r.index}: ${fresh(r) ? `${r.state}${r.ready ? ', ready' : ''} (pid ${r.pid ?? '-'})` : 'restarting'}`);
    const done = targets.length > 0 && targets.every((r) => fresh(r) && isReady(svc, r));
    const failed = failures(svc, targets);
    return { progress, done, ...(failed ? { failed } : {}) };
  };
}

/** When each replica of the service started: what a restart must change. */
export function startTimes(report: StatusReport, service: string): Map<string, string | null> {
  const svc = report.services.find((s) => s.name === service);
  return new Map((svc?.replicas ?? []).map((r) => [`${service}/${r.index}`, r.started_at]));
}

function isReady(svc: ServiceStatus, r: ReplicaStatus): boolean {
  return svc.oneshot ? r.state === 'completed' : r.state === 'running' && r.ready;
}

function countReady(svc: ServiceStatus): number {
  return svc.replicas.filter((r) => r.index < svc.replicas_desired && isReady(svc, r)).length;
}

function failures(svc: ServiceStatus, replicas: ReplicaStatus[]): string | undefined {
  if (svc.blocked) return `${svc.name} is blocked: ${svc.blocked}`;
  const failed = replicas.find((r) => r.state === 'failed');
  return failed ? `${svc.name}/${failed.index} failed${failed.reason ? ` (${failed.reason})` : ''}` : undefined;
}
