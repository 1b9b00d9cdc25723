// tend's own service manager: `tend up` run by a systemd unit of `Type=notify` (sd_notify(3)).
//
// systemd gives such a service NOTIFY_SOCKET, and with `WatchdogSec=` WATCHDOG_USEC and
// WATCHDOG_PID; socket activation adds LISTEN_FDS, LISTEN_PID and LISTEN_FDNAMES. They describe
// tend's relation to systemd, not a replica's: every replica inherited them, so an sd_notify-aware
// replica (a Go service, php-fpm, PostgreSQL built with systemd) told systemd it was ready, or
// stopping, in tend's name (with `NotifyAccess=all`). sd_notify's `unset_environment` exists for
// this; tend takes them out of its environment before it starts anything.
//
// Then it says READY=1 once its API answers (what `tend up -d` waits for: not convergence, which a
// crash-looping service may never reach, and systemd would kill tend for it), STATUS= with the
// progress line it logs, STOPPING=1 when it starts to stop, and WATCHDOG=1 at half the watchdog
// period, from the event loop: a loop blocked for that long is what systemd's watchdog is for.
//
// The datagrams must come from tend's own pid (systemd's default `NotifyAccess=main` drops any
// other sender's), so they are sent from this process with unix-dgram (a native addon, optional:
// without it tend says once that systemd will not hear it). A socket per message, as sd_notify
// does: created close-on-exec, written, closed.

import { createRequire } from 'node:module';
import type { Logger } from 'pino';
import { errorMessage } from './errors.js';

/** The variables systemd sets for tend itself, which nothing tend starts may inherit. */
export const OWN_MANAGER_VARIABLES = ['NOTIFY_SOCKET', 'WATCHDOG_USEC', 'WATCHDOG_PID', 'LISTEN_FDS', 'LISTEN_PID', 'LISTEN_FDNAMES'] as const;

/** systemd keeps STATUS= short in `systemctl status`; a long line is cut. */
const MAX_STATUS = 200;

interface UnixDgram {
  createSocket(type: 'unix_dgram'): { send(buf: Buffer, offset: number, length: number, path: string, cb: (err?: Error) => void): void; close(): void; on(event: 'error', f: (err: Error) => void): void };
}

export interface ServiceManager {
  /** READY=1, with a status line. */
  ready(status: string): void;
  /** STATUS=, when it changed. */
  status(text: string): void;
  /** STOPPING=1. */
  stopping(): void;
  close(): void;
}

/** Takes systemd's variables out of `env` (process.env) and, when NOTIFY_SOCKET was one of them,
 *  returns who speaks to it; undefined when tend was not started as a notify service. */
export function takeServiceManager(env: NodeJS.ProcessEnv, log: Logger): ServiceManager | undefined {
  const given = Object.fromEntries(OWN_MANAGER_VARIABLES.map((k) => [k, env[k]]));
  for (const k of OWN_MANAGER_VARIABLES) delete env[k];
  const socket = given['NOTIFY_SOCKET'];
  if (socket === undefined || socket === '') return undefined;
  if (!socket.startsWith('/')) {
    log.warn(`NOTIFY_SOCKET=${socket}: tend can send to a socket path only, not an abstract name; systemd will not hear that tend is ready (use Type=exec)`);
    return undefined;
  }
  let unix: UnixDgram;
  try {
    unix = createRequire(import.meta.url)('unix-dgram') as UnixDgram;
  } catch (err) {
    log.warn(`NOTIFY_SOCKET is set (a systemd unit of Type=notify), but the optional dependency unix-dgram is not built (${errorMessage(err).split('\n')[0]}): systemd will not hear that tend is ready (use Type=exec)`);
    return undefined;
  }
  let warned = false;
  const send = (text: string) => {
    let sock: ReturnType<UnixDgram['createSocket']> | undefined;
    const failed = (err: unknown) => {
      if (warned) return;
      warned = true;
      log.warn(`cannot notify systemd on ${socket}: ${errorMessage(err)}`);
    };
    try {
      sock = unix.createSocket('unix_dgram');
      sock.on('error', failed);
      const buf = Buffer.from(text);
      sock.send(buf, 0, buf.length, socket, (err) => err && failed(err));
    } catch (err) {
      failed(err);
    } finally {
      try {
        sock?.close();
      } catch {
        /* closed */
      }
    }
  };

  // The watchdog is tend's only if WATCHDOG_PID names it (or is not given).
  const usec = Number(given['WATCHDOG_USEC']);
  const forMe = given['WATCHDOG_PID'] === undefined || Number(given['WATCHDOG_PID']) === process.pid;
  const watchdog = forMe && Number.isFinite(usec) && usec > 0 ? setInterval(() => send('WATCHDOG=1'), Math.max(1, Math.floor(usec / 2000))) : undefined;
  watchdog?.unref();

  let last = '';
  const statusLine = (text: string) => `STATUS=${(text.length > MAX_STATUS ? `${text.slice(0, MAX_STATUS - 1)}…` : text).replace(/\n/g, ' ')}`;
  return {
    ready(status) {
      last = status;
      send(`READY=1\n${statusLine(status)}\nMAINPID=${process.pid}`);
    },
    status(text) {
      if (text === last) return;
      last = text;
      send(statusLine(text));
    },
    stopping() {
      send(`STOPPING=1\n${statusLine('stopping every service, dependents first')}`);
    },
    close() {
      clearInterval(watchdog);
    },
  };
}
