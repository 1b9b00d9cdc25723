// The daemon's own log: pino over a writer that can never stop supervision.
//
// pino's default writer (sonic-boom) retries a failed write in a tight loop: on a full disk
// (ENOSPC) the daemon stopped answering and restarting anything for as long as the disk stayed full,
// then died on an unhandled 'error' when space came back. Here a log line is only ever queued:
// - at most `maxBufferBytes` wait in memory; past that, lines are dropped and counted;
// - one write is in flight at a time (fs.write on the libuv pool, never on the event loop);
// - a failed write (ENOSPC, EIO, EPIPE, ...) is retried after `retryMs` with a timer that does not
//   keep the process alive; nothing is ever emitted as 'error';
// - when a write succeeds again, one line says how many lines were lost, and the counters in
//   `logLoss()` (which /metrics can read) keep the total; so does a write after lines were
//   dropped only because more was logged than written meanwhile, once the queue is empty.

import { closeSync, fstatSync, openSync, write, writeSync } from 'node:fs';
import pino, { type Logger } from 'pino';
import { registerLogWriter } from './drain.js';

export interface LogLoss {
  /** Lines dropped because the buffer was full while the log could not be written. */
  droppedLines: number;
  droppedBytes: number;
  /** Writes that failed (each is retried). */
  failedWrites: number;
  /** The code of the last failed write (ENOSPC, EIO, ...), or null once writing works again. */
  lastError: string | null;
}

const loss: LogLoss = { droppedLines: 0, droppedBytes: 0, failedWrites: 0, lastError: null };

/** What the daemon's log writers lost since the process started (for /metrics and tests). */
export function logLoss(): Readonly<LogLoss> {
  return { ...loss };
}

export interface LogWriterOptions {
  /** Bytes of log lines held while the descriptor does not take them (default 8 MiB). */
  maxBufferBytes?: number;
  /** Pause before retrying a failed write (default 1 s). */
  retryMs?: number;
  /** Called once a write succeeds after lines were dropped (a failure, or writes that fell behind),
   *  with how many were and why. */
  onRecovered?: (droppedLines: number, error: string) => void;
  /** The reader of the pipe written to went away (EPIPE), for good: a descriptor to write to from
   *  now on (the lines not written yet go there), or undefined to keep trying. */
  onBroken?: () => number | undefined;
}

/** The at most this many bytes handed to one write(2). One write is in flight at a time, and its
 *  completion waits for the loop's turn: a turn that folds 1000 exits logs ~200 KB, so 64 KB a
 *  write fell behind, and a `tend down` of 5000 dropped 2000–3800 of its 15,000 lines (bench/FINDINGS.md §15). */
const WRITE_CHUNK = 1024 * 1024;
/** What may wait: the lines of a stop of 5000 (~1.5 MB) with room to spare, and a bound on what a
 *  full disk makes tend hold. */
const MAX_BUFFER_BYTES = 8 * 1024 * 1024;

/** A pino destination over a file descriptor that queues, bounds, drops and retries. */
export class BoundedLogWriter {
  private readonly queue: Buffer[] = [];
  private queued = 0;
  private writing = false;
  private retry?: NodeJS.Timeout;
  private droppedSinceOk = 0;
  private failedWith: string | null = null;
  private readonly maxBufferBytes: number;
  private readonly retryMs: number;
  private readonly drainWaiters: (() => void)[] = [];
  /** Descriptors replaced by reopen() while a write to them was in flight: closed when it is done. */
  private readonly retired: number[] = [];

  constructor(
    public fd: number,
    private readonly opts: LogWriterOptions = {},
  ) {
    this.maxBufferBytes = opts.maxBufferBytes ?? MAX_BUFFER_BYTES;
    this.retryMs = opts.retryMs ?? 1000;
  }

  /** Writes from now on go to `fd` (a log file made again: the state directory was put back, or
   *  the terminal went away). The descriptor before is closed once no write to it is in flight (one
   *  leaked at each reopen), unless it is the process's own stdio (0–2), which Node writes to too. */
  reopen(fd: number): void {
    const old = this.fd;
    this.fd = fd;
    if (old <= 2 || old === fd) return;
    if (this.writing) this.retired.push(old);
    else closeQuietly(old);
  }

  /** Bytes waiting to be written. */
  get pendingBytes(): number {
    return this.queued;
  }

  /** pino's destination interface: queue the line, never block, never throw. */
  write(chunk: string): boolean {
    const buf = Buffer.from(chunk);
    if (this.queued + buf.length > this.maxBufferBytes) {
      const lines = countLines(buf);
      this.droppedSinceOk += lines;
      loss.droppedLines += lines;
      loss.droppedBytes += buf.length;
      return true;
    }
    this.queue.push(buf);
    this.queued += buf.length;
    this.kick();
    return true;
  }

  /** pino's `logger.flush(cb)`: calls back once the queue is written, or at once while failing. */
  flush(cb?: (err?: Error) => void): void {
    if (this.queued === 0 || this.failedWith !== null) {
      cb?.();
      return;
    }
    this.drainWaiters.push(() => cb?.());
  }

  /** At exit, one synchronous attempt to write what is queued, only where that cannot block (a
   *  regular file or a terminal, not a pipe whose reader stalled). */
  flushSync(): void {
    if (this.queued === 0 || this.writing) return;
    try {
      const st = fstatSync(this.fd);
      if (!st.isFile() && !st.isCharacterDevice()) return;
      const all = Buffer.concat(this.queue);
      let off = 0;
      while (off < all.length) off += writeSync(this.fd, all, off, all.length - off);
      this.queue.length = 0;
      this.queued = 0;
    } catch {
      /* the disk is still full: what was queued is lost with the process */
    }
  }

  private kick(): void {
    if (this.writing || this.retry !== undefined || this.queued === 0) return;
    this.writing = true;
    const chunk = this.take();
    write(this.fd, chunk, 0, chunk.length, null, (err, written) => {
      this.writing = false;
      for (const old of this.retired.splice(0)) closeQuietly(old);
      if (err) return this.failed(err as NodeJS.ErrnoException);
      this.consume(written);
      // Lines dropped because writes fell behind (no failure) are reported once it caught up.
      if (this.failedWith !== null || (this.droppedSinceOk > 0 && this.queued === 0)) this.recovered();
      if (this.queued === 0) this.drained();
      this.kick();
    });
  }

  /** The head of the queue as one buffer of at most WRITE_CHUNK bytes (merging small lines). */
  private take(): Buffer {
    const first = this.queue[0] as Buffer;
    if (this.queue.length === 1 || first.length >= WRITE_CHUNK) return first;
    const parts: Buffer[] = [];
    let size = 0;
    for (const b of this.queue) {
      if (size + b.length > WRITE_CHUNK && size > 0) break;
      parts.push(b);
      size += b.length;
    }
    const merged = Buffer.concat(parts, size);
    this.queue.splice(0, parts.length, merged);
    return merged;
  }

  /** Removes `n` written bytes from the head (a partial write keeps the rest of its buffer). */
  private consume(n: number): void {
    this.queued -= n;
    while (n > 0) {
      const head = this.queue[0] as Buffer;
      if (head.length <= n) {
        this.queue.shift();
        n -= head.length;
      } else {
        this.queue[0] = head.subarray(n);
        n = 0;
      }
    }
  }

  private failed(err: NodeJS.ErrnoException): void {
    const code = err.code ?? 'EIO';
    if (code === 'EPIPE') {
      const fd = this.opts.onBroken?.();
      if (fd !== undefined) {
        this.reopen(fd);
        setImmediate(() => this.kick());
        return;
      }
    }
    loss.failedWrites++;
    loss.lastError = code;
    this.failedWith = code;
    this.drained(); // flush() waiters must not wait for a disk that may never free up
    // EAGAIN (a non-blocking pipe that is full) clears quickly; anything else waits a while.
    const wait = code === 'EAGAIN' ? 10 : this.retryMs;
    this.retry = setTimeout(() => {
      this.retry = undefined;
      this.kick();
    }, wait);
    this.retry.unref();
  }

  private recovered(): void {
    const dropped = this.droppedSinceOk;
    const error = this.failedWith ?? 'buffer full: writes fell behind';
    this.failedWith = null;
    this.droppedSinceOk = 0;
    loss.lastError = null;
    if (dropped > 0) this.opts.onRecovered?.(dropped, error);
  }

  private drained(): void {
    for (const w of this.drainWaiters.splice(0)) w();
  }
}

function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    /* closed already */
  }
}

function countLines(buf: Buffer): number {
  let n = 0;
  for (const b of buf) if (b === 10) n++;
  return Math.max(n, 1);
}

export interface DaemonLoggerOptions {
  level: string;
  /** Pretty, coloured lines for a person at a terminal; else JSON lines. */
  pretty?: boolean;
  /** Where JSON lines go (default 1: stdout, which `up -d` points at tend.log). */
  fd?: number;
  writer?: LogWriterOptions;
}

/** The daemon's pino logger. JSON lines go through a BoundedLogWriter; a terminal gets pino-pretty
 *  (a terminal does not fill up). */
export async function createDaemonLogger(opts: DaemonLoggerOptions): Promise<Logger> {
  if (opts.pretty) {
    // Loaded only for a person at a terminal.
    const { default: pretty } = await import('pino-pretty');
    return pino({ level: opts.level }, pretty({ colorize: !process.env['NO_COLOR'], sync: true, ignore: 'pid,hostname', translateTime: 'HH:MM:ss.l' }));
  }
  let logger: Logger | undefined;
  const writer = new BoundedLogWriter(opts.fd ?? 1, {
    ...opts.writer,
    onRecovered: (dropped, error) => {
      opts.writer?.onRecovered?.(dropped, error);
      logger?.warn({ dropped_lines: dropped, error }, `${dropped} log lines were dropped while the log could not be written (${error})`);
    },
  });
  logger = pino({ level: opts.level, base: { pid: process.pid } }, writer);
  registerLogWriter(writer); // the command line waits for it before it exits (log/drain.ts)
  writers.set(logger, writer);
  return logger;
}

const writers = new WeakMap<Logger, BoundedLogWriter>();

/** The daemon's log file was removed with the state directory (state/state-dir-keeper.ts): later
 *  lines go to a new one at `path`. */
export function reopenDaemonLog(logger: Logger, path: string): void {
  writers.get(logger)?.reopen(openSync(path, 'a', 0o600));
}

/** The terminal a foreground `tend up` logged to is gone (SIGHUP, and a write to it fails with
 *  EIO): later lines go, as JSON lines, to `path` (tend.log), where `tend daemon-log` reads them, as
 *  nohup sends a program's output to nohup.out. True when the log moved. */
export function moveLogOffDeadTerminal(logger: Logger, path: string): boolean {
  try {
    writeSync(1, '');
    return false; // still there: a SIGHUP sent by hand (a reload)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EIO') return false;
  }
  const fd = openSync(path, 'a', 0o600);
  const known = writers.get(logger);
  if (known) {
    known.reopen(fd);
    return true;
  }
  const writer = new BoundedLogWriter(fd);
  registerLogWriter(writer);
  writers.set(logger, writer);
  // The pretty stream to the terminal is replaced by the file's writer (child loggers read the
  // stream through their prototype, so they follow).
  (logger as unknown as Record<symbol, unknown>)[pino.symbols.streamSym] = writer;
  return true;
}
