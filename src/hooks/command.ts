// Runs a command hook with execa: the event as JSON in TEND_EVENT and on stdin, in its own process
// group so that a timeout kills everything it started, output kept as a bounded tail.
//
// The descriptor-exhaustion guard: under EMFILE Node returns a child without stdio; execa 9 then
// throws `subprocess.stdio is not iterable` synchronously and the child's 'error' event (emitted
// on the next tick) has no listener, which crashed the daemon. The child is caught as it is created
// through Node's `child_process` diagnostics channel, so the error gets a listener, and the
// synchronous throw becomes an ordinary failed run.

import dc from 'node:diagnostics_channel';
import type { ChildProcess } from 'node:child_process';
import { statSync } from 'node:fs';
import { setPriority } from 'node:os';
import { execa } from 'execa';
import { errorMessage } from '../errors.js';
import type { TendEvent } from '../api/types.js';
import type { CommandHookAction } from '../spec/hook-types.js';
import type { HookOutcome } from './types.js';
import { HOOK_DEFAULTS } from '../spec/hook-types.js';

/** The niceness of command hooks (and what they start). */
export const HOOK_NICE = 10;

/** Keeps the last `max` bytes written to it. */
export class Tail {
  private chunks: Buffer[] = [];
  private size = 0;
  constructor(private readonly max: number) {}
  push(chunk: Buffer | string): void {
    const b = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    this.chunks.push(b);
    this.size += b.length;
    while (this.size - this.chunks[0]!.length >= this.max) this.size -= this.chunks.shift()!.length;
  }
  text(): string {
    const all = Buffer.concat(this.chunks);
    return all.subarray(Math.max(0, all.length - this.max)).toString('utf8');
  }
}

/** The child processes created while `fn` runs synchronously (execa spawns inside its call). */
function capturingChildren<T>(fn: () => T): { value?: T; error?: unknown; children: ChildProcess[] } {
  const children: ChildProcess[] = [];
  const onChild = (m: unknown) => {
    const p = (m as { process?: ChildProcess }).process;
    if (p) children.push(p);
  };
  dc.subscribe('child_process', onChild);
  try {
    return { value: fn(), children };
  } catch (error) {
    return { error, children };
  } finally {
    dc.unsubscribe('child_process', onChild);
  }
}

// Runs one command hook to its end or its timeout; never throws.
export async function runCommandHook(action: CommandHookAction, event: TendEvent, baseEnv: NodeJS.ProcessEnv = process.env): Promise<HookOutcome> {
  const json = JSON.stringify(event);
  const tail = new Tail(HOOK_DEFAULTS.outputTail);
  const env: NodeJS.ProcessEnv = {
    ...baseEnv,
    // Its working directory, as for a replica (spec/expand.ts), not tend's.
    PWD: action.cwd,
    TEND_EVENT: json,
    TEND_EVENT_TYPE: event.type,
    ...(event.service !== undefined ? { TEND_SERVICE: event.service } : {}),
    ...(event.replica !== undefined ? { TEND_REPLICA: String(event.replica) } : {}),
  };
  // Node says `spawn true ENOENT` for a working directory that is not there, blaming the program.
  const cwd = statSync(action.cwd, { throwIfNoEntry: false });
  if (cwd === undefined || !cwd.isDirectory()) {
    const what = cwd === undefined ? 'does not exist' : 'is not a directory';
    return { ok: false, attempts: 1, exitCode: null, output: '', timedOut: false, reason: `could not start: its working directory ${action.cwd} ${what}` };
  }
  const [file, ...args] = action.command;
  const started = capturingChildren(() =>
    execa(file!, args, {
      cwd: action.cwd,
      env,
      extendEnv: false,
      input: json,
      all: true,
      buffer: false,
      reject: false,
      // Its own group: at the timeout the whole group is killed, whatever it forked.
      detached: true,
      cleanup: false,
      stripFinalNewline: false,
    }),
  );
  // Whatever happens next, no child 'error' may go unheard (see the top of this file).
  for (const c of started.children) c.on('error', () => undefined);
  if (started.error !== undefined || !started.value) {
    const reason = errorMessage(started.error);
    const emfile = /stdio is not iterable|EMFILE|ENFILE/.test(reason);
    return {
      ok: false,
      attempts: 1,
      exitCode: null,
      output: '',
      timedOut: false,
      reason: emfile ? `could not start: out of file descriptors (${reason})` : `could not start: ${reason}`,
    };
  }
  const sub = started.value;
  // Below tend and the replicas: a burst of hooks must not slow the restarts it reports on.
  if (sub.pid !== undefined) {
    try {
      setPriority(sub.pid, HOOK_NICE);
    } catch {
      /* it has exited already */
    }
  }
  sub.all?.on('data', (d: Buffer) => tail.push(d));
  sub.all?.on('error', () => undefined);
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    killGroup(sub.pid);
  }, action.timeoutMs);
  try {
    const r = await sub;
    if (timedOut) {
      return { ok: false, attempts: 1, exitCode: null, output: tail.text(), timedOut, reason: `timed out after ${action.timeoutMs} ms; its process group was killed` };
    }
    if (r.failed) {
      const reason = r.exitCode !== undefined ? `exited with code ${r.exitCode}` : r.signal ? `killed by ${r.signal}` : r.cause ? errorMessage(r.cause) : (r.shortMessage ?? "failed");
      return { ok: false, attempts: 1, exitCode: r.exitCode ?? null, output: tail.text(), timedOut, reason };
    }
    return { ok: true, attempts: 1 };
  } catch (err) {
    return { ok: false, attempts: 1, exitCode: null, output: tail.text(), timedOut, reason: errorMessage(err) };
  } finally {
    clearTimeout(timer);
  }
}

function killGroup(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
}
