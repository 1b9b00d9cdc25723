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
      limiter.failed(client, now);
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
// CLI) send none. Sec-Fetch-Site catches browsers that would leave Origin out.
function sameOrigin(req: IncomingMessage): boolean {
  if (req.headers['sec-fetch-site'] === 'cross-site' || req.headers['sec-fetch-site'] === 'same-site') return false;
  const origin = req.headers.origin;
  if (origin === undefined) return true;
  return origin === `http://${req.headers.host ?? ''}`;
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
    log.error({ err }, `cannot listen on ${opts.address}: ${(err as Error).message}`);
    return undefined;
  }
}
