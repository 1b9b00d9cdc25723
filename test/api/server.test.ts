// The control API against a real Unix socket in a temp dir, with a ControlPlane of canned data
// (a test double of our own interface, not of the OS): routes, errors, streams, socket mode.

import assert from 'node:assert/strict';
import { appendFileSync, mkdirSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { ApiClient } from '../../src/api/client.js';
import { TendMetrics } from '../../src/api/metrics.js';
import { startApiServer } from '../../src/api/server.js';
import type { ControlPlane, ReplicaStatus, ServiceStatus, StatusReport, TendEvent } from '../../src/api/types.js';
import { TendError } from '../../src/errors.js';
import { cleanup, tempDir, waitFor } from '../helpers/index.js';

function replica(index: number, over: Partial<ReplicaStatus> = {}): ReplicaStatus {
  return {
    index,
    state: 'running',
    pid: 1000 + index,
    ready: true,
    restarts: 0,
    started_at: '2024-01-01T00:00:00.000Z',
    exit_code: null,
    signal: null,
    reason: null,
    next_start_at: null,
    cpu: 1.5,
    memory: 1024,
    hash: 'h1',
    status_text: null,
    ...over,
  };
}

function svc(name: string, replicas: ReplicaStatus[], over: Partial<ServiceStatus> = {}): ServiceStatus {
  return {
    name,
    file: `/specs/${name}.yaml`,
    replicas_desired: replicas.length,
    ready: replicas.filter((r) => r.ready).length,
    held: false,
    state: 'running',
    waiting_for: null,
    blocked: null,
    restarts: 0,
    cpu: 3,
    memory: 2048,
    started_at: '2024-01-01T00:00:00.000Z',
    hash: 'h1',
    oneshot: false,
    replicas,
    ...over,
  };
}

interface Fake extends ControlPlane {
  calls: string[];
  emit(e: TendEvent): void;
  logDir: string;
  metricsImpl: TendMetrics;
}

function fakeControl(dir: string): Fake {
  const report: StatusReport = {
    services: [svc('db', [replica(0)]), svc('web', [replica(0), replica(1, { state: 'backoff', ready: false, restarts: 3 })], { state: 'backoff', restarts: 3 })],
    errors: [{ file: '/specs/bad.yaml', line: 2, column: 3, message: 'unknown key "comand"' }],
    converged: false,
    source: '/specs',
    pid: 42,
  };
  const history: TendEvent[] = [
    { ts: '2024-01-01T00:00:00.000Z', type: 'spec.loaded' },
    { ts: '2024-01-01T00:00:01.000Z', type: 'replica.ready', service: 'web', replica: 0, pid: 1000 },
  ];
  const listeners = new Set<(e: TendEvent) => void>();
  const calls: string[] = [];
  const logDir = join(dir, 'logs');
  const metricsImpl = new TendMetrics();
  const known = (name: string) => {
    const s = report.services.find((x) => x.name === name);
    if (!s) throw new TendError('API_NOT_FOUND', `no service "${name}"`);
    return s;
  };
  const record = (what: string) => (name: string, index?: number) => {
    known(name);
    calls.push(`${what} ${name}${index === undefined ? '' : `/${index}`}`);
  };
  return {
    calls,
    logDir,
    metricsImpl,
    emit: (e) => {
      history.push(e);
      for (const l of listeners) l(e);
    },
    status: () => report,
    restart: record('restart'),
    pause: record('pause'),
    resume: record('resume'),
    kill: (name, index, signal) => record(`kill ${signal}`)(name, index),
    hold: (name, on) => record(on ? 'stop' : 'start')(name),
    plan: async (d) => ({ changes: [{ op: '+', service: 'x', index: 0, text: `+ x/0 start (${d})` }], errors: [] }),
    reload: () => void calls.push('reload'),
    shutdown: async () => void calls.push('shutdown'),
    logFiles: (name, index) =>
      known(name)
        .replicas.filter((r) => index === undefined || r.index === index)
        .map((r) => ({ service: name, index: r.index, path: join(logDir, name, `${r.index}.log`) })),
    syncLogIndex: () => {},
    recentEvents: (limit) => history.slice(-limit),
    subscribe: (l) => {
      listeners.add(l);
      return () => listeners.delete(l);
    },
    metrics: () => metricsImpl.render(report),
  };
}

async function serve(t: TestContext) {
  const dir = tempDir(t);
  const socket = join(dir, 's.sock');
  const control = fakeControl(dir);
  const warnings: object[] = [];
  const server = await startApiServer(socket, control, { warn: (obj) => void warnings.push(obj) });
  cleanup(t, () => server.close());
  return { dir, socket, control, server, warnings };
}

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

function call(socket: string, method: string, path: string, body?: string | Buffer): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath: socket, method, path }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

function errorOf(r: Reply): { code: string; message: string } {
  return (JSON.parse(r.text) as { error: { code: string; message: string } }).error;
}

test('the socket is created with mode 0600, replacing a stale file', async (t) => {
  const dir = tempDir(t);
  const socket = join(dir, 's.sock');
  writeFileSync(socket, 'left over by a crashed daemon');
  const server = await startApiServer(socket, fakeControl(dir), { warn: () => {} });
  cleanup(t, () => server.close());
  const st = statSync(socket);
  assert.ok(st.isSocket());
  assert.equal(st.mode & 0o777, 0o600);
  assert.equal((await call(socket, 'GET', '/v1/status')).status, 200);
});

test('GET /v1/status and /v1/services/:name answer with the report', async (t) => {
  const { socket } = await serve(t);
  const status = await call(socket, 'GET', '/v1/status');
  assert.equal(status.status, 200);
  assert.equal(status.headers['content-type'], 'application/json');
  const report = JSON.parse(status.text) as StatusReport;
  assert.deepEqual(report.services.map((s) => s.name), ['db', 'web']);
  const web = JSON.parse((await call(socket, 'GET', '/v1/services/web')).text) as ServiceStatus;
  assert.equal(web.replicas[1]?.state, 'backoff');
  const missing = await call(socket, 'GET', '/v1/services/nope');
  assert.equal(missing.status, 404);
  assert.deepEqual(errorOf(missing), { code: 'API_NOT_FOUND', message: 'no service named "nope"' });
  const typo = await call(socket, 'GET', '/v1/services/wbe');
  assert.deepEqual(errorOf(typo), { code: 'API_NOT_FOUND', message: 'no service named "wbe", did you mean "web"?' });
});

test('replica actions reach the control plane with replica and signal', async (t) => {
  const { socket, control } = await serve(t);
  assert.equal((await call(socket, 'POST', '/v1/services/web/restart', '{"replica":1}')).status, 200);
  assert.equal((await call(socket, 'POST', '/v1/services/web/pause')).status, 200);
  assert.equal((await call(socket, 'POST', '/v1/services/web/resume', '{}')).status, 200);
  const kill = await call(socket, 'POST', '/v1/services/db/kill', '{"signal":"SIGHUP","replica":0}');
  assert.deepEqual(JSON.parse(kill.text), { ok: true, service: 'db', replica: 0, action: 'kill' });
  assert.equal((await call(socket, 'POST', '/v1/services/db/kill')).status, 200);
  assert.equal((await call(socket, 'POST', '/v1/reload')).status, 202);
  assert.deepEqual(control.calls, ['restart web/1', 'pause web', 'resume web', 'kill SIGHUP db/0', 'kill SIGTERM db', 'reload']);
});

test('signals as the CLI and the spec take them: HUP, SIGHUP, hup, 1 and "1"', async (t) => {
  const { socket, control } = await serve(t);
  for (const signal of ['"HUP"', '"SIGHUP"', '"hup"', '1', '"1"', '"KILL"', '9']) {
    const r = await call(socket, 'POST', '/v1/services/db/kill', `{"signal":${signal}}`);
    assert.equal(r.status, 200, `${signal}: ${r.text}`);
  }
  assert.deepEqual(control.calls, ['kill SIGHUP db', 'kill SIGHUP db', 'kill SIGHUP db', 'kill SIGHUP db', 'kill SIGHUP db', 'kill SIGKILL db', 'kill SIGKILL db']);
});

test('a wrong method on a known route is 405 with an Allow header', async (t) => {
  const { socket } = await serve(t);
  for (const [method, path, allow] of [
    ['GET', '/v1/reload', 'POST'],
    ['DELETE', '/v1/status', 'GET'],
    ['POST', '/v1/services/web', 'GET'],
    ['PUT', '/v1/services/web/restart', 'POST'],
    ['POST', '/v1/events', 'GET'],
    ['GET', '/v1/services/web/scale', 'POST'],
    ['GET', '/v1/services/web/stop', 'POST'],
    ['GET', '/v1/services/web/start', 'POST'],
    ['POST', '/v1/services/web/inspect', 'GET'],
    ['POST', '/v1/logs', 'GET'],
    ['DELETE', '/v1/logs/web', 'GET'],
  ] as const) {
    const r = await call(socket, method, path);
    assert.equal(r.status, 405, `${method} ${path}`);
    assert.equal(r.headers['allow'], allow, `${method} ${path}`);
    assert.equal(errorOf(r).code, 'API_METHOD_NOT_ALLOWED');
  }
});

test('POST /v1/plan passes the directory and returns the report', async (t) => {
  const { socket } = await serve(t);
  const r = await call(socket, 'POST', '/v1/plan', JSON.stringify({ dir: '/srv/next' }));
  assert.equal(r.status, 200);
  assert.deepEqual(JSON.parse(r.text), { changes: [{ op: '+', service: 'x', index: 0, text: '+ x/0 start (/srv/next)' }], errors: [] });
});

test('bad requests get a 4xx JSON error and the server keeps serving', async (t) => {
  const { socket, control } = await serve(t);
  const bad: [string, string, string | Buffer | undefined, number, string, RegExp][] = [
    ['POST', '/v1/services/web/restart', '{"replica":', 400, 'API_BAD_REQUEST', /malformed JSON body/],
    ['POST', '/v1/services/web/restart', '[1]', 400, 'API_BAD_REQUEST', /expected a JSON object body/],
    ['POST', '/v1/services/web/restart', '{"replica":-1}', 400, 'API_BAD_REQUEST', /"replica" to be an integer >= 0, got -1/],
    ['POST', '/v1/services/web/kill', '{"signal":"SIGNOPE"}', 400, 'API_BAD_REQUEST', /signal such as "SIGHUP", "HUP" or 1, got "SIGNOPE"/],
    ['POST', '/v1/services/web/kill', '{"signal":999}', 400, 'API_BAD_REQUEST', /got 999/],
    ['POST', '/v1/services/web/kill', '{"signal":1.5}', 400, 'API_BAD_REQUEST', /got 1.5/],
    ['POST', '/v1/services/web/kill', '{"signal":["HUP"]}', 400, 'API_BAD_REQUEST', /got \["HUP"\]/],
    ['POST', '/v1/services/nope/restart', undefined, 404, 'API_NOT_FOUND', /no service "nope"/],
    ['GET', '/v1/services/..%2F..%2Fetc', undefined, 400, 'API_BAD_REQUEST', /service name/],
    ['GET', '/v1/logs/..%2Fweb', undefined, 400, 'API_BAD_REQUEST', /service name/],
    ['GET', '/v1/services/%E0%A4%A', undefined, 400, 'API_BAD_REQUEST', /percent-encoding/],
    ['GET', '/v1/services/web/../../etc/passwd', undefined, 404, 'API_NOT_FOUND', /no route/],
    ['GET', '/v1/nothing', undefined, 404, 'API_NOT_FOUND', /no route GET \/v1\/nothing/],
    ['GET', '/v1/shutdown', undefined, 405, 'API_METHOD_NOT_ALLOWED', /GET is not allowed on \/v1\/shutdown; use POST/],
    ['DELETE', '/v1/nothing', undefined, 404, 'API_NOT_FOUND', /no route DELETE/],
    // Found by the fuzzer: `new URL('//', base)` threw, a 500.
    ['GET', '//', undefined, 404, 'API_NOT_FOUND', /no route GET \/\//],
    ['OPTIONS', '*', undefined, 400, 'API_BAD_REQUEST', /starting with "\/", got "\*"/],
    ['POST', '/v1/plan', '{"dir":"relative/dir"}', 400, 'API_BAD_REQUEST', /absolute path/],
    ['POST', '/v1/plan', Buffer.alloc(65 * 1024, 0x20), 413, 'API_BODY_TOO_LARGE', /over 65536 bytes/],
    ['GET', '/v1/logs/web?tail=many', undefined, 400, 'API_BAD_REQUEST', /"tail" to be an integer/],
    ['GET', '/v1/logs/web?follow=maybe', undefined, 400, 'API_BAD_REQUEST', /"follow" to be 1 or 0/],
  ];
  for (const [method, path, body, status, code, message] of bad) {
    const r = await call(socket, method, path, body);
    assert.equal(r.status, status, `${method} ${path}: ${r.text}`);
    const err = errorOf(r);
    assert.equal(err.code, code, `${method} ${path}`);
    assert.match(err.message, message, `${method} ${path}`);
  }
  assert.deepEqual(control.calls, []);
  assert.equal((await call(socket, 'GET', '/v1/status')).status, 200);
});

test('a control plane that throws something other than a TendError is a 500, logged', async (t) => {
  const { socket, control, warnings } = await serve(t);
  control.reload = () => {
    throw new Error('boom');
  };
  const r = await call(socket, 'POST', '/v1/reload');
  assert.equal(r.status, 500);
  assert.deepEqual(errorOf(r), { code: 'INTERNAL', message: 'boom' });
  assert.equal(warnings.length, 1);
});

test('POST /v1/shutdown answers 202, then shuts down', async (t) => {
  const { socket, control } = await serve(t);
  const r = await call(socket, 'POST', '/v1/shutdown');
  assert.equal(r.status, 202);
  await waitFor(() => control.calls.includes('shutdown'), { what: 'control.shutdown()' });
});

function writeLog(control: Fake, name: string, index: number, text: string): string {
  const path = join(control.logDir, name, `${index}.log`);
  mkdirSync(join(control.logDir, name), { recursive: true });
  appendFileSync(path, text);
  return path;
}

test('GET /v1/logs: the last N lines of each replica, prefixed', async (t) => {
  const { socket, control } = await serve(t);
  writeLog(control, 'web', 0, 'a0\nb0\nc0\n');
  writeLog(control, 'web', 1, 'a1\nb1\nunfinished');
  const tail = await call(socket, 'GET', '/v1/logs/web?tail=2');
  assert.equal(tail.status, 200);
  assert.equal(tail.text, 'web/0 | b0\nweb/0 | c0\nweb/1 | b1\nweb/1 | unfinished\n');
  const all = await call(socket, 'GET', '/v1/logs/web?replica=0');
  assert.equal(all.text, 'web/0 | a0\nweb/0 | b0\nweb/0 | c0\n');
  const missing = await call(socket, 'GET', '/v1/logs/db');
  assert.equal(missing.text, '', 'a replica that has not written yet has no lines');
});

test('GET /v1/logs?follow=1 streams new lines and keeps following across copy-truncate', async (t) => {
  const { socket, control } = await serve(t);
  const path = writeLog(control, 'web', 0, 'old\n');
  const client = new ApiClient(socket);
  const res = await client.logs('web', { replica: 0, tail: 1, follow: true });
  let text = '';
  res.on('data', (c: Buffer) => (text += c.toString()));
  cleanup(t, () => res.destroy());
  await waitFor(() => text === 'web/0 | old\n', { what: 'the tail' });
  appendFileSync(path, 'new 1\nnew');
  appendFileSync(path, ' 2\n');
  await waitFor(() => text.endsWith('web/0 | new 1\nweb/0 | new 2\n'), { what: 'appended lines' });
  // Rotation copies the file away and truncates it; the child keeps appending at offset 0.
  truncateSync(path, 0);
  await waitFor(async () => (await statSync(path)).size === 0);
  appendFileSync(path, 'after rotation\n');
  await waitFor(() => text.endsWith('web/0 | after rotation\n'), { what: 'the line written after truncation' });
  assert.equal(text, 'web/0 | old\nweb/0 | new 1\nweb/0 | new 2\nweb/0 | after rotation\n');
});

test('GET /v1/events: history then live events over SSE; follow=0 gives JSON lines', async (t) => {
  const { socket, control } = await serve(t);
  const history = await call(socket, 'GET', '/v1/events?follow=0&tail=1');
  assert.equal(history.headers['content-type'], 'application/x-ndjson');
  assert.deepEqual(history.text.trim().split('\n').map((l) => JSON.parse(l).type), ['replica.ready']);

  const ac = new AbortController();
  cleanup(t, () => ac.abort());
  const seen: TendEvent[] = [];
  const reading = (async () => {
    for await (const e of new ApiClient(socket).events({ signal: ac.signal })) {
      seen.push(e);
      if (e.type === 'replica.exited') return;
    }
  })();
  await waitFor(() => seen.length === 2, { what: 'the history' });
  control.emit({ ts: '2024-01-01T00:00:02.000Z', type: 'replica.exited', service: 'web', replica: 1, exit_code: 1, signal: null });
  await reading;
  assert.deepEqual(seen.map((e) => e.type), ['spec.loaded', 'replica.ready', 'replica.exited']);
  assert.equal(seen[2]?.exit_code, 1);
});

test('close() ends open log and event streams', async (t) => {
  const dir = tempDir(t);
  const socket = join(dir, 's.sock');
  const control = fakeControl(dir);
  const server = await startApiServer(socket, control, { warn: () => {} });
  const client = new ApiClient(socket);
  const logs = await client.logs('web', { follow: true });
  const events = client.events();
  const first = await events.next();
  assert.equal(first.value?.type, 'spec.loaded');
  const ended = new Promise<void>((r) => logs.on('close', () => r()));
  logs.resume();
  await server.close();
  await ended;
  const drained: string[] = [];
  for await (const e of events) drained.push(e.type);
  assert.deepEqual(drained, ['replica.ready']);
});

test('GET /metrics is Prometheus text with tend_ metrics set from the status', async (t) => {
  const { socket, control } = await serve(t);
  control.metricsImpl.observePass(0.003);
  control.metricsImpl.probeFailure('web', 'readiness');
  control.metricsImpl.probeFailure('web', 'readiness');
  const r = await call(socket, 'GET', '/metrics');
  assert.equal(r.status, 200);
  assert.match(String(r.headers['content-type']), /^text\/plain; version=0\.0\.4/);
  const lines = r.text.split('\n').filter((l) => l !== '');
  // Values as Prometheus's parser (Go's ParseFloat) reads them: NaN and Inf in any case.
  const sample = /^[a-zA-Z_:][a-zA-Z0-9_:]*(\{[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*"(,[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*")*\})? -?(\d+(\.\d+)?(e[+-]?\d+)?|[+-]?inf|nan)$/i;
  for (const l of lines) {
    if (l.startsWith('#')) assert.match(l, /^# (HELP|TYPE) [a-zA-Z_:][a-zA-Z0-9_:]* .+$/, l);
    else assert.match(l, sample, l);
  }
  for (const [name, type] of [
    ['tend_replicas', 'gauge'],
    ['tend_service_ready_replicas', 'gauge'],
    ['tend_service_desired_replicas', 'gauge'],
    ['tend_service_restarts_total', 'counter'],
    ['tend_service_cpu_seconds_total', 'counter'],
    ['tend_service_cpu_percent', 'gauge'],
    ['tend_service_memory_bytes', 'gauge'],
    ['tend_spec_errors', 'gauge'],
    ['tend_reconcile_pass_duration_seconds', 'histogram'],
    ['tend_probe_failures_total', 'counter'],
  ]) {
    assert.ok(lines.includes(`# TYPE ${name} ${type}`), `# TYPE ${name} ${type}`);
  }
  for (const l of [
    'tend_replicas{service="web",state="backoff"} 1',
    'tend_replicas{service="web",state="running"} 1',
    'tend_service_ready_replicas{service="web"} 1',
    'tend_service_desired_replicas{service="web"} 2',
    'tend_service_restarts_total{service="web"} 0',
    'tend_service_memory_bytes{service="db"} 2048',
    'tend_spec_errors 1',
    'tend_converged 0',
    'tend_reconcile_pass_duration_seconds_count 1',
    'tend_reconcile_pass_duration_seconds_bucket{le="0.005"} 1',
    'tend_probe_failures_total{service="web",probe="readiness"} 2',
  ]) {
    assert.ok(lines.includes(l), l);
  }
});

test('the client turns error bodies into TendErrors and a missing socket into DAEMON_UNREACHABLE', async (t) => {
  const { socket, dir } = await serve(t);
  const client = new ApiClient(socket);
  assert.equal((await client.status()).pid, 42);
  assert.equal((await client.plan('/x')).changes.length, 1);
  await assert.rejects(client.service('nope'), (err: unknown) => err instanceof TendError && err.code === 'API_NOT_FOUND');
  await assert.rejects(
    client.act('kill', 'web', { signal: 'SIGNOPE' }),
    (err: unknown) => err instanceof TendError && err.code === 'API_BAD_REQUEST',
  );
  const gone = new ApiClient(join(dir, 'missing.sock'));
  await assert.rejects(gone.status(), (err: unknown) => {
    assert.ok(err instanceof TendError);
    assert.equal(err.code, 'DAEMON_UNREACHABLE');
    assert.match(err.message, /^no tend daemon on .*missing\.sock — start one with `tend up -d`$/);
    return true;
  });
});
