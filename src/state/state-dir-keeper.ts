// Puts the state directory back when it is removed under the running daemon (`git clean -xdf` in
// the checkout that holds ./.tend, `rm -rf .tend`), or when its path comes to lead to another
// directory (a release switched under `current/.tend`): its id (the same token, which every
// replica carries), the pid file, the control socket, state.json, and new files for the events and
// the daemon's log, so that commands reach the daemon again and a second `tend up` is refused as
// before. What cannot come back: what the replicas running then write goes to their old log files
// until they restart (each holds its own descriptor), and the logs and events written before stay
// where they were (gone, or in the old release).

import type { Logger } from 'pino';
import { errorMessage } from '../errors.js';
import { restoreSupervisorId } from './orphans.js';
import { claimPidFile } from './pid-file.js';
import { StateDirWatch, type StateDirLoss } from './state-dir-watch.js';

export interface StateDirParts {
  stateDir: string;
  /** The directory's id (Supervisor.token). */
  token: string;
  pidFile: string;
  log: Logger;
  /** Makes the directory (0700) and its logs/ again. */
  prepare(): void;
  /** Opens new files for what was being written: events, the daemon's own log. */
  reopen(): void;
  /** The notify sockets, at their paths. */
  restoreNotify(): Promise<void>;
  /** Writes state.json now. */
  persistNow(): void;
  /** Binds the control socket again and serves the API on it. */
  rebind(): Promise<void>;
}

/** Watches for the removal of the state directory and puts it back; close() at shutdown. */
export function keepStateDir(parts: StateDirParts): { close(): void } {
  let restoring = false;
  const watch: StateDirWatch = new StateDirWatch(parts.stateDir, (why) => {
    if (restoring) return;
    restoring = true;
    void restore(parts, why).then(
      () => {
        restoring = false;
        watch.start();
      },
      (err: unknown) => parts.log.error({ err }, `cannot put back the state directory ${parts.stateDir}: ${errorMessage(err)}; commands cannot reach this daemon (pid ${process.pid}): stop it with kill ${process.pid}`),
    );
  });
  watch.start();
  return watch;
}

async function restore(parts: StateDirParts, why: StateDirLoss): Promise<void> {
  const what = why === 'removed' ? 'was removed under this daemon' : 'leads to another directory now (a symlink on its path was switched)';
  parts.log.warn(
    `the state directory ${parts.stateDir} ${what}: putting back its id, pid file, control socket, state.json and logs; replicas running now write their output to their old log files until they restart`,
  );
  parts.prepare();
  restoreSupervisorId(parts.stateDir, parts.token);
  claimPidFile(parts.pidFile);
  parts.reopen();
  await parts.restoreNotify();
  parts.persistNow();
  await parts.rebind();
  parts.log.info(`the state directory ${parts.stateDir} is back`);
}
