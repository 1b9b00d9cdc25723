// tend.pid: which daemon owns a state directory. It holds the pid *and* its /proc start time, so a
// stale file (the daemon died; its pid may since belong to another process) is told from a live one.

import { readFileSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { TendError } from '../errors.js';
import { createFileWith } from '../util/create-file.js';
import { readProcStat, sameProcess } from '../runtime/proc.js';
import { leaveStateDirVar } from './state-dir-var.js';

export const PID_NAME = 'tend.pid';
/** The control API's Unix socket, in the same state directory. */
export const SOCKET_NAME = 'tend.sock';

/** Writes `pid\nstart-time\n` exclusively; refuses when a live daemon owns the directory. */
export function claimPidFile(path: string): void {
  const leave = () => leaveStateDirVar(dirname(path)) ?? 'stop it with `tend down` or use another --state-dir';
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const me = readProcStat(process.pid);
      createFileWith(path, `${process.pid}\n${me?.startTime ?? 0}\n`);
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const owner = readPidFile(path);
      if (owner && owner.pid !== process.pid && sameProcess({ pid: owner.pid, startTime: owner.startTime })) {
        throw new TendError(
          'DAEMON_RUNNING',
          `a tend daemon (pid ${owner.pid}) already supervises this state directory (${path}); ${leave()}`,
          { pid: owner.pid },
        );
      }
      rmSync(path, { force: true }); // stale: its process is gone or the pid was reused
    }
  }
  throw new TendError('DAEMON_RUNNING', `cannot claim ${path}: another daemon is starting on the same state directory`);
}

export function readPidFile(path: string): { pid: number; startTime: number } | undefined {
  try {
    const [pid, start] = readFileSync(path, 'utf8').split('\n').map(Number);
    return Number.isInteger(pid) && pid! > 0 ? { pid: pid!, startTime: start ?? 0 } : undefined;
  } catch {
    return undefined;
  }
}

export function releasePidFile(path: string): void {
  const owner = readPidFile(path);
  if (owner?.pid === process.pid) rmSync(path, { force: true });
}
