// The control API over TCP, and the dashboard page (DESIGN §11). Off unless `tend up --http ADDR`.
// Whoever reaches the port is a stranger until proven otherwise, so in front of the shared router:
//   1. the page's static files (no data in them) are served to anyone, with a strict CSP;
//   2. a client that failed too often recently gets 429 before its token is even looked at;
//   3. every other request needs `Authorization: Bearer <token>` (the token file in the state dir);
//   4. a state-changing request from a browser must come from this origin (`Origin`), so another
//      site open in the same browser cannot drive the API even if it learned the token;
// then the request goes to the same handler as the Unix socket. The address must be loopback unless
// the user asked for a remote one (`--http-allow-remote`). Threat model: docs/dashboard.md.

import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { TendError } from '../errors.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import { isLoopbackHost, parseHttpAddress } from './http-address.js';
import { ensureToken, HTTP_INFO_NAME, tokenMatches, type HttpInfo } from './http-token.js';
import { FailureLimiter, type RateLimitOptions } from './rate-limit.js';
import { createApiHandler, type ApiLogger } from './server.js';
import type { ControlPlane } from './types.js';
import { findWebDir, loadAssets } from './web-assets.js';

export interface HttpListenOptions {
  /** `127.0.0.1:7070`, `[::1]:7070`, `localhost:7070`; port 0 picks a free port. */
  address: string;
  /** Bind a non-loopback address (the user asked for it explicitly). */
  allowRemote?: boolean;
  stateDir: string;
  rateLimit?: RateLimitOptions;
}

export interface TcpListener {
  /** `http://127.0.0.1:7070/` as bound (the real port when 0 was asked for). */
  url: string;
  close(): Promise<void>;
}

// The page loads only its own files; nothing may frame it (clickjacking) or learn where it came from.
const PAGE_HEADERS = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cache-control': 'no-cache',
};

/** Starts the listener; throws API_BAD_REQUEST for a non-loopback address without allowRemote. */
export async function startTcpListener(opts: HttpListenOptions, control: ControlPlane, log: ApiLogger): Promise<TcpListener> {
  const { host, port } = parseHttpAddress(opts.address);
  if (!isLoopbackHost(host) && !opts.allowRemote) {
    throw new TendError(
      'API_BAD_REQUEST',
      `--http ${opts.address} is not a loopback address: anyone who can reach it could try the token; pass --http-allow-remote to bind it anyway`,
    );
  }
  const token = ensureToken(opts.stateDir);
  const limiter = new FailureLimiter(opts.rateLimit);
  const assets = loadAssets(findWebDir());
  const api = createApiHandler(control, log);

  const server = createServer((req, res) => {
    try {
      admit(req, res);
    } catch (err) {
      log.warn({ err, method: req.method, url: req.url }, 'HTTP listener request failed');
      if (!res.headersSent) reply(res, 500, 'INTERNAL', 'internal error');
    }
  });
  server.on('clientError', (_err, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n');
    else socket.destroy();
  });

  const admit = (req: IncomingMessage, res: ServerResponse) => {
    const method = req.method ?? 'GET';
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const asset = assets.get(path);
    if ((method === 'GET' || method === 'HEAD') && asset) {
      res.writeHead(200, { 'content-type': asset.type, 'content-length': asset.body.length, ...PAGE_HEADERS });
      res.end(method === 'HEAD' ? undefined : asset.body);
      return;
    }
    if ((method === 'GET' || method === 'HEAD') && path === '/') {
      reply(res, 503, 'INTERNAL', 'the dashboard was not built (npm run build makes dist/web); the API under /v1 works');
      return;
    }
    const client = req.socket.remoteAddress ?? '?';
    const now = Date.now();
    const wait = limiter.retryAfter(client, now);
    if (wait > 0) {
      res.setHeader('retry-after', String(wait));
      reply(res, 429, 'API_RATE_LIMITED', `too many failed attempts; try again in ${wait} s`);
      return;
    }
    const given = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '')?.[1];
    if (given === undefined || !tokenMatches(given, token)) {
      // Only a wrong token is a guess. Any web page can make the browser send requests here, with
      // no Authorization header (it cannot add one across origins without CORS approval); counted,
      // they kept the real user at 429 for as long as that page stayed open.
      if (req.headers.authorization !== undefined) limiter.failed(client, now);
      res.setHeader('www-authenticate', 'Bearer realm="tend"');
      const why = given === undefined ? 'this listener needs a bearer token' : 'wrong token';
      reply(res, 401, 'API_UNAUTHORIZED', `${why}: \`tend dashboard\` prints a URL that carries it`);
      return;
    }
    if (method !== 'GET' && method !== 'HEAD' && !sameOrigin(req)) {
      reply(res, 403, 'API_FORBIDDEN', `cross-origin ${method} refused (Origin ${req.headers.origin ?? '?'})`);
      return;
    }
    api.handle(req, res);
  };

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const bound = server.address() as AddressInfo;
  const url = `http://${bound.family === 'IPv6' ? `[${bound.address}]` : bound.address}:${bound.port}/`;
  const infoPath = join(opts.stateDir, HTTP_INFO_NAME);
  const info: HttpInfo = { url, pid: process.pid };
  writeFileAtomic(infoPath, JSON.stringify(info) + '\n', 0o600);

  return {
    url,
    close: () =>
      new Promise<void>((resolve) => {
        rmSync(infoPath, { force: true });
        api.endStreams();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

// A browser sends Origin on every cross-origin request and on same-origin POSTs; tools (curl, the
// CLI) send none. Sec-Fetch-Site, which no page can set, is the browser's own verdict: behind a TLS
// reverse proxy (docs/dashboard.md) the page's origin is https://, and the Host that reaches us may
// be the proxy's upstream address (nginx's default), so only the host of an Origin is compared, and
// only when the browser gave no verdict.
function sameOrigin(req: IncomingMessage): boolean {
  const site = req.headers['sec-fetch-site'];
  if (site === 'same-origin') return true;
  if (site === 'cross-site' || site === 'same-site') return false;
  const origin = req.headers.origin;
  if (origin === undefined) return true;
  const host = /^https?:\/\/([^/]+)$/.exec(origin)?.[1];
  return host !== undefined && host === req.headers.host;
}

function reply(res: ServerResponse, status: number, code: string, message: string): void {
  const text = JSON.stringify({ error: { code, message } });
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
  res.end(text);
}

/** For the daemon: starts the listener, or logs why it could not (a port in use) and goes on with
 *  the Unix socket alone — the services are already running and must not pay for it. */
export async function startTcpListenerOrLog(
  opts: HttpListenOptions,
  control: ControlPlane,
  log: ApiLogger & { info(msg: string): void; error(obj: object, msg?: string): void },
): Promise<TcpListener | undefined> {
  try {
    const listener = await startTcpListener(opts, control, log);
    log.info(`dashboard and control API on ${listener.url} (\`tend dashboard\` prints the URL with its token)`);
    return listener;
  } catch (err) {
    const error = (err as Error).message;
    log.error({ err }, `cannot listen on ${opts.address}: ${error}`);
    // For `tend up -d --http` and `tend dashboard`, which would otherwise not know why there is none.
    const info: HttpInfo = { pid: process.pid, address: opts.address, error };
    try {
      writeFileAtomic(join(opts.stateDir, HTTP_INFO_NAME), JSON.stringify(info) + '\n', 0o600);
    } catch {
      /* the log says it */
    }
    return undefined;
  }
}
