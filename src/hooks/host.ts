// The hook host: a small helper process the daemon forks (on the first hook run) to run hooks in.
// Its forks copy a small process, not the daemon; it runs at nice 10, and so do the commands it
// starts. Protocol over the IPC channel: { id, action, event } in, { id, outcome } out. It exits
// when the daemon goes away (the channel closes).

import { setPriority } from 'node:os';
import type { TendEvent } from '../api/types.js';
import type { HookAction } from '../spec/hook-types.js';
import { restoreCallerNodeOptions } from '../util/node-options.js';
import { HOOK_NICE } from './command.js';
import { inProcessExecutor } from './executor.js';

export interface HostRequest {
  id: number;
  action: HookAction;
  event: TendEvent;
}

export interface HostReply {
  id: number;
  outcome: import('./types.js').HookOutcome;
}

if (process.send) {
  restoreCallerNodeOptions();
  try {
    setPriority(0, HOOK_NICE);
  } catch {
    /* already nicer, or not allowed: run as we are */
  }
  const executor = inProcessExecutor(process.env);
  let running = 0;
  let leaving = false;
  process.on('message', (m: HostRequest) => {
    running++;
    void executor.run(m.action, m.event).then((outcome) => {
      running--;
      if (process.connected) process.send!({ id: m.id, outcome } satisfies HostReply);
      if (leaving && running === 0) process.exit(0);
    });
  });
  // The daemon went away: finish what runs (each has its timeout, which kills its group), then go.
  process.on('disconnect', () => {
    leaving = true;
    if (running === 0) process.exit(0);
  });
}
