// The control API: HTTP/1.1 with JSON bodies on the daemon's Unix socket (DESIGN §6). The server
// only translates: it validates input, calls the ControlPlane and maps TendError codes to HTTP
// statuses. Bad requests of every kind get a 4xx JSON error; nothing a client sends can crash it.

import { chmodSync, unlinkSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { isAbsolute } from 'node:path';
import { constants as osConstants } from 'node:os';
import { TendError } from '../errors.js';
import { errorBodyOf, httpStatusOf } from './errors-http.js';
import { streamLogRecords } from './log-stream.js';
import type { ControlPlane, TendEvent } from './types.js';

const MAX_BODY = 64 * 1024;
const NAME = /^[a-z0-9][a-z0-9_-]{0,62}$/;
const FOLLOW_POLL_MS = 100;
const SSE_HEARTBEAT_MS = 15_000;
const DEFAULT_EVENT_HISTORY = 1000;
type ReplicaAction = 'restart' | 'pause' | 'resume' | 'kill';

export interface ApiServer {
  close(): Promise<void>;
}

export interface ApiLogger {
  warn(obj: object, msg?: string): void;
}

/** Starts the control API on `socketPath` with mode 0600; the caller guarantees no other daemon owns it. */
export async function startApiServer(socketPath: string, control: ControlPlane, log: ApiLogger): Promise<ApiServer> {
  // Streams (logs -f, events) never end on their own: they are ended here when the server closes.
  const streams = new Set<() => void>();
  const server = createServer((req, res) => {
    handle(req, res, control, log, streams).catch((err: unknown) => {
      log.warn({ err, method: req.method, url: req.url }, 'control API request failed');
      sendError(res, err);
    });
  });
  server.on('clientError', (_err, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n');
    else socket.destroy();
  });

  try {
    unlinkSync(socketPath);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  // The bind happens synchronously inside listen(), so the umask covers exactly that call: the socket
  // is born 0600 and nobody else can connect even for an instant.
  const previous = process.umask(0o177);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    try {
      server.listen(socketPath, () => {
        server.off('error', reject);
        resolve();
      });
    } finally {
      process.umask(previous);
    }
  });
  chmodSync(socketPath, 0o600);

  return {
    close: () =>
      new Promise<void>((resolve) => {
        for (const end of streams) end();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function handle(
  req: IncomingMessage,
  res: ServerResponse,
  control: ControlPlane,
  log: ApiLogger,
  streams: Set<() => void>,
): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://tend');
  const segments = url.pathname
    .split('/')
    .filter((s) => s !== '')
    .map(decodeSegment);
  const method = req.method ?? 'GET';
  const route = `${method} /${segments.map((s, i) => (isParam(segments, i) ? ':name' : s)).join('/')}`;

  switch (route) {
    case 'GET /v1/status':
      return sendJson(res, 200, control.status());
    case 'GET /v1/services/:name':
      return sendJson(res, 200, serviceStatus(control, serviceName(segments[2])));
    case 'POST /v1/services/:name/restart':
    case 'POST /v1/services/:name/pause':
    case 'POST /v1/services/:name/resume':
    case 'POST /v1/services/:name/kill':
      return replicaAction(req, res, control, serviceName(segments[2]), segments[3] as ReplicaAction);
    case 'POST /v1/plan': {
      const body = await readJson(req);
      const dir = (body as { dir?: unknown }).dir;
      if (typeof dir !== 'string' || !isAbsolute(dir)) {
        throw new TendError('API_BAD_REQUEST', `expected "dir" to be an absolute path, got ${JSON.stringify(dir)}`);
      }
      return sendJson(res, 200, await control.plan(dir));
    }
    case 'POST /v1/reload':
      await readJson(req);
      control.reload();
      return sendJson(res, 202, { ok: true });
    case 'POST /v1/shutdown':
      await readJson(req);
      // Answer first: the daemon stops everything and exits, and the client watches its pid go.
      res.once('finish', () => {
        control.shutdown().catch((err: unknown) => log.warn({ err }, 'shutdown failed'));
      });
      return sendJson(res, 202, { ok: true });
    case 'GET /v1/services/:name/inspect':
      return sendJson(res, 200, inspect(url, control, serviceName(segments[2])));
    case 'GET /v1/logs/:name':
      return streamLogs(res, url, control, serviceName(segments[2]), streams);
    case 'GET /v1/logs':
      return streamLogs(res, url, control, undefined, streams);
    case 'GET /v1/events':
      return streamEvents(res, url, control, streams);
    case 'GET /metrics': {
      const text = await control.metrics();
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' });
      res.end(text);
      return;
    }
    default:
      throw new TendError('API_NOT_FOUND', `no route ${method} ${url.pathname}`);
  }
}

// Segments after /v1/services/ and /v1/logs/ are service names, whatever they contain.
function isParam(segments: string[], i: number): boolean {
  return segments[0] === 'v1' && i === 2 && (segments[1] === 'services' || segments[1] === 'logs');
}

function decodeSegment(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    throw new TendError('API_BAD_REQUEST', `malformed percent-encoding in path segment ${JSON.stringify(s)}`);
  }
}

function serviceName(raw: string | undefined): string {
  if (raw === undefined || !NAME.test(raw)) {
    throw new TendError('API_BAD_REQUEST', `expected a service name matching ${NAME.source}, got ${JSON.stringify(raw)}`);
  }
  return raw;
}

// GET /v1/services/:name/inspect?replica=N&reveal=1&env=all (src/api/inspect.ts).
function inspect(url: URL, control: ControlPlane, name: string) {
  if (!control.inspect) throw new TendError('API_NOT_FOUND', 'this daemon cannot inspect services');
  return control.inspect(name, queryInt(url, 'replica'), queryFlag(url, 'reveal', false), url.searchParams.get('env') === 'all');
}

function serviceStatus(control: ControlPlane, name: string) {
  const svc = control.status().services.find((s) => s.name === name);
  if (!svc) throw new TendError('API_NOT_FOUND', `no service "${name}"`);
  return svc;
}

async function replicaAction(
  req: IncomingMessage,
  res: ServerResponse,
  control: ControlPlane,
  name: string,
  action: ReplicaAction,
): Promise<void> {
  const body = (await readJson(req)) as { replica?: unknown; signal?: unknown };
  const replica = body.replica ?? undefined;
  if (replica !== undefined && !(Number.isInteger(replica) && (replica as number) >= 0)) {
    throw new TendError('API_BAD_REQUEST', `expected "replica" to be an integer >= 0, got ${JSON.stringify(replica)}`);
  }
  const index = replica as number | undefined;
  switch (action) {
    case 'restart':
      control.restart(name, index);
      break;
    case 'pause':
      control.pause(name, index);
      break;
    case 'resume':
      control.resume(name, index);
      break;
    case 'kill':
      control.kill(name, index, signalOf(body.signal ?? 'SIGTERM'));
      break;
  }
  sendJson(res, 200, { ok: true, service: name, replica: index ?? null, action });
}

/** A signal name as Node knows it (`SIGHUP`); a number or an unknown name is rejected. */
function signalOf(value: unknown): NodeJS.Signals {
  if (typeof value === 'string' && Object.hasOwn(osConstants.signals, value)) return value as NodeJS.Signals;
  throw new TendError('API_BAD_REQUEST', `expected "signal" to be a signal name such as "SIGHUP", got ${JSON.stringify(value)}`);
}

/** Reads a JSON object body of at most 64 KiB; an empty body is `{}`. */
async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > MAX_BODY) throw tooLarge();
  // Events rather than `for await`: leaving an async iteration early destroys the socket, and the
  // 413 answer with it. Past the limit the rest of the body is read and dropped.
  const text = await new Promise<string>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      if (size > MAX_BODY) return;
      size += chunk.length;
      if (size > MAX_BODY) reject(tooLarge());
      else chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8').trim()));
    req.on('error', reject);
  });
  if (text === '') return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new TendError('API_BAD_REQUEST', `malformed JSON body: ${(err as Error).message}`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new TendError('API_BAD_REQUEST', `expected a JSON object body, got ${JSON.stringify(value).slice(0, 40)}`);
  }
  return value as Record<string, unknown>;
}

function tooLarge(): TendError {
  return new TendError('API_BAD_REQUEST', `request body over ${MAX_BODY} bytes`, { status: 413 });
}

function sendJson(res: ServerResponse, status: number, value: unknown): void {
  const text = JSON.stringify(value);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function sendError(res: ServerResponse, err: unknown): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  // A body over the limit is the one bad request with its own status (413), as in fastify.
  const override = err instanceof TendError ? err.details['status'] : undefined;
  const body = errorBodyOf(err);
  const status = typeof override === 'number' ? override : httpStatusOf(body.error.code);
  sendJson(res, status, body);
}

function queryInt(url: URL, key: string): number | undefined {
  const raw = url.searchParams.get(key);
  if (raw === null || raw === '') return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) {
    throw new TendError('API_BAD_REQUEST', `expected "${key}" to be an integer >= 0, got ${JSON.stringify(raw)}`);
  }
  return n;
}

function queryFlag(url: URL, key: string, fallback: boolean): boolean {
  const raw = url.searchParams.get(key);
  if (raw === null || raw === '') return fallback;
  if (raw === '1' || raw === 'true') return true;
  if (raw === '0' || raw === 'false') return false;
  throw new TendError('API_BAD_REQUEST', `expected "${key}" to be 1 or 0, got ${JSON.stringify(raw)}`);
}

/** Writes and waits for the socket to drain, so a large log cannot pile up in memory. */
function writeAll(res: ServerResponse, text: string): Promise<void> {
  if (res.destroyed || res.writableEnded) return Promise.resolve();
  if (res.write(text)) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}

// GET /v1/logs[/:name]: the replicas' history merged in time order, then with follow=1 new lines
// from all of them as they come (src/api/log-stream.ts). Query: replica, tail, since, until (epoch
// ms), follow, timestamps, format=json.
async function streamLogs(
  res: ServerResponse,
  url: URL,
  control: ControlPlane,
  name: string | undefined,
  streams: Set<() => void>,
): Promise<void> {
  const replica = queryInt(url, 'replica');
  const tail = queryInt(url, 'tail');
  const since = queryInt(url, 'since');
  const until = queryInt(url, 'until');
  const follow = queryFlag(url, 'follow', false);
  const timestamps = queryFlag(url, 'timestamps', false);
  const format = url.searchParams.get('format') ?? 'text';
  if (format !== 'text' && format !== 'json') throw new TendError('API_BAD_REQUEST', `expected "format" to be text or json, got ${JSON.stringify(format)}`);
  if (name === undefined && replica !== undefined) throw new TendError('API_BAD_REQUEST', '"replica" needs a service name');
  const sources = () => {
    if (name !== undefined) return control.logFiles(name, replica);
    return control.status().services.flatMap((s) => {
      try {
        return control.logFiles(s.name);
      } catch {
        return []; // removed between the status and this call
      }
    });
  };
  sources(); // an unknown service or replica is a 404 before the stream starts

  // Registered before the first await: a client that leaves, or a server that closes, while the
  // history is still being read must stop the stream too, or its poll timer would run forever.
  let timer: NodeJS.Timeout | undefined;
  let wake: (() => void) | undefined;
  let stopped = false;
  const stop = () => {
    stopped = true;
    clearTimeout(timer);
    wake?.();
    streams.delete(stop);
    if (!res.writableEnded) res.end();
  };
  streams.add(stop);
  res.on('close', stop);

  res.writeHead(200, { 'content-type': format === 'json' ? 'application/x-ndjson' : 'text/plain; charset=utf-8', 'cache-control': 'no-store' });
  // A follower of empty files must still learn at once that the stream is open.
  res.flushHeaders();
  const tick = () =>
    new Promise<void>((resolve) => {
      wake = resolve;
      timer = setTimeout(resolve, FOLLOW_POLL_MS);
    });
  await streamLogRecords(
    {
      ...(tail === undefined ? {} : { tail }),
      ...(since === undefined ? {} : { since }),
      ...(until === undefined ? {} : { until }),
      follow,
      json: format === 'json',
      timestamps,
      pollMs: FOLLOW_POLL_MS,
      sources: () => {
        try {
          return sources();
        } catch {
          return []; // the service was removed: keep following what we have
        }
      },
      write: (text) => writeAll(res, text),
      stopped: () => stopped,
    },
    tick,
  );
  stop();
}

// GET /v1/events: server-sent events (history, then live), or with follow=0 the history as JSON lines.
function streamEvents(res: ServerResponse, url: URL, control: ControlPlane, streams: Set<() => void>): void {
  const limit = queryInt(url, 'tail') ?? DEFAULT_EVENT_HISTORY;
  const follow = queryFlag(url, 'follow', true);
  const history = control.recentEvents(limit);
  if (!follow) {
    res.writeHead(200, { 'content-type': 'application/x-ndjson' });
    res.end(history.map((e) => JSON.stringify(e) + '\n').join(''));
    return;
  }
  res.writeHead(200, {
    'content-type': 'text/event-stream',
    'cache-control': 'no-store',
    connection: 'keep-alive',
  });
  res.flushHeaders();
  const send = (e: TendEvent) => {
    if (!res.writableEnded) res.write(`event: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`);
  };
  for (const e of history) send(e);
  // recentEvents and subscribe run in the same tick, so no event falls between them.
  const unsubscribe = control.subscribe(send);
  const heartbeat = setInterval(() => res.write(': keep-alive\n\n'), SSE_HEARTBEAT_MS);
  const stop = () => {
    unsubscribe();
    clearInterval(heartbeat);
    streams.delete(stop);
    if (!res.writableEnded) res.end();
  };
  streams.add(stop);
  res.on('close', stop);
}
