// Puts the state directory back when it is removed under the running daemon (`git clean -xdf` in
// the checkout that holds ./.tend, `rm -rf .tend`): its id (the same token, which every replica
// carries), the pid file, the control socket, state.json, and new files for the events and the
// daemon's log, so that commands reach the daemon again and a second `tend up` is refused as
// before. What cannot come back: what the replicas running then write goes to their removed log
// files until they restart (each holds its own descriptor), and the logs written before are gone.

import type { Logger } from 'pino';
import { errorMessage } from '../errors.js';
import { restoreSupervisorId } from './orphans.js';
import { claimPidFile } from './pid-file.js';
import { StateDirWatch } from './state-dir-watch.js';

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
  const watch: StateDirWatch = new StateDirWatch(parts.stateDir, () => {
    if (restoring) return;
    restoring = true;
    void restore(parts).then(
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

async function restore(parts: StateDirParts): Promise<void> {
  parts.log.warn(
    `the state directory ${parts.stateDir} was removed under this daemon: putting back its id, pid file, control socket, state.json and logs; replicas running now write their output to their removed log files until they restart`,
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
