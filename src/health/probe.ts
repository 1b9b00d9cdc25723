// One probe run: exec, http or tcp. It observes and reports; it never decides (thresholds are
// folded in fold.ts) and never throws: every failure, including a bad spec, is an outcome with a
// short human-readable `output` that ends up in events and in restart reasons.

import type { ClientRequest, IncomingMessage } from 'node:http';
import { nodeHttp, nodeHttps } from '../util/builtins.js';
import { connect } from 'node:net';
import { spawn, type ChildProcess } from 'node:child_process';
import type { ProbeCheck } from '../spec/types.js';
import type { ProbeOutcome } from './types.js';
import { readProcStat } from '../runtime/proc.js';
import { lookupUser } from '../runtime/user.js';
import { Deadline } from '../util/held-up.js';
import { steadyNow } from '../util/clock.js';

/** Where a probe runs: the replica's cwd and env (exec), and an optional signal that cancels it. */
export interface ProbeContext {
  cwd: string;
  env: Record<string, string>;
  /** The replica's `user:`: when tend runs as root the probe runs as that user, never as root. */
  user?: string;
  /** Aborting it ends the run at once (exec: its process group is killed); the outcome says `canceled`. */
  signal?: AbortSignal;
}

/** Longest `output` kept, in characters (the issue asks for "the first line or two"). */
const OUTPUT_CHARS = 200;

// Runs one check with its timeout; resolves with the verdict and never rejects.
export function runProbe(check: ProbeCheck, timeoutMs: number, ctx: ProbeContext): Promise<ProbeOutcome> {
  if (ctx.signal?.aborted) return Promise.resolve(outcome(false, 'canceled'));
  switch (check.kind) {
    case 'exec':
      return runExec(check.command, timeoutMs, ctx);
    case 'http':
      return runHttp(check.url, timeoutMs, ctx.signal);
    case 'tcp':
      return runTcp(check.host, check.port, timeoutMs, ctx.signal);
  }
}

function outcome(ok: boolean, output: string): ProbeOutcome {
  return { ok, output, at: steadyNow() };
}

/** Whitespace collapsed so the output reads on one line in an event, cut to OUTPUT_CHARS. */
export function trimOutput(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > OUTPUT_CHARS ? `${flat.slice(0, OUTPUT_CHARS - 1)}…` : flat;
}

function timedOut(timeoutMs: number): string {
  return `timed out after ${timeoutMs} ms`;
}

// exec: argv without a shell, in its own process group so that the timeout kills everything it
// started; exit 0 is healthy. child_process.spawn rather than execa: under fd exhaustion Node's
// spawn returns a child without stdio and emits 'error' on the next tick; execa 9 then throws
// `subprocess.stdio is not iterable` synchronously and leaves that 'error' without a listener,
// which takes the whole process down (seen at `ulimit -n 128` with 60 exec probes). Here every
// spawn error is a failed probe. Output: the first bytes are kept and the rest drained, as the
// kubelet truncates exec probe output; a chatty check (`curl /metrics`) is not unhealthy.
function runExec(argv: string[], timeoutMs: number, ctx: ProbeContext): Promise<ProbeOutcome> {
  const [file, ...args] = argv;
  if (file === undefined || file === '') return Promise.resolve(outcome(false, 'exec probe has an empty command'));
  return new Promise((resolve) => {
    let text = '';
    let timedOutHere = false;
    let canceled = false;
    let done = false;
    let ids: { uid: number; gid: number } | undefined;
    if (ctx.user !== undefined && process.getuid?.() === 0) {
      const found = lookupUser(ctx.user);
      if (found === null) {
        resolve(outcome(false, `unknown user "${ctx.user}" (not in /etc/passwd)`));
        return;
      }
      ids = found;
    }
    let child: ChildProcess;
    try {
      child = spawn(file, args, { cwd: ctx.cwd, env: ctx.env, detached: true, stdio: ['ignore', 'pipe', 'pipe'], uid: ids?.uid, gid: ids?.gid });
    } catch (err) {
      resolve(outcome(false, trimOutput(`spawn ${file} ${(err as NodeJS.ErrnoException).code ?? errorText(err)}`)));
      return;
    }
    const pid = child.pid;
    // Read before the event loop runs again, i.e. before Node can reap the leader.
    const startTime = pid === undefined ? undefined : readProcStat(pid)?.startTime;
    // The probe and whatever it started (`sleep 100 &`) go together: a probe must not leak processes.
    // Once Node has reaped the leader its number may be reused: a live process with that pid and
    // another start time means our group is gone, and the signal would hit a stranger.
    const killGroup = (): void => {
      if (pid === undefined) return;
      const leader = readProcStat(pid);
      if (leader !== null && leader.state !== 'Z' && leader.startTime !== startTime) return;
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        /* the group is already empty */
      }
    };
    const finish = (o: ProbeOutcome): void => {
      if (done) return;
      done = true;
      timer.cancel();
      ctx.signal?.removeEventListener('abort', onAbort);
      resolve(o);
    };
    // Not counting time in which tend did not run: an answer given meanwhile is read first.
    const timer = new Deadline(timeoutMs, () => {
      timedOutHere = true;
      killGroup();
    });
    const onAbort = (): void => {
      canceled = true;
      killGroup();
    };
    ctx.signal?.addEventListener('abort', onAbort, { once: true });
    const keep = (chunk: Buffer): void => {
      if (text.length < OUTPUT_CHARS * 4) text += chunk.toString('utf8');
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    child.on('error', (err: NodeJS.ErrnoException) => finish(outcome(false, trimOutput(`spawn ${file} ${err.code ?? err.message}`))));
    child.on('exit', () => killGroup());
    // 'close': the exit and all output are in (a leftover holding the pipes was killed above).
    child.on('close', (code, signal) => {
      const out = trimOutput(text);
      const withOut = (head: string): string => (out === '' ? head : `${head}: ${out}`);
      if (timedOutHere) return finish(outcome(false, withOut(timedOut(timeoutMs))));
      if (canceled) return finish(outcome(false, withOut('canceled')));
      if (code === 0) return finish(outcome(true, out));
      if (code !== null) return finish(outcome(false, withOut(`exit code ${code}`)));
      return finish(outcome(false, withOut(`killed by ${signal}`)));
    });
  });
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

// http: one GET on a fresh connection (agent: false, so an old kept-alive socket can never hide a
// dead server); 2xx and 3xx are healthy and redirects are not followed, as in the kubelet. The
// body is not read: the status line is the verdict. node:http rather than fetch, which costs more
// per request (see bench/probes.ts).
function runHttp(url: string, timeoutMs: number, cancel: AbortSignal | undefined): Promise<ProbeOutcome> {
  let target: URL;
  try {
    target = new URL(url);
  } catch {
    return Promise.resolve(outcome(false, `${url}: invalid URL`));
  }
  const request =
    target.protocol === 'http:' ? nodeHttp().request : target.protocol === 'https:' ? nodeHttps().request : undefined;
  if (request === undefined) return Promise.resolve(outcome(false, `${url}: unsupported protocol ${target.protocol}`));
  // Not AbortSignal.timeout: its timer would count time in which tend did not run (util/held-up.ts).
  const timeout = new AbortController();
  const timer = new Deadline(timeoutMs, () => timeout.abort());
  const signal = cancel ? AbortSignal.any([timeout.signal, cancel]) : timeout.signal;
  return new Promise((resolve) => {
    let settled = false;
    const settle = (ok: boolean, output: string): void => {
      if (settled) return;
      settled = true;
      timer.cancel();
      resolve(outcome(ok, output));
    };
    let req: ClientRequest;
    try {
      req = request(target, {
        method: 'GET',
        agent: false,
        signal,
        headers: { 'user-agent': 'tend-probe', accept: '*/*' },
        // A probe checks that the service answers, not who it is (the kubelet does the same).
        rejectUnauthorized: false,
      });
    } catch (err) {
      settle(false, `${url}: ${(err as Error).message}`);
      return;
    }
    req.on('response', (res: IncomingMessage) => {
      const code = res.statusCode ?? 0;
      settle(code >= 200 && code < 400, `${url} answered ${code}`);
      res.destroy();
    });
    // Also catches the errors that follow our own destroy() or an abort after the verdict.
    req.on('error', (err: Error) => {
      if (timeout.signal.aborted) settle(false, `${url}: ${timedOut(timeoutMs)}`);
      else if (signal.aborted) settle(false, `${url}: canceled`);
      else settle(false, `${url}: ${err.message}`);
    });
    req.end();
  });
}

// tcp: healthy once a connection opens; it is closed at once.
function runTcp(host: string, port: string, timeoutMs: number, cancel: AbortSignal | undefined): Promise<ProbeOutcome> {
  const target = `tcp ${host.includes(':') ? `[${host}]` : host}:${port}`;
  const portNumber = Number(port);
  if (!Number.isInteger(portNumber) || portNumber <= 0 || portNumber > 65535) {
    return Promise.resolve(outcome(false, `${target}: invalid port`));
  }
  return new Promise((resolve) => {
    const socket = connect({ host, port: portNumber });
    // A timer, cheaper than an AbortSignal on the hot path of thousands of probes a second, that
    // does not count time in which tend did not run (util/held-up.ts).
    const timer = new Deadline(timeoutMs, () => finish(false, `${target}: ${timedOut(timeoutMs)}`));
    const onCancel = (): void => finish(false, `${target}: canceled`);
    cancel?.addEventListener('abort', onCancel, { once: true });
    let settled = false;
    function finish(ok: boolean, output: string): void {
      if (settled) return;
      settled = true;
      timer.cancel();
      cancel?.removeEventListener('abort', onCancel);
      socket.destroy();
      resolve(outcome(ok, output));
    }
    socket.once('connect', () => finish(true, `${target} connected`));
    socket.on('error', (err: Error) => finish(false, `${target}: ${err.message}`));
  });
}
