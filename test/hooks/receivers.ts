// Webhook receivers for the hook tests: real HTTP servers on 127.0.0.1 (port 0), each recording
// what it received, over HTTPS when given a key and certificate. Closed (with every open
// connection) after the test.

import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { TestContext } from 'node:test';
import { cleanup } from '../helpers/index.js';

export interface Received {
  headers: IncomingMessage['headers'];
  body: unknown;
}

export interface Receiver {
  url: string;
  received: Received[];
  /** Requests that arrived (answered or not). */
  arrivals: number;
}

type Answer = (req: Received, n: number, res: ServerResponse) => void;

/** A receiver that answers each request with `answer` (n counts from 1). */
export async function startReceiver(t: TestContext, answer: Answer, tls?: { key: string; cert: string }): Promise<Receiver> {
  const r: Receiver = { url: '', received: [], arrivals: 0 };
  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      r.arrivals++;
      let body: unknown;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch {
        body = Buffer.concat(chunks).toString('utf8');
      }
      const got = { headers: req.headers, body };
      r.received.push(got);
      answer(got, r.arrivals, res);
    });
  };
  const server = tls ? createTlsServer(tls, handle) : createServer(handle);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  r.url = `${tls ? 'https' : 'http'}://127.0.0.1:${(server.address() as { port: number }).port}/hook`;
  cleanup(t, () => {
    server.closeAllConnections();
    server.close();
  });
  return r;
}

export const ok: Answer = (_req, _n, res) => res.end('ok');
/** 500 for the first `failures` requests, then 200. */
export const failThenOk =
  (failures: number): Answer =>
  (_req, n, res) => {
    res.statusCode = n <= failures ? 500 : 200;
    res.end(n <= failures ? 'try again' : 'ok');
  };
/** Never answers (the connection stays open until the client gives up). */
export const never: Answer = () => undefined;
