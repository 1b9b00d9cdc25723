// The open-files limit replicas get: the one of the shell that started tend, not Node's.
//
// Node raises its own soft RLIMIT_NOFILE to the hard limit as it starts (node.cc, PlatformInit),
// and every process it forks inherits that. Under a systemd unit (1024 soft, 524,288 hard) or in
// a container (1,048,576 hard), replicas got the hard limit where the same program started by the
// shell, or by systemd itself, gets 1024: a program built with select() corrupts memory past fd
// 1023 instead of failing with EMFILE, one that closes every descriptor up to the limit before
// exec (close_fds loops) takes a second per child, and one that sizes tables by it (MySQL) grows.
// systemd keeps 1024 soft for its services for these reasons; containerd 2.0 went back to it.
//
// The limit Node started with is lost by the time JavaScript runs, so the launcher (the sh line of
// dist/bin/tend.js, scripts/bundle-cli.mjs) records it in TEND_CALLER_NOFILE; the CLI takes it out
// of the environment at once, hands it to the daemon it starts, and the compiled spawn helper sets
// it in each replica between fork and exec. Started any other way (`node dist/bin/tend.js`, or by
// npm or npx, which are Node and raised the limit themselves), tend has nothing to restore.

import { readFileSync } from 'node:fs';

/** Where the launcher puts the caller's soft limit (`ulimit -Sn`). */
export const CALLER_NOFILE_VAR = 'TEND_CALLER_NOFILE';

let caller: number | undefined;

/** Takes the launcher's record out of `env` (so that nothing tend starts inherits it). */
export function takeCallerNofile(env: NodeJS.ProcessEnv = process.env): void {
  const value = env[CALLER_NOFILE_VAR];
  if (value === undefined) return;
  delete env[CALLER_NOFILE_VAR];
  // `unlimited`, or anything else but a count, restores nothing.
  caller = /^[0-9]{1,12}$/.test(value) ? Number(value) : undefined;
}

/** The environment for another tend process (the detached daemon), with the caller's limit. */
export function passCallerNofile(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return caller === undefined ? env : { ...env, [CALLER_NOFILE_VAR]: String(caller) };
}

/** This process's soft and hard open-files limits, from /proc/self/limits. */
export function ownNofile(): { soft: number; hard: number } | undefined {
  try {
    const m = /^Max open files\s+(\d+|unlimited)\s+(\d+|unlimited)/m.exec(readFileSync('/proc/self/limits', 'latin1'));
    if (!m) return undefined;
    const n = (s: string) => (s === 'unlimited' ? Infinity : Number(s));
    return { soft: n(m[1]!), hard: n(m[2]!) };
  } catch {
    return undefined;
  }
}

/** The soft limit a replica must be given, when it is lower than the one it would inherit. */
export function replicaNofile(): number | undefined {
  if (caller === undefined) return undefined;
  const own = ownNofile();
  return own !== undefined && caller < own.soft ? caller : undefined;
}
