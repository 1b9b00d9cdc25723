// The seam between the notify hub and the engine (DESIGN §9). The hub attributes, parses, checks
// and times what replicas say; what that *means* for a replica is the engine's: every message is
// turned into a NotifyReport and goes through the controller's one inlet (`Controller.report`,
// folded by src/reconcile/observe.ts into state changes and typed events). The controller calls
// `attach` where it starts (or adopts) an instance and `detach` when its process goes.

import type { Instance } from '../reconcile/types.js';
import type { NotifyReport } from '../reconcile/observe.js';
import { NotifyHub, type NotifyHubOptions, type NotifyRegistration } from './hub.js';

/** What tend keeps of a replica's notify session (on the Instance, and in the state file). */
export interface NotifyState {
  token: string;
  ready: boolean;
  /** The watchdog period the replica set itself (WATCHDOG_USEC=), in place of the spec's: a
   *  later tend that adopts it must not judge it by the spec's shorter one. */
  watchdogMs?: number;
}

/** What the controller asks of notify: nothing else of the hub reaches the engine. */
export interface NotifySeam {
  /** Registers an instance about to be spawned (or adopted): its session (a fresh token, or the
   *  one it already has), the variables for its environment, and a promise that resolves once
   *  everything they point at listens (await it before the spawn, or a sender that speaks at
   *  once finds no socket). */
  attach(inst: Readonly<Instance>): { notify: NotifyState; env: Record<string, string>; bound?: Promise<void> };
  /** Its spec changed live: a replica waiting for READY takes the new start-up timeout. */
  respec(inst: Readonly<Instance>): void;
  /** `tend pause` stopped it (SIGSTOP): its silence is not judged meanwhile. */
  pause(id: string): void;
  /** `tend resume` (SIGCONT): its watchdog period starts afresh. */
  resume(id: string): void;
  /** It is being stopped: its deadlines (watchdog, start-up) are disarmed, but it may still talk
   *  (STOPPING=1, STATUS= from its SIGTERM handler) until its process group is gone. */
  quiet(id: string): void;
  /** Its process group is gone: its token stops working, its datagram socket goes. */
  detach(id: string): void;
}

/** The seam over a hub. `lookup` reads the instance as it is now (live spec changes to `events`
 *  apply without a restart). */
export function hubSeam(hub: NotifyHub, lookup: (id: string) => Readonly<Instance> | undefined): NotifySeam {
  return {
    attach(inst) {
      const n = inst.spec.notify;
      const notify: NotifyState = inst.notify?.token ? inst.notify : { token: NotifyHub.newToken(), ready: inst.notify?.ready ?? false };
      const reg: NotifyRegistration = {
        id: inst.id,
        service: inst.service,
        index: inst.index,
        token: notify.token,
        ...(inst.pgid !== undefined ? { pgid: inst.pgid } : {}),
        systemd: n?.systemd === true,
        // Its own period (WATCHDOG_USEC=, said to an earlier tend) wins over the spec's.
        ...((notify.watchdogMs ?? n?.watchdogMs) !== undefined ? { watchdogMs: notify.watchdogMs ?? n?.watchdogMs } : {}),
        ...(n?.readyTimeoutMs !== undefined ? { readyTimeoutMs: n.readyTimeoutMs } : {}),
        alreadyReady: notify.ready,
        events: () => (lookup(inst.id) ?? inst).spec.notify?.events,
        ...(n?.metadata !== undefined ? { metadata: n.metadata } : {}),
      };
      const env = hub.register(reg);
      const bound = n?.systemd ? hub.bound(inst.id) : undefined;
      return { notify, env, ...(bound ? { bound } : {}) };
    },
    respec: (inst) => hub.retime(inst.id, inst.spec.notify?.readyTimeoutMs),
    pause: (id) => hub.pause(id),
    resume: (id) => hub.resume(id),
    quiet: (id) => hub.disarm(id),
    detach: (id) => hub.unregister(id),
  };
}

/** The hub's callbacks: each message becomes a report to the controller. */
export function notifyHandlers(report: (id: string, ev: NotifyReport) => void): Pick<NotifyHubOptions, 'onMessage' | 'onTimeout' | 'onRejected'> {
  return {
    onMessage: (id, m) => {
      switch (m.kind) {
        case 'ready':
          return report(id, { kind: 'notify-ready' });
        case 'status':
          return report(id, { kind: 'status-text', text: m.text });
        case 'event':
          return report(id, { kind: 'notify-event', name: m.name, data: m.data });
        case 'stopping':
          return report(id, { kind: 'notify-state', reason: 'NotifyStopping', message: 'STOPPING' });
        case 'reloading':
          return report(id, { kind: 'notify-state', reason: 'NotifyReloading', message: 'RELOADING' });
        case 'errno':
          return report(id, { kind: 'notify-state', reason: 'NotifyErrno', message: `ERRNO=${m.errno}` });
        case 'watchdogPeriod':
          // The hub times it; the period is kept with the replica, for a tend that adopts it later.
          return report(id, { kind: 'watchdog-period', ms: m.ms });
        case 'heartbeat':
        case 'extendTimeout':
          return; // the hub's own deadlines: nothing changes in the replica's state
        default:
          return assertNever(m);
      }
    },
    onTimeout: (id, kind, silentMs) =>
      kind === 'watchdog'
        ? report(id, { kind: 'stale', message: `watchdog: no heartbeat for ${silentMs} ms` })
        : report(id, { kind: 'ready-timeout', message: `readiness: no READY within ${silentMs} ms` }),
    onRejected: (id, reason, detail, name) =>
      report(id, { kind: 'notify-event-invalid', name: name ?? '', reason: reason === 'unknown_event' ? 'EventUnknown' : 'EventInvalid', message: detail }),
  };
}

function assertNever(x: never): never {
  throw new Error(`unexpected notify message ${JSON.stringify(x)}`);
}
