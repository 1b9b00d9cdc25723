// A property-based fuzzer of the control API's router (fast-check): generated requests — methods,
// paths with percent-encoding and dot segments, query strings, headers, JSON and non-JSON bodies —
// sent as raw HTTP/1.1 over a real Unix socket to the real server, with a ControlPlane of canned
// data. Properties: never a 5xx, never a hang, and the server keeps answering.
//
// Used by test/api/fuzz.test.ts (bounded, in `npm test`) and by `npm run fuzz:api` (long run):
//   node --import tsx test/api/api-fuzz.ts [REQUESTS] [SEED]

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import fc from 'fast-check';
import { startApiServer, type ApiServer } from '../../src/api/server.js';
import type { ControlPlane, ServiceStatus, StatusReport } from '../../src/api/types.js';
import { TendError } from '../../src/errors.js';
import { EventLog } from '../../src/events.js';

export interface FuzzRequest {
  method: string;
  target: string;
  headers: [string, string][];
  body: Buffer;
  chunked: boolean;
}

// ---- the generator ------------------------------------------------------------------------

const WORDS = ['v1', 'status', 'services', 'logs', 'events', 'plan', 'reload', 'shutdown', 'metrics', 'restart', 'pause', 'resume', 'kill', 'web', 'db', 'nope', '..', '.', ''];
const ENCODED = ['%2F', '%2E%2E', '%00', '%E0%A4%A', '%', '%zz', '%C3%A9', '%F0%9F%98%80', '%2e', '%5C', '%0A', '%20', '+'];

const segment = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...WORDS) },
  { weight: 2, arbitrary: fc.constantFrom(...ENCODED) },
  { weight: 2, arbitrary: fc.string({ maxLength: 12 }).map((s) => encodeURIComponent(s)) },
  { weight: 1, arbitrary: fc.stringMatching(/^[a-z0-9_-]{1,70}$/) },
  { weight: 1, arbitrary: fc.array(fc.constantFrom(...ENCODED, 'a', 'Z', '-'), { maxLength: 6 }).map((a) => a.join('')) },
);

const queryValue = fc.oneof(
  fc.constantFrom('0', '1', 'true', 'false', '-1', '1.5', '1e300', '9007199254740993', '', 'many', '%', '%00', '0x10', ' 2'),
  fc.nat().map(String),
  fc.string({ maxLength: 8 }).map(encodeURIComponent),
);
const query = fc.array(fc.tuple(fc.constantFrom('tail', 'follow', 'replica', 'since', 'x', 'tail'), queryValue), { maxLength: 4 });

// Real routes with real and unknown names: the generator must get past the router's front door.
const ROUTE_PATHS = ['/v1/status', '/v1/services/NAME', '/v1/services/NAME/restart', '/v1/services/NAME/pause', '/v1/services/NAME/resume', '/v1/services/NAME/kill', '/v1/plan', '/v1/reload', '/v1/shutdown', '/v1/logs/NAME', '/v1/events', '/metrics'];
const realTarget = fc
  .tuple(fc.constantFrom(...ROUTE_PATHS), fc.oneof(fc.constantFrom('web', 'db', 'nope', 'WEB', '-x'), segment), query)
  .map(([path, name, q]) => {
    const p = path.replace('NAME', name);
    return q.length === 0 ? p : `${p}?${q.map(([k, v]) => `${k}=${v}`).join('&')}`;
  });

const target = fc.oneof(
  { weight: 8, arbitrary: realTarget },
  {
    weight: 8,
    arbitrary: fc.tuple(fc.array(segment, { minLength: 0, maxLength: 5 }), query, fc.boolean()).map(([segs, q, slash]) => {
      const path = '/' + segs.join('/') + (slash ? '/' : '');
      return q.length === 0 ? path : `${path}?${q.map(([k, v]) => `${k}=${v}`).join('&')}`;
    }),
  },
  { weight: 1, arbitrary: fc.constantFrom('*', 'http://tend/v1/status', '//v1/status', '/v1/status#frag', '/v1//services/web', '/V1/STATUS') },
  // Raw bytes the HTTP parser must refuse on its own (spaces, controls, non-ASCII).
  { weight: 1, arbitrary: fc.string({ maxLength: 30 }).map((s) => '/' + s.replace(/[\r\n]/g, '')) },
);

const method = fc.oneof(
  { weight: 12, arbitrary: fc.constantFrom('GET', 'POST') },
  { weight: 4, arbitrary: fc.constantFrom('PUT', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS') },
  { weight: 1, arbitrary: fc.stringMatching(/^[A-Z]{1,10}$/) },
);

const jsonBody = fc.oneof(
  fc.record(
    {
      replica: fc.oneof(fc.nat(), fc.integer(), fc.double(), fc.string(), fc.constant(null), fc.constant(1e300)),
      signal: fc.oneof(fc.constantFrom('HUP', 'SIGHUP', 'sigterm', 'KILL', '9', 'SIGNOPE', '', '0'), fc.integer({ min: -5, max: 100 }), fc.string(), fc.jsonValue()),
      dir: fc.oneof(fc.constantFrom('/srv/next', '/', 'relative', '', '/tmp/../etc'), fc.string(), fc.jsonValue()),
      ['__proto__']: fc.jsonValue(),
      constructor: fc.jsonValue(),
    },
    { requiredKeys: [] },
  ),
  fc.jsonValue({ maxDepth: 4 }),
);

const body = fc.oneof(
  { weight: 3, arbitrary: fc.constant(Buffer.alloc(0)) },
  { weight: 5, arbitrary: jsonBody.map((v) => Buffer.from(JSON.stringify(v) ?? 'null')) },
  { weight: 2, arbitrary: fc.string({ maxLength: 200 }).map((s) => Buffer.from(s)) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a)) },
  { weight: 1, arbitrary: fc.constantFrom('{"replica":', '[1]', '{"a":'.repeat(50), '\u0000', '{}'.repeat(10)).map((s) => Buffer.from(s)) },
  // Over the 64 KiB limit (413, not a crash).
  { weight: 1, arbitrary: fc.integer({ min: 64 * 1024 - 4, max: 70 * 1024 }).map((n) => Buffer.alloc(n, 0x20)) },
);

const headerValue = fc.oneof(fc.constantFrom('application/json', 'text/plain', '', 'gzip', 'close', 'keep-alive', '1', '-1', 'abc', '999999999999'), fc.stringMatching(/^[\x20-\x7e]{0,40}$/));
const headers = fc.array(
  fc.tuple(fc.oneof(fc.constantFrom('content-type', 'last-event-id', 'accept', 'connection', 'content-encoding', 'transfer-encoding-x', 'x-tend'), fc.stringMatching(/^[a-z][a-z0-9-]{0,20}$/)), headerValue),
  { maxLength: 5 },
);

export const requestArb: fc.Arbitrary<FuzzRequest> = fc.record({ method, target, headers, body, chunked: fc.boolean() });

// ---- the server under test ----------------------------------------------------------------

function svc(name: string): ServiceStatus {
  return {
    name,
    file: `/specs/${name}.yaml`,
    replicas_desired: 2,
    ready: 2,
    state: 'running',
    waiting_for: null,
    blocked: null,
    restarts: 0,
    cpu: 1,
    memory: 1024,
    started_at: '2024-01-01T00:00:00.000Z',
    hash: 'h1',
    oneshot: false,
    held: false,
    replicas: [0, 1].map((index) => ({
      index,
      state: 'running' as const,
      pid: 1000 + index,
      ready: true,
      restarts: 0,
      started_at: '2024-01-01T00:00:00.000Z',
      exit_code: null,
      signal: null,
      reason: null,
      next_start_at: null,
      cpu: 1,
      memory: 1024,
      hash: 'h1',
      status_text: null,
    })),
  };
}

/** A ControlPlane of canned data that validates as the daemon's does (TendErrors for bad input). */
export function fakeControl(dir: string): ControlPlane & { calls: number } {
  const report: StatusReport = { services: [svc('db'), svc('web')], errors: [], converged: true, source: '/specs', pid: 1 };
  const events = new EventLog({ keep: 50 });
  for (let i = 0; i < 20; i++) (events as unknown as LooseEvents).emit({ type: 'replica.started', service: 'web', replica: i % 2 });
  const logDir = join(dir, 'logs');
  mkdirSync(logDir, { recursive: true });
  for (const s of report.services) for (const r of s.replicas) writeFileSync(join(logDir, `${s.name}-${r.index}.log`), 'a\nb\nc\n');
  const known = (name: string, index?: number) => {
    const s = report.services.find((x) => x.name === name);
    if (!s) throw new TendError('API_NOT_FOUND', `no service "${name}"`);
    if (index !== undefined && !s.replicas.some((r) => r.index === index)) throw new TendError('API_NOT_FOUND', `no replica ${index}`);
    return s;
  };
  const plane = {
    calls: 0,
    status: () => report,
    restart: (n: string, i?: number) => void (known(n, i), plane.calls++),
    pause: (n: string, i?: number) => void (known(n, i), plane.calls++),
    resume: (n: string, i?: number) => void (known(n, i), plane.calls++),
    kill: (n: string, i: number | undefined) => void (known(n, i), plane.calls++),
    hold: (n: string) => void (known(n), plane.calls++),
    plan: async () => ({ changes: [], errors: [] }),
    reload: () => void plane.calls++,
    shutdown: async () => void plane.calls++,
    logFiles: (n: string, i?: number) =>
      known(n, i)
        .replicas.filter((r) => i === undefined || r.index === i)
        .map((r) => ({ service: n, index: r.index, path: join(logDir, `${n}-${r.index}.log`) })),
    syncLogIndex: () => {},
    recentEvents: (limit: number, since?: number) => events.history(limit, since),
    subscribe: (l: Parameters<ControlPlane['subscribe']>[0]) => events.subscribe(l),
    metrics: async () => 'tend_up 1\n',
  };
  return plane;
}

export interface FuzzServer {
  socket: string;
  warnings: unknown[];
  close(): Promise<void>;
}

export async function startFuzzServer(): Promise<FuzzServer> {
  const dir = mkdtempSync(join(tmpdir(), 'tend-fuzz-'));
  const socket = join(dir, 'api.sock');
  const warnings: unknown[] = [];
  const server: ApiServer = await startApiServer(socket, fakeControl(dir), { warn: (obj) => void warnings.push(obj) });
  return {
    socket,
    warnings,
    close: async () => {
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

// ---- one exchange -------------------------------------------------------------------------

export function encode(r: FuzzRequest): Buffer {
  const lines = [`${r.method} ${r.target} HTTP/1.1`, 'host: tend'];
  for (const [k, v] of r.headers) lines.push(`${k}: ${v}`);
  if (r.chunked && r.body.length > 0) {
    lines.push('transfer-encoding: chunked');
    return Buffer.concat([Buffer.from(lines.join('\r\n') + '\r\n\r\n'), Buffer.from(r.body.length.toString(16) + '\r\n'), r.body, Buffer.from('\r\n0\r\n\r\n')]);
  }
  lines.push(`content-length: ${r.body.length}`);
  return Buffer.concat([Buffer.from(lines.join('\r\n') + '\r\n\r\n'), r.body]);
}

/** Sends one request on a fresh connection; resolves with the response's status code (0 when the
 *  server closed without answering, which only a request it could not parse may get). Streams
 *  (SSE, logs) are cut once the status line is in. */
export function exchange(socket: string, r: FuzzRequest, timeoutMs = 5000): Promise<number> {
  return new Promise((resolve, reject) => {
    const conn = connect(socket);
    let got = '';
    const timer = setTimeout(() => {
      conn.destroy();
      reject(new Error(`no answer within ${timeoutMs} ms to ${JSON.stringify(r.method)} ${JSON.stringify(r.target)}`));
    }, timeoutMs);
    const finish = (status: number) => {
      clearTimeout(timer);
      conn.destroy();
      resolve(status);
    };
    conn.on('data', (c: Buffer) => {
      got += c.toString('latin1');
      const m = /^HTTP\/1\.1 (\d{3}) /.exec(got);
      if (m) finish(Number(m[1]));
    });
    conn.on('error', () => finish(0));
    conn.on('close', () => finish(0));
    conn.write(encode(r));
  });
}

export interface FuzzResult {
  requests: number;
  statuses: Record<string, number>;
  seconds: number;
  seed: number;
}

/** Runs `numRuns` generated requests (or until `timeLimitMs`) against a fresh server. Throws with the
 *  shrunk counterexample when a property fails. */
export async function fuzzApi(opts: { numRuns: number; timeLimitMs?: number; seed?: number }): Promise<FuzzResult> {
  const server = await startFuzzServer();
  const statuses: Record<string, number> = {};
  let requests = 0;
  const started = Date.now();
  const seed = opts.seed ?? Date.now() ^ (Math.random() * 0x100000000);
  try {
    await fc.assert(
      fc.asyncProperty(requestArb, async (r) => {
        const status = await exchange(server.socket, r);
        requests++;
        statuses[String(status)] = (statuses[String(status)] ?? 0) + 1;
        if (status >= 500) throw new Error(`HTTP ${status} for ${r.method} ${r.target}`);
        // Every so often, and after anything unusual: the server still answers.
        if (requests % 50 === 0 || status === 0) {
          const check = await exchange(server.socket, { method: 'GET', target: '/v1/status', headers: [], body: Buffer.alloc(0), chunked: false });
          if (check !== 200) throw new Error(`the server stopped answering after ${r.method} ${r.target} (GET /v1/status: ${check})`);
        }
      }),
      { numRuns: opts.numRuns, seed, includeErrorInReport: true, ...(opts.timeLimitMs ? { interruptAfterTimeLimit: opts.timeLimitMs } : {}) },
    );
    if (server.warnings.length > 0) throw new Error(`the server logged ${server.warnings.length} failed requests: ${JSON.stringify(server.warnings[0])}`);
  } finally {
    await server.close();
  }
  return { requests, statuses, seconds: (Date.now() - started) / 1000, seed };
}

// `npm run fuzz:api [-- REQUESTS [SEED]]`
if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const numRuns = Number(process.argv[2] ?? 100_000);
  const seed = process.argv[3] === undefined ? undefined : Number(process.argv[3]);
  fuzzApi({ numRuns, ...(seed === undefined ? {} : { seed }) }).then(
    (r) => {
      process.stdout.write(`api fuzz: ${r.requests} requests in ${r.seconds.toFixed(1)} s (${Math.round(r.requests / r.seconds)}/s), seed ${r.seed}, no 5xx, no hang, no crash\nstatuses: ${JSON.stringify(r.statuses)}\n`);
    },
    (err: unknown) => {
      process.stderr.write(`api fuzz FAILED: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    },
  );
}

/** Tests and benches send hand-written events of any shape. */
type LooseEvents = { emit(e: object): import("../../src/reconcile/events.js").TendEvent };
