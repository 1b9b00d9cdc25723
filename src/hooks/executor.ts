// Where hook runs execute. In the daemon: a helper process of their own (host-client.ts), so that
// spawning a command — which blocks the spawning thread until the child has exec'd, tens of ms on
// a loaded machine — and its CPU never compete with the daemon's restarts. In tests and tools: here.

import type { TendEvent } from '../api/types.js';
import type { HookAction } from '../spec/hook-types.js';
import { runCommandHook } from './command.js';
import type { HookOutcome } from './types.js';
import { runWebhook } from './webhook.js';

export interface HookExecutor {
  /** Runs one hook to its end (its own timeout, retries); never rejects. */
  run(action: HookAction, event: TendEvent): Promise<HookOutcome>;
  close(): void;
}

/** Runs hooks in this process. */
export function inProcessExecutor(env: NodeJS.ProcessEnv = process.env): HookExecutor {
  return {
    run: (action, event) => (action.kind === 'command' ? runCommandHook(action, event, env) : runWebhook(action, event, env)),
    close: () => undefined,
  };
}
