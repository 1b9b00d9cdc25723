// tend's side of the spawn helper: a small process that forks replicas and reports their exits, so
// that the daemon neither forks from its large heap nor reaps thousands of children (libuv calls
// waitpid() once per live child on every SIGCHLD). Two programs speak its protocol:
// - libexec/tend-spawn-helper, compiled from tend-spawn-helper.c by `npm run build` when the
//   machine has a C compiler: ~1.5 MiB instead of ~50, and it forks the next replica while the last
//   one execs (bench/FINDINGS.md §11);
// - libexec/tend-spawn-helper.mjs, run by node: used when there is no compiled one, or it does not
//   come up (a binary built for another machine).
// The runtime uses a helper once it said it is ready and until it dies; before, after, or when none
// can start at all, the runtime spawns in process as it always did (issue 13: chosen at run time).

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { ProcessHandle } from './types.js';

export interface HelperRequest {
  argv: string[];
  cwd: string;
  env: NodeJS.ProcessEnv;
  log: string;
  uid?: number;
  gid?: number;
  /** Supplementary groups (the compiled helper sets them; node's cannot, as libuv clears them). */
  groups?: number[];
  /** The soft open-files limit to set (the compiled helper only: src/util/nofile.ts). */
  nofile?: number;
}

export type HelperReply =
  | { ok: true; pid: number; startTime: number; offset: number }
  /** `stage`: opening the log, or the fork and exec (`code` is the OS error: ENOENT, EACCES...). */
  | { ok: false; stage: 'log' | 'spawn' | 'helper'; code: string; message: string }
  /** The helper was gone before the request was sent: nothing was forked. */
  | { ok: false; stage: 'unsent' };

export interface HelperEvents {
  /** A replica the helper forked exited (its leader; the group may live on). `groupEmpty`: when
   *  the helper reaped it, nobody was left in its group. */
  onExit: (pid: number, code: number | null, signal: NodeJS.Signals | null, groupEmpty: boolean) => void;
  /** The helper is gone: every replica it forked is now nobody's child that tend can wait for. */
  onDeath: () => void;
  /** A group it was asked to signal could not be (EPERM): the stop of that group fails with it. */
  onSignalError?: (pgid: number, err: NodeJS.ErrnoException) => void;
}

const SCRIPT = fileURLToPath(new URL('../../libexec/tend-spawn-helper.mjs', import.meta.url));
/** Where `npm run build` puts the compiled helper (scripts/build-native.mjs). */
export const NATIVE_HELPER = fileURLToPath(new URL('../../libexec/tend-spawn-helper', import.meta.url));

/** Which program: the compiled one if it comes up (else node's), or node's. */
export type HelperKind = 'auto' | 'node';
// Node's helper, as node runs it: a small young generation, as it allocates little and its page
// tables are what each fork copies. No optimising compiler (its JavaScript is a few dozen lines;
// the cost of a spawn is the kernel's) and no V8 worker threads: 52 instead of 60 MiB with 2500
// replicas, and fewer threads for the copy-on-write after each fork to interrupt
// (bench/FINDINGS.md §9).
export const NODE_ARGS = ['--max-semi-space-size=1', '--lite-mode', '--no-expose-wasm', '--v8-pool-size=0', '--single-threaded-gc', SCRIPT];
/** Requests per write to a helper's stdin (see send()). */
const BATCH_LINES = 64;

/** The environment of tend's own helper processes: tend's, without NODE_OPTIONS. A `--require` a
 *  user exported for tend's shell (a tracer, say) was loaded into every helper too; a replica still
 *  gets it, from its own environment. Nor NODE_EXTRA_CA_CERTS: a helper makes no TLS connection,
 *  and Node would load the certificates at its start (src/util/deferred-ca.ts). */
export function helperEnv(): NodeJS.ProcessEnv {
  const { NODE_OPTIONS: _options, NODE_EXTRA_CA_CERTS: _ca, ...env } = process.env;
  return env;
}

export class SpawnHelper {
  private child?: ChildProcess;
  private program: 'native' | 'node' = 'node';
  private ready = false;
  private dead = false;
  private seq = 0;
  private settleReady: (usable: boolean) => void = () => {};
  /** True once it is up, false if it never came up (the runtime forks in process meanwhile). */
  readonly whenReady = new Promise<boolean>((resolve) => (this.settleReady = resolve));
  private readonly waiting = new Map<number, { resolve: (r: HelperReply) => void; forked: (pid: number, startTime: number) => void }>();
  /** Lines not written yet, each with its spawn request's id if it is one. */
  private out: { line: string; id?: number }[] = [];
  private flushQueued = false;
  /** A write to its stdin is in progress: what comes meanwhile waits for it (flush()). */
  private writing = false;

  constructor(
    private readonly events: HelperEvents,
    kind: HelperKind = 'auto',
    native = NATIVE_HELPER,
  ) {
    if (kind === 'auto' && existsSync(native)) this.start('native', native, []);
    else this.start('node', process.execPath, NODE_ARGS);
  }

  private start(program: 'native' | 'node', file: string, args: string[]): void {
    this.program = program;
    let child: ChildProcess;
    try {
      child = spawn(file, args, {
        stdio: ['pipe', 'pipe', 'inherit'],
        env: helperEnv(),
        // Its own session: a Ctrl-C meant for tend does not reach it; it leaves with its stdin.
        detached: true,
      });
    } catch {
      if (program === 'native') return this.start('node', process.execPath, NODE_ARGS);
      this.dead = true;
      this.settleReady(false);
      return;
    }
    this.child = child;
    const gone = () => {
      if (this.child !== child || this.dead) return;
      // A compiled helper that never came up (built for another machine, say): node's instead.
      if (program === 'native' && !this.ready) {
        this.child = undefined;
        child.stdin?.destroy();
        this.start('node', process.execPath, NODE_ARGS); // nothing was sent to it: it was not ready
        return;
      }
      this.died();
    };
    child.on('error', gone);
    child.stdin!.on('error', gone);
    child.once('exit', gone);
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (this.child === child) this.onLine(line);
    });
  }

  /** Forks asked for and not answered yet. */
  get inFlight(): number {
    return this.waiting.size;
  }

  /** The compiled helper: it can set what Node cannot (groups, limits). */
  get native(): boolean {
    return this.program === 'native';
  }

  /** It answered and has not died: spawns may go to it. */
  get usable(): boolean {
    return this.ready && !this.dead;
  }

  /** `forked` is called as soon as the reply is read, before any exit the same read may carry:
   *  the caller must know the pid by then. */
  spawn(req: HelperRequest, forked: (pid: number, startTime: number) => void): Promise<HelperReply> {
    if (this.dead || !this.child) return Promise.resolve({ ok: false, stage: 'unsent' });
    const id = ++this.seq;
    return new Promise((resolve) => {
      this.waiting.set(id, { resolve, forked });
      this.send(JSON.stringify({ id, ...req }) + '\n', id);
    });
  }

  /** Asks the helper to send `sigs` to the group of a replica it forked (see the helper's header:
   *  as the leader's parent it knows whether the group id can have been reused). False if it is
   *  gone: the caller signals the group itself. */
  signal(handle: ProcessHandle, sigs: readonly NodeJS.Signals[]): boolean {
    if (this.dead || !this.child) return false;
    this.send(JSON.stringify({ kill: handle.pgid, pid: handle.pid, start: handle.startTime, sigs }) + '\n');
    return true;
  }

  /** Requests go out in one write per BATCH_LINES, or at the end of the current piece of work:
   *  a pass that stops 5000 replicas made 5000 writes to the pipe (45 ms of `tend down`). A batch
   *  is short enough that the helper starts forking while the pass goes on. A spawn for a helper
   *  with nothing to do goes out at once: the first replica of a cold start of 1000 waited for the
   *  63 after it to be prepared (~15 ms), and a lone restart for the end of the pass. */
  private send(line: string, id?: number): void {
    this.out.push(id === undefined ? { line } : { line, id });
    if (this.writing) return;
    const idle = id !== undefined && this.waiting.size === 1 && this.out.length === 1;
    if (idle || this.out.length >= BATCH_LINES) this.flush();
    else if (!this.flushQueued) {
      this.flushQueued = true;
      process.nextTick(() => this.flush());
    }
  }

  /** Writes the next BATCH_LINES lines, and the next batch once the pipe has taken them. Writes
   *  queued behind the helper (it forks while the daemon prepares more) were joined by Node into
   *  one buffer for a writev: four of 4.7 MB in a cold start of 5000, 18.8 MB of malloc at the
   *  peak (heaptrack). glibc serves an allocation that large with its own mapping, and freeing it
   *  raises the size it serves that way, so the next large buffers came from its heap, which it
   *  gives back only from the top (bench/FINDINGS.md §13). */
  private flush(): void {
    this.flushQueued = false;
    if (this.writing || this.out.length === 0 || this.dead || !this.child) return;
    const batch = this.out.splice(0, BATCH_LINES);
    this.writing = true;
    this.child.stdin!.write(batch.map((o) => o.line).join(''), () => {
      this.writing = false;
      this.flush();
    });
  }

  /** Lets tend exit: the helper leaves when its stdin closes; replicas run on. */
  close(): void {
    if (this.out.length > 0 && !this.dead && this.child) this.child.stdin!.write(this.out.map((o) => o.line).join(''));
    this.out = [];
    this.settleReady(false);
    this.dead = true;
    this.child?.stdin?.end();
    this.child?.unref();
    for (const w of this.waiting.values()) w.resolve(gone());
    this.waiting.clear();
  }

  private onLine(line: string): void {
    let m: { ready?: true; id?: number; pid?: number; start?: number; offset?: number; err?: string; msg?: string; stage?: 'log' | 'spawn'; exit?: number; code?: number | null; signal?: NodeJS.Signals | null; empty?: true; killErr?: number };
    try {
      m = JSON.parse(line);
    } catch {
      return;
    }
    if (m.ready) {
      this.ready = true;
      this.settleReady(true);
      return;
    }
    if (m.exit !== undefined) return this.events.onExit(m.exit, m.code ?? null, m.signal ?? null, m.empty === true);
    if (m.killErr !== undefined) return this.events.onSignalError?.(m.killErr, Object.assign(new Error(m.msg ?? 'kill failed'), { code: m.err ?? 'UNKNOWN' }));
    const w = m.id === undefined ? undefined : this.waiting.get(m.id);
    if (!w) return;
    this.waiting.delete(m.id!);
    if (m.pid !== undefined) {
      w.forked(m.pid, m.start ?? 0);
      w.resolve({ ok: true, pid: m.pid, startTime: m.start ?? 0, offset: m.offset ?? 0 });
    } else w.resolve({ ok: false, stage: m.stage ?? 'spawn', code: m.err ?? 'UNKNOWN', message: m.msg ?? 'unknown error' });
  }

  private died(): void {
    this.settleReady(false);
    if (this.dead) return;
    this.dead = true;
    this.child = undefined;
    // A request in flight may or may not have forked: its reply is lost. The replica is retried;
    // a process forked in that instant carries tend's token and nonce, and the next start of tend
    // finds it (state/orphans.ts). One still in our batch never left: another helper takes it.
    const unsent = new Set(this.out.map((o) => o.id));
    for (const [id, w] of this.waiting) w.resolve(unsent.has(id) ? { ok: false, stage: 'unsent' } : gone());
    this.waiting.clear();
    this.out = [];
    this.events.onDeath();
  }
}

function gone(): HelperReply {
  return { ok: false, stage: 'helper', code: 'EHELPER', message: 'the spawn helper is gone' };
}
