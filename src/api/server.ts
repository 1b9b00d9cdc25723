// The control API: HTTP/1.1 with JSON bodies on the daemon's Unix socket (DESIGN §6). The server
// only translates: it validates input, calls the ControlPlane and maps TendError codes to HTTP
// statuses. Bad requests of every kind get a 4xx JSON error; nothing a client sends can crash it.

import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { isAbsolute } from 'node:path';
import { parseSignal } from '../util/signals.js';
import { TendError } from '../errors.js';
import { errorBodyOf, httpStatusOf } from './errors-http.js';
import { listenApiSocket, type ApiSocket } from './listen.js';
import { streamLogRecords } from './log-stream.js';
import { DEFAULT_EVENT_HISTORY } from '../events.js';
import { scaleService } from './scale.js';
import type { ControlPlane, TendEvent } from './types.js';
import { noSuchService } from '../spec/suggest.js';

const MAX_BODY = 64 * 1024;
const NAME = /^[a-z0-9][a-z0-9_-]{0,62}$/;
const FOLLOW_POLL_MS = 100;
const SSE_HEARTBEAT_MS = 15_000;
/** An SSE client this far behind (bytes the daemon holds for it) is disconnected; it resumes by id. */
export const SSE_MAX_BACKLOG_BYTES = 256 * 1024;
type ReplicaAction = 'restart' | 'pause' | 'resume' | 'kill';

export interface ApiServer {
  close(): Promise<void>;
}

export interface ApiLogger {
  warn(obj: object, msg?: string): void;
}

/** Starts the control API on `socketPath` with mode 0600; the caller guarantees no other daemon owns it. */
export async function startApiServer(socket: string | ApiSocket, control: ControlPlane, log: ApiLogger): Promise<ApiServer> {
  const bound = typeof socket === 'string' ? await listenApiSocket(socket) : socket;
  const api = createApiHandler(control, log);
  const server = createServer(api.handle);
  server.on('clientError', (_err, s) => {
    if (s.writable) s.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n');
    else s.destroy();
  });
  // The socket is listened on by bound.server (api/listen.ts), which hands its connections over;
  // 'listening' is what starts the HTTP server's own bookkeeping of them (request and keep-alive
  // timeouts, closeAllConnections): without it a client's idle keep-alive connection held
  // `tend down` for the 4 s until the client closed it.
  server.emit('listening');
  bound.serve((s) => {
    server.emit('connection', s);
    s.resume();
  });

  return {
    close: () =>
      new Promise<void>((resolve) => {
        api.endStreams();
        bound.server.close(() => resolve());
        server.close();
        server.closeAllConnections();
      }),
  };
}

export interface ApiHandler {
  /** Serves one request of the control API (any listener: the Unix socket, the TCP listener). */
  handle(req: IncomingMessage, res: ServerResponse): void;
  /** Ends every open stream (logs -f, events): they never end on their own. */
  endStreams(): void;
}

/** The transport-free router: what every listener serves once it has admitted a request. */
export function createApiHandler(control: ControlPlane, log: ApiLogger): ApiHandler {
  const streams = new Set<() => void>();
  return {
    handle(req, res) {
      handle(req, res, control, log, streams).catch((err: unknown) => {
        // A client's mistake (4xx) is the client's to read, not a line in the daemon's log that any
        // client could flood; a failure of ours (5xx) is logged.
        if (httpStatusOf(errorBodyOf(err).error.code) >= 500) log.warn({ err, method: req.method, url: req.url }, 'control API request failed');
        sendError(res, err);
      });
    },
    endStreams() {
      for (const end of streams) end();
    },
  };
}

async function handle(
  req: IncomingMessage,
  res: ServerResponse,
  control: ControlPlane,
  log: ApiLogger,
  streams: Set<() => void>,
): Promise<void> {
  const url = requestUrl(req.url);
  const segments = url.pathname
    .split('/')
    .filter((s) => s !== '')
    .map(decodeSegment);
  const method = req.method ?? 'GET';
  const route = `${method} /${segments.map((s, i) => (isParam(segments, i) ? ':name' : s)).join('/')}`;

  const run = ROUTES.get(route);
  if (run) return run({ req, res, url, name: segments[2], action: segments[3], control, log, streams });
  // A known path with another method: 405 and the methods it takes (RFC 9110 §15.5.6).
  const path = route.slice(route.indexOf(' ') + 1);
  const allowed = [...ROUTES.keys()].filter((r) => r.slice(r.indexOf(' ') + 1) === path).map((r) => r.slice(0, r.indexOf(' ')));
  if (allowed.length > 0) {
    throw new TendError('API_METHOD_NOT_ALLOWED', `${method} is not allowed on ${url.pathname}; use ${allowed.join(' or ')}`, {
      allow: allowed.join(', '),
    });
  }
  throw new TendError('API_NOT_FOUND', `no route ${method} ${url.pathname}`);
}

interface RouteContext {
  req: IncomingMessage;
  res: ServerResponse;
  url: URL;
  /** The segment after /v1/services/ or /v1/logs/ (percent-decoded): a service name. */
  name: string | undefined;
  /** The segment after it: restart, pause, stop, ... */
  action: string | undefined;
  control: ControlPlane;
  log: ApiLogger;
  streams: Set<() => void>;
}

const replicaRoute = (c: RouteContext) => replicaAction(c.req, c.res, c.control, serviceName(c.name), c.action as ReplicaAction);
const holdRoute = async (c: RouteContext) => {
  await readJson(c.req);
  const name = serviceName(c.name);
  c.control.hold(name, c.action === 'stop');
  sendJson(c.res, 200, { ok: true, service: name, replica: null, action: c.action });
};

/** Every route the API answers, by `METHOD /path` with `:name` for a service; the Allow header of a
 *  405 is read from the same table. */
const ROUTES = new Map<string, (c: RouteContext) => Promise<void> | void>([
  [
    'GET /v1/status',
    async ({ res, control }) => {
      await control.refreshUsage?.();
      sendJson(res, 200, control.status());
    },
  ],
  [
    'GET /v1/services/:name',
    async ({ res, control, name }) => {
      const service = serviceName(name);
      await control.refreshUsage?.();
      sendJson(res, 200, serviceStatus(control, service));
    },
  ],
  ['POST /v1/services/:name/restart', replicaRoute],
  ['POST /v1/services/:name/pause', replicaRoute],
  ['POST /v1/services/:name/resume', replicaRoute],
  ['POST /v1/services/:name/kill', replicaRoute],
  ['POST /v1/services/:name/stop', holdRoute],
  ['POST /v1/services/:name/start', holdRoute],
  ['POST /v1/services/:name/scale', async ({ req, res, control, name }) => sendJson(res, 200, await scaleService(control, serviceName(name), await readJson(req)))],
  ['GET /v1/services/:name/inspect', ({ res, url, control, name }) => sendJson(res, 200, inspect(url, control, serviceName(name)))],
  [
    'POST /v1/plan',
    async ({ req, res, control }) => {
      const body = await readJson(req);
      const { dir, switch: switchTo } = body as { dir?: unknown; switch?: unknown };
      if (typeof dir !== 'string' || !isAbsolute(dir)) {
        throw new TendError('API_BAD_REQUEST', `expected "dir" to be an absolute path, got ${JSON.stringify(dir)}`);
      }
      sendJson(res, 200, await control.plan(dir, { switchTo: switchTo === true }));
    },
  ],
  [
    'POST /v1/reload',
    async ({ req, res, control }) => {
      await readJson(req);
      control.reload();
      sendJson(res, 202, { ok: true });
    },
  ],
  [
    'POST /v1/shutdown',
    async ({ req, res, control, log }) => {
      await readJson(req);
      // Answer first: the daemon stops everything and exits, and the client watches its pid go.
      res.once('finish', () => {
        control.shutdown().catch((err: unknown) => log.warn({ err }, 'shutdown failed'));
      });
      sendJson(res, 202, { ok: true });
    },
  ],
  ['GET /v1/logs/:name', ({ res, url, control, name, streams }) => streamLogs(res, url, control, serviceName(name), streams)],
  ['GET /v1/logs', ({ res, url, control, streams }) => streamLogs(res, url, control, undefined, streams)],
  ['GET /v1/events', ({ req, res, url, control, streams }) => streamEvents(req, res, url, control, streams)],
  [
    'GET /metrics',
    async ({ res, control }) => {
      const text = await control.metrics();
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' });
      res.end(text);
    },
  ],
]);

/** Every route, `METHOD /path` as in ROUTES: docs/cli.md's Control API table is checked against it. */
export const API_ROUTES: readonly string[] = [...ROUTES.keys()];

/** The request target as a URL; only origin-form (`/path?query`) is served. `new URL('//x', base)`
 *  reads `//x` as a host, and `*` or an absolute URL is no path of ours: each is a 400, not a 500. */
function requestUrl(target: string | undefined): URL {
  const raw = target ?? '/';
  if (!raw.startsWith('/')) throw new TendError('API_BAD_REQUEST', `expected a request path starting with "/", got ${JSON.stringify(raw.slice(0, 80))}`);
  try {
    return new URL(`http://tend${raw}`);
  } catch {
    throw new TendError('API_BAD_REQUEST', `malformed request path ${JSON.stringify(raw.slice(0, 80))}`);
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
  const services = control.status().services;
  const svc = services.find((s) => s.name === name);
  if (!svc) throw noSuchService(name, services.map((s) => s.name));
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
  let released = false;
  switch (action) {
    case 'restart':
      released = control.restart(name, index)?.released === true;
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
  sendJson(res, 200, { ok: true, service: name, replica: index ?? null, action, ...(released ? { released: true } : {}) });
}

/** A signal as the CLI and the spec take it: `HUP`, `SIGHUP` or `1` (a number or digits). */
function signalOf(value: unknown): NodeJS.Signals {
  const signal = parseSignal(value);
  if (signal) return signal;
  throw new TendError('API_BAD_REQUEST', `expected "signal" to be a signal such as "SIGHUP", "HUP" or 1, got ${JSON.stringify(value)}`);
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
  return new TendError('API_BODY_TOO_LARGE', `request body over ${MAX_BODY} bytes`);
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
  const body = errorBodyOf(err);
  const allow = err instanceof TendError ? err.details['allow'] : undefined;
  if (typeof allow === 'string') res.setHeader('allow', allow);
  sendJson(res, httpStatusOf(body.error.code), body);
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
  // An unknown service or replica is a 404 before the stream starts. Only here, not on each
  // follow tick (a stat per replica every 100 ms): the history about to be read sees every run.
  control.syncLogIndex(sources().map((s) => s.path));

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
// Every event carries its id (`id:` in SSE); a client resumes after the last one it saw with the
// `Last-Event-ID` header (EventSource does this itself) or `?since=ID`, and gets no gap and no
// duplicate. A client that falls behind by more than SSE_MAX_BACKLOG_BYTES is disconnected: the
// daemon's memory does not grow with a reader that stopped reading, and the client can resume.
async function streamEvents(
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  control: ControlPlane,
  streams: Set<() => void>,
): Promise<void> {
  const since = sinceOf(req, url);
  const tail = queryInt(url, 'tail');
  const follow = queryFlag(url, 'follow', true);
  // Resuming wants everything after the id (the files bound it); a fresh client the last 1000.
  const limit = tail ?? (since === undefined ? DEFAULT_EVENT_HISTORY : Number.POSITIVE_INFINITY);
  if (!follow) {
    const history = await control.recentEvents(limit, since);
    res.writeHead(200, { 'content-type': 'application/x-ndjson' });
    res.end(history.map((e) => JSON.stringify(e) + '\n').join(''));
    return;
  }

  // Subscribe before reading the history, so nothing emitted meanwhile is missed; what is queued
  // here is sent after the history, skipping ids the history already had.
  let queue: TendEvent[] | undefined = [];
  let queued = 0;
  let stopped = false;
  let lastSent = since ?? 0;
  const live = (e: TendEvent) => {
    if (stopped) return;
    if (queue) {
      queue.push(e);
      queued += Buffer.byteLength(frame(e));
      if (queued > SSE_MAX_BACKLOG_BYTES) drop();
      return;
    }
    if (res.writableLength > SSE_MAX_BACKLOG_BYTES) return drop();
    res.write(frame(e));
    if (e.id !== undefined) lastSent = e.id;
  };
  const unsubscribe = control.subscribe(live);
  let heartbeat: NodeJS.Timeout | undefined;
  const stop = () => {
    stopped = true;
    unsubscribe();
    clearInterval(heartbeat);
    streams.delete(stop);
    if (!res.writableEnded) res.end();
  };
  // Too far behind: cut the connection (not a clean end, so the client knows to resume).
  const drop = () => {
    stop();
    res.destroy();
  };
  streams.add(stop);
  res.on('close', stop);

  let history: TendEvent[];
  try {
    history = await control.recentEvents(limit, since);
  } catch (err) {
    stop();
    throw err;
  }
  if (stopped) return;
  res.writeHead(200, {
    'content-type': 'text/event-stream',
    'cache-control': 'no-store',
    connection: 'keep-alive',
  });
  res.flushHeaders();
  // The history is written at the client's pace (a resume may be megabytes).
  for (const e of history) {
    if (stopped) return;
    await writeAll(res, frame(e));
    if (e.id !== undefined) lastSent = Math.max(lastSent, e.id);
  }
  if (stopped) return;
  const pending = queue;
  queue = undefined;
  for (const e of pending) if (e.id === undefined || e.id > lastSent) live(e);
  heartbeat = setInterval(() => {
    if (res.writableLength > SSE_MAX_BACKLOG_BYTES) drop();
    else res.write(': keep-alive\n\n');
  }, SSE_HEARTBEAT_MS);
}

// One event's SSE frame, serialised once however many clients receive it.
const FRAMES = new WeakMap<TendEvent, string>();
function frame(e: TendEvent): string {
  let text = FRAMES.get(e);
  if (text === undefined) {
    text = `${e.id === undefined ? '' : `id: ${e.id}\n`}event: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`;
    FRAMES.set(e, text);
  }
  return text;
}

/** The id to resume after: the `Last-Event-ID` header (SSE reconnects), else `?since=`. */
function sinceOf(req: IncomingMessage, url: URL): number | undefined {
  const header = req.headers['last-event-id'];
  if (typeof header === 'string' && header.trim() !== '') {
    const n = Number(header.trim());
    if (!Number.isSafeInteger(n) || n < 0) {
      throw new TendError('API_BAD_REQUEST', `expected the Last-Event-ID header to be an event id (an integer >= 0), got ${JSON.stringify(header)}`);
    }
    return n;
  }
  return queryInt(url, 'since');
}
