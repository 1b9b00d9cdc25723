// The CLI's side of the control API: typed calls over the daemon's Unix socket. A missing or
// refusing socket becomes DAEMON_UNREACHABLE with a message that says how to start a daemon.

import type { IncomingMessage } from 'node:http';
import { nodeHttp } from '../util/builtins.js';
import { statSync } from 'node:fs';
import { dirname } from 'node:path';
import { TendError } from '../errors.js';
import { errorFromBody } from './errors-http.js';
import type { InspectReport } from './inspect.js';
import type { LogLine } from './log-stream.js';
import type { PlanReport, ServiceStatus, StatusReport, TendEvent } from './types.js';
import { socketAddress } from '../util/socket-path.js';
import { displayPath } from '../util/working-dir.js';

export interface ActionResult {
  ok: true;
  service: string;
  replica: number | null;
  action: string;
  /** restart: the service was held by `tend stop`, and the hold was lifted to start it. */
  released?: true;
}

export interface LogsQuery {
  replica?: number;
  tail?: number;
  follow?: boolean;
  /** Epoch ms bounds on when a line was written. */
  since?: number;
  until?: number;
  timestamps?: boolean;
  /** JSON lines (`LogLine`) instead of `svc/n | line` text. */
  json?: boolean;
}

export interface ClientOptions {
  /** How long a request may go unanswered (ms): a whole JSON exchange, or a stream until it is
   *  connected. Default DEFAULT_CLIENT_TIMEOUT_MS; 0 waits for ever. */
  timeoutMs?: number;
}

/** The default of `--client-timeout`: generous for a daemon loading thousands of files, short
 *  enough that a wedged daemon does not hang a script for ever. */
export const DEFAULT_CLIENT_TIMEOUT_MS = 30_000;

/** Talks to one daemon through its socket; every method throws TendError. */
export class ApiClient {
  readonly timeoutMs: number;
  constructor(
    readonly socketPath: string,
    opts: ClientOptions = {},
  ) {
    this.timeoutMs = opts.timeoutMs ?? DEFAULT_CLIENT_TIMEOUT_MS;
  }

  /** The whole status report. */
  status(): Promise<StatusReport> {
    return this.json('GET', '/v1/status');
  }

  /** One service's status with its replicas. */
  service(name: string): Promise<ServiceStatus> {
    return this.json('GET', `/v1/services/${encodeURIComponent(name)}`);
  }

  /** The effective spec and each replica's argv, cwd, ports and environment. */
  inspect(name: string, opts: { replica?: number; reveal?: boolean; allEnv?: boolean } = {}): Promise<InspectReport> {
    const qs = new URLSearchParams();
    if (opts.replica !== undefined) qs.set('replica', String(opts.replica));
    if (opts.reveal) qs.set('reveal', '1');
    if (opts.allEnv) qs.set('env', 'all');
    return this.json('GET', `/v1/services/${encodeURIComponent(name)}/inspect?${qs}`);
  }

  /** Restart, pause, resume or signal a service's replicas (all, or the one at `replica`). */
  act(
    action: 'restart' | 'pause' | 'resume' | 'kill' | 'stop' | 'start',
    name: string,
    opts: { replica?: number; signal?: string } = {},
  ): Promise<ActionResult> {
    return this.json('POST', `/v1/services/${encodeURIComponent(name)}/${action}`, opts);
  }

  /** What applying `dir` (absolute) would change. */
  plan(dir: string, opts: { switchTo?: boolean } = {}): Promise<PlanReport> {
    return this.json('POST', '/v1/plan', { dir, ...(opts.switchTo ? { switch: true } : {}) });
  }

  /** Asks the daemon to re-read its spec source now. */
  async reload(): Promise<void> {
    await this.json('POST', '/v1/reload', {});
  }

  /** Asks the daemon to stop every service and exit; returns once it has accepted. */
  async shutdown(): Promise<void> {
    await this.json('POST', '/v1/shutdown', {});
  }

  /** Prometheus text. */
  async metrics(): Promise<string> {
    return this.exchange('GET', '/metrics', undefined, readText);
  }

  /** The logs of one service (or, without a name, of all in time order) as a stream of
   *  `svc/n | line` lines or JSON lines; ends unless `follow`. */
  logs(name: string | undefined, query: LogsQuery = {}): Promise<IncomingMessage> {
    const qs = new URLSearchParams();
    if (query.replica !== undefined) qs.set('replica', String(query.replica));
    if (query.tail !== undefined) qs.set('tail', String(query.tail));
    if (query.follow) qs.set('follow', '1');
    if (query.since !== undefined) qs.set('since', String(query.since));
    if (query.until !== undefined) qs.set('until', String(query.until));
    if (query.timestamps) qs.set('timestamps', '1');
    if (query.json) qs.set('format', 'json');
    return this.open('GET', `/v1/logs${name === undefined ? '' : `/${encodeURIComponent(name)}`}?${qs}`);
  }

  /** The last `tail` lines of one replica's log, run separators included, oldest first. */
  async logTail(name: string, replica: number, tail: number): Promise<LogLine[]> {
    const text = await readText(await this.logs(name, { replica, tail, json: true }));
    return text
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as LogLine);
  }

  /** Past events, oldest first: the last `tail` (default 1000), or all after the id `since`. */
  async eventHistory(tail?: number, since?: number): Promise<TendEvent[]> {
    const qs = new URLSearchParams({ follow: '0' });
    if (tail !== undefined) qs.set('tail', String(tail));
    if (since !== undefined) qs.set('since', String(since));
    const text = await this.exchange('GET', `/v1/events?${qs}`, undefined, readText);
    return text
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as TendEvent);
  }

  /** Past events, then live ones as they happen, until `signal` aborts or the daemon stops (or,
   *  without `whileGone`, goes away). A stream the daemon cuts (this reader fell too far behind)
   *  is resumed after the last event seen, with `Last-Event-ID`, so nothing is lost or repeated;
   *  with `whileGone`, so is one cut by a daemon that went away (killed, crashed), once a daemon
   *  answers again (event ids go on across restarts). */
  async *events(opts: { tail?: number; since?: number; signal?: AbortSignal; whileGone?: { gone(): void; back(): void } } = {}): AsyncGenerator<TendEvent> {
    let last = opts.since;
    let first = true;
    for (;;) {
      const qs = new URLSearchParams();
      if (first && opts.tail !== undefined) qs.set('tail', String(opts.tail));
      const headers: Record<string, string> = last === undefined ? {} : { 'last-event-id': String(last) };
      let res: IncomingMessage;
      try {
        res = await this.open('GET', `/v1/events?${qs}`, undefined, { signal: opts.signal, headers });
      } catch (err) {
        if (first || !isGone(err)) throw err;
        // Gone after an abrupt cut: the daemon was killed or crashed.
        if (!opts.whileGone) return;
        opts.whileGone.gone();
        await this.waitUntilAnswering();
        opts.whileGone.back();
        continue;
      }
      first = false;
      let buffer = '';
      let cut = false;
      try {
        for await (const chunk of res) {
          buffer += String(chunk);
          let end: number;
          while ((end = buffer.indexOf('\n\n')) >= 0) {
            const block = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            const data = block
              .split('\n')
              .filter((l) => l.startsWith('data:'))
              .map((l) => l.slice(5).trimStart())
              .join('\n');
            const id = /^id: ?(\d+)$/m.exec(block)?.[1];
            if (data === '') continue;
            if (id !== undefined) last = Number(id);
            yield JSON.parse(data) as TendEvent;
          }
        }
      } catch (err) {
        if (opts.signal?.aborted) return;
        if ((err as NodeJS.ErrnoException).code !== 'ECONNRESET') throw err;
        cut = true;
      }
      // A clean end is the daemon closing the stream (shutdown); an abrupt one, a cut to resume.
      if (!cut && res.complete) return;
    }
  }

  /** Returns once a daemon answers on this socket (polling); rethrows anything but its absence. */
  async waitUntilAnswering(everyMs = 250): Promise<void> {
    for (;;) {
      try {
        await this.status();
        return;
      } catch (err) {
        if (!isGone(err)) throw err;
      }
      await new Promise((r) => setTimeout(r, everyMs));
    }
  }

  private async json<T>(method: string, path: string, body?: unknown): Promise<T> {
    const text = await this.exchange(method, path, body, readText);
    try {
      return JSON.parse(text) as T;
    } catch {
      throw new TendError('INTERNAL', `the daemon sent malformed JSON for ${method} ${path}`);
    }
  }

  /** A whole request and the reading of its answer, under one deadline. */
  private exchange<T>(method: string, path: string, body: unknown, read: (res: IncomingMessage) => Promise<T>): Promise<T> {
    return this.open(method, path, body, { whole: read });
  }

  // Opens a request and resolves with the response once its status is known (or, with `whole`,
  // with what `whole` read from it); 4xx/5xx become the TendError the daemon described. The client
  // timeout covers connecting, the answer's headers and, with `whole`, its body; a stream is on its
  // own once connected (`logs -f`, `events -f` may rightly be quiet for hours).
  private open(method: string, path: string, body?: unknown, opts?: { signal?: AbortSignal | undefined; headers?: Record<string, string> }): Promise<IncomingMessage>;
  private open<T>(method: string, path: string, body: unknown, opts: { whole: (res: IncomingMessage) => Promise<T> }): Promise<T>;
  private open<T>(
    method: string,
    path: string,
    body?: unknown,
    opts: { signal?: AbortSignal | undefined; headers?: Record<string, string>; whole?: (res: IncomingMessage) => Promise<T> } = {},
  ): Promise<IncomingMessage | T> {
    return new Promise((resolve, reject) => {
      const payload = body === undefined ? undefined : JSON.stringify(body);
      let timer: NodeJS.Timeout | undefined;
      let settled = false;
      const settle = (fn: () => void) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        fn();
      };
      // A path too long for a socket is reached through its directory (util/socket-path.ts);
      // no directory, no daemon.
      let target: ReturnType<typeof socketAddress>;
      try {
        target = socketAddress(this.socketPath);
      } catch (err) {
        reject(this.connectError(err as NodeJS.ErrnoException));
        return;
      }
      const { address, release } = target;
      const req = nodeHttp().request(
        {
          socketPath: address,
          method,
          path,
          ...(opts.signal ? { signal: opts.signal } : {}),
          headers: {
            ...opts.headers,
            ...(payload === undefined ? {} : { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(payload)) }),
          },
        },
        (res) => {
          const status = res.statusCode ?? 0;
          if (status >= 400) {
            readText(res).then((text) => {
              let parsed: unknown = null;
              try {
                parsed = JSON.parse(text);
              } catch {
                /* not JSON: reported with its status below */
              }
              settle(() => reject(errorFromBody(status, parsed)));
            }, (err: NodeJS.ErrnoException) => settle(() => reject(this.connectError(err))));
            return;
          }
          if (!opts.whole) return settle(() => resolve(res));
          opts.whole(res).then(
            (value) => settle(() => resolve(value)),
            (err: NodeJS.ErrnoException) => settle(() => reject(this.connectError(err))),
          );
        },
      );
      if (this.timeoutMs > 0) {
        timer = setTimeout(() => {
          settle(() => reject(this.timeoutError(method, path)));
          req.destroy();
        }, this.timeoutMs);
      }
      req.on('error', (err: NodeJS.ErrnoException) => settle(() => reject(this.connectError(err))));
      // Connected (or failed): the directory's descriptor, if the path needed one, is not needed.
      req.once('socket', (s) => (s.connecting ? s.once('connect', release).once('close', release) : release()));
      req.once('close', release);
      req.end(payload);
    });
  }

  private timeoutError(method: string, path: string): TendError {
    const what = `${method} ${path.replace(/\?$/, '')}`;
    return new TendError(
      'DAEMON_TIMEOUT',
      `the tend daemon on ${displayPath(this.socketPath)} did not answer ${what} within ${formatMs(this.timeoutMs)} ` +
        `(raise it with --client-timeout, or see the daemon's log)`,
      { socket: this.socketPath, request: what, timeoutMs: this.timeoutMs },
    );
  }

  private connectError(err: NodeJS.ErrnoException): Error {
    if (err.code === 'ENOENT' || err.code === 'ECONNREFUSED' || err.code === 'ENOTSOCK') {
      return new TendError(
        'DAEMON_UNREACHABLE',
        `no tend daemon on ${displayPath(this.socketPath)} — start one with \`tend up -d\``,
        { socket: this.socketPath },
        { cause: err },
      );
    }
    if (err.code === 'ECONNRESET' || err.code === 'EPIPE') {
      return new TendError('DAEMON_UNREACHABLE', `the tend daemon on ${displayPath(this.socketPath)} closed the connection`, {}, { cause: err });
    }
    if (err.name === 'AbortError') return err;
    if (err.code === 'EACCES' || err.code === 'EPERM') {
      // `sudo tend up -d`, then `tend status` as yourself: say whose the directory is.
      const dir = dirname(this.socketPath);
      const owner = statSync(dir, { throwIfNoEntry: false })?.uid;
      const me = process.getuid?.();
      const whose =
        owner !== undefined && owner !== me
          ? `: ${displayPath(dir)} belongs to uid ${owner}, and tend runs as uid ${me}; run tend as uid ${owner}${owner === 0 ? ' (sudo tend ...)' : ''}, or use a state directory of your own (--state-dir)`
          : '';
      return new TendError('DAEMON_UNREACHABLE', `cannot reach the tend daemon on ${displayPath(this.socketPath)}: permission denied${whose}`, { socket: this.socketPath, code: err.code }, { cause: err });
    }
    return new TendError('DAEMON_UNREACHABLE', `cannot reach the tend daemon on ${displayPath(this.socketPath)}: ${err.message}`, {}, { cause: err });
  }
}

/** `30s`, `1.5s`, `250ms`. */
function formatMs(ms: number): string {
  return ms >= 1000 ? `${Number((ms / 1000).toFixed(3))}s` : `${ms}ms`;
}

async function readText(res: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of res) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** No daemon listens on the socket (not: it may not be reached, which `details.code` says). */
export function isGone(err: unknown): boolean {
  return err instanceof TendError && err.code === 'DAEMON_UNREACHABLE' && err.details['code'] === undefined;
}
