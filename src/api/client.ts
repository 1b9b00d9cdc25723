// The CLI's side of the control API: typed calls over the daemon's Unix socket. A missing or
// refusing socket becomes DAEMON_UNREACHABLE with a message that says how to start a daemon.

import { request, type IncomingMessage } from 'node:http';
import { relative, isAbsolute } from 'node:path';
import { TendError } from '../errors.js';
import { errorFromBody } from './errors-http.js';
import type { InspectReport } from './inspect.js';
import type { PlanReport, ServiceStatus, StatusReport, TendEvent } from './types.js';

export interface ActionResult {
  ok: true;
  service: string;
  replica: number | null;
  action: string;
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

/** Talks to one daemon through its socket; every method throws TendError. */
export class ApiClient {
  constructor(readonly socketPath: string) {}

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
    action: 'restart' | 'pause' | 'resume' | 'kill',
    name: string,
    opts: { replica?: number; signal?: string } = {},
  ): Promise<ActionResult> {
    return this.json('POST', `/v1/services/${encodeURIComponent(name)}/${action}`, opts);
  }

  /** What applying `dir` (absolute) would change. */
  plan(dir: string): Promise<PlanReport> {
    return this.json('POST', '/v1/plan', { dir });
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
    const res = await this.open('GET', '/metrics');
    return readText(res);
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

  /** Past events, oldest first. */
  async eventHistory(tail?: number): Promise<TendEvent[]> {
    const qs = tail === undefined ? '' : `&tail=${tail}`;
    const text = await readText(await this.open('GET', `/v1/events?follow=0${qs}`));
    return text
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as TendEvent);
  }

  /** Past events, then live ones as they happen, until `signal` aborts or the daemon goes away. */
  async *events(opts: { tail?: number; signal?: AbortSignal } = {}): AsyncGenerator<TendEvent> {
    const qs = opts.tail === undefined ? '' : `?tail=${opts.tail}`;
    const res = await this.open('GET', `/v1/events${qs}`, undefined, opts.signal);
    let buffer = '';
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
          if (data !== '') yield JSON.parse(data) as TendEvent;
        }
      }
    } catch (err) {
      if (opts.signal?.aborted) return;
      throw err;
    }
  }

  private async json<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await this.open(method, path, body);
    const text = await readText(res);
    try {
      return JSON.parse(text) as T;
    } catch {
      throw new TendError('INTERNAL', `the daemon sent malformed JSON for ${method} ${path}`);
    }
  }

  // Opens a request and resolves with the response once its status is known; 4xx/5xx become the
  // TendError the daemon described.
  private open(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<IncomingMessage> {
    return new Promise((resolve, reject) => {
      const payload = body === undefined ? undefined : JSON.stringify(body);
      const req = request(
        {
          socketPath: this.socketPath,
          method,
          path,
          signal,
          headers: payload === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) },
        },
        (res) => {
          const status = res.statusCode ?? 0;
          if (status < 400) return resolve(res);
          readText(res).then((text) => {
            let parsed: unknown = null;
            try {
              parsed = JSON.parse(text);
            } catch {
              /* not JSON: reported with its status below */
            }
            reject(errorFromBody(status, parsed));
          }, reject);
        },
      );
      req.on('error', (err: NodeJS.ErrnoException) => reject(this.connectError(err)));
      req.end(payload);
    });
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
    return new TendError('DAEMON_UNREACHABLE', `cannot reach the tend daemon on ${displayPath(this.socketPath)}: ${err.message}`, {}, { cause: err });
  }
}

/** A path relative to the working directory when it is inside it (`.tend/tend.sock`), else absolute. */
export function displayPath(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel) ? rel : path;
}

async function readText(res: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of res) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
