// The daemon's side of the hook host (host.ts): forks it on the first run, sends each run over
// the IPC channel, and resolves the run when its reply comes. A host that dies fails the runs in
// flight (reported like any failed hook) and is forked again for the next one; a run that gets
// no reply well past its own timeouts is failed too, so a stuck host cannot pin the queue.

import { fork, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { TendEvent } from '../api/types.js';
import type { HookAction } from '../spec/hook-types.js';
import { nodeOptionsAside } from '../util/node-options.js';
import type { HookExecutor } from './executor.js';
import type { HostReply, HostRequest } from './host.js';
import type { HookOutcome } from './types.js';

/** host.js beside this module: in dist/hooks after tsc, in dist/bin beside the bundle tend.cjs
 *  (scripts/bundle-cli.mjs); host.ts when run from the sources by tsx. */
function hostEntry(): string {
  const js = fileURLToPath(new URL('./host.js', import.meta.url));
  const ts = fileURLToPath(new URL('./host.ts', import.meta.url));
  return import.meta.url.endsWith('.ts') && !existsSync(js) ? ts : js;
}

/** A grace on top of a run's own timeouts: the host runs at nice 10, and on a loaded machine it
 *  (and its first start) gets little CPU. This deadline only guards against a stuck host. */
const HOST_GRACE_MS = 60_000;

/** Longest a run may take in the host: its timeouts and retry delays, plus the grace. */
function deadlineOf(action: HookAction): number {
  if (action.kind === 'command') return action.timeoutMs + HOST_GRACE_MS;
  const attempts = action.retries + 1;
  return attempts * action.timeoutMs + action.retryDelayMs * (2 ** action.retries - 1) + HOST_GRACE_MS;
}

const failed = (reason: string): HookOutcome => ({ ok: false, attempts: 1, exitCode: null, output: '', timedOut: false, reason });

export class HookHost implements HookExecutor {
  private child?: ChildProcess;
  private seq = 0;
  private readonly pending = new Map<number, { resolve: (o: HookOutcome) => void; timer: NodeJS.Timeout }>();
  private closed = false;

  constructor(private readonly env: NodeJS.ProcessEnv = process.env) {}

  /** The host's pid while it runs (tests). */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  run(action: HookAction, event: TendEvent): Promise<HookOutcome> {
    if (this.closed) return Promise.resolve(failed('tend is stopping'));
    let child: ChildProcess;
    try {
      child = this.host();
    } catch (err) {
      return Promise.resolve(failed(`could not start the hook host: ${String(err)}`));
    }
    const id = ++this.seq;
    return new Promise<HookOutcome>((resolve) => {
      const timer = setTimeout(() => this.settle(id, failed(`no result from the hook host within ${deadlineOf(action)} ms`)), deadlineOf(action));
      timer.unref();
      this.pending.set(id, { resolve, timer });
      try {
        child.send({ id, action, event } satisfies HostRequest, (err) => {
          if (err) this.settle(id, failed(`could not hand the run to the hook host: ${err.message}`));
        });
      } catch (err) {
        this.settle(id, failed(`could not hand the run to the hook host: ${String(err)}`));
      }
    });
  }

  close(): void {
    this.closed = true;
    const c = this.child;
    this.child = undefined;
    // Runs in flight have their own timeouts and process groups; the host only carries them.
    if (c?.connected) c.disconnect();
    for (const id of [...this.pending.keys()]) this.settle(id, failed('not finished when tend stopped: it goes on in the hook host until it ends or its timeout kills it, and its result is not known'));
  }

  private settle(id: number, outcome: HookOutcome): void {
    const p = this.pending.get(id);
    if (!p) return;
    this.pending.delete(id);
    clearTimeout(p.timer);
    p.resolve(outcome);
  }

  private host(): ChildProcess {
    if (this.child && this.child.connected) return this.child;
    // NODE_OPTIONS is the hook commands' (util/node-options.ts): the host puts it back for them.
    const env = nodeOptionsAside(this.env, undefined);
    const child = fork(hostEntry(), [], { env, stdio: ['ignore', 'ignore', 'inherit', 'ipc'], serialization: 'json' });
    this.child = child;
    child.on('message', (m: HostReply) => this.settle(m.id, m.outcome));
    child.on('error', () => undefined);
    child.on('exit', (code, signal) => {
      if (this.child === child) this.child = undefined;
      const why = `the hook host exited (${signal ?? `code ${code}`})`;
      for (const id of [...this.pending.keys()]) this.settle(id, failed(why));
    });
    // The daemon must be able to exit while the host idles.
    child.unref();
    (child as unknown as { channel?: { unref(): void } }).channel?.unref();
    return child;
  }
}
