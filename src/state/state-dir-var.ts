// When TEND_STATE_DIR chose the state directory a command is on, and that directory belongs to a
// daemon the command did not mean: say so, and how to get the project's own.
//
// tend sets TEND_STATE_DIR in every replica's environment, so that `tend` run by a replica reaches
// its own daemon; and some shells export it for one project. A replica that runs `tend up` for a
// project of its own (a CI runner supervised by tend, a tmux session started by it) met its own
// daemon there, and was told to "stop it with `tend down`": the daemon it runs under.

import { fromWorkingDir } from '../util/working-dir.js';
import { STATE_DIR_VAR, SUPERVISOR_ID_VAR } from './orphans.js';

/** How to leave `stateDir` when TEND_STATE_DIR named it; undefined when it did not. */
export function leaveStateDirVar(stateDir: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const given = env[STATE_DIR_VAR];
  if (given === undefined || given === '' || fromWorkingDir(given) !== stateDir) return undefined;
  const replica = env[SUPERVISOR_ID_VAR] !== undefined && env['TEND_SERVICE'] !== undefined;
  const why = replica
    ? `tend sets it for its replicas, and this command runs in one (${env['TEND_SERVICE']}/${env['TEND_REPLICA'] ?? '?'})`
    : 'it is exported in this shell';
  return `TEND_STATE_DIR chose it (${why}): run tend with \`env -u TEND_STATE_DIR\` for the project's own, or give --state-dir`;
}
