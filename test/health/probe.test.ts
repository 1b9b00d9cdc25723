// runProbe against real servers, real sockets and real processes on 127.0.0.1.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { runProbe } from '../../src/health/probe.js';
import { NODE, fixture, isAlive, tempDir, waitFor } from '../helpers/index.js';
import { closedPort, startFlipServer, startTcpServer } from './servers.js';

const ctx = { cwd: process.cwd(), env: {} };

test('http: 200 is healthy', async (t) => {
  const server = await startFlipServer(t, true);
  const r = await runProbe({ kind: 'http', url: `${server.base}/healthz` }, 1000, ctx);
  assert.deepEqual([r.ok, r.output], [true, `${server.base}/healthz answered 200`]);
});

test('http: 500 is unhealthy and says so with the url', async (t) => {
  const server = await startFlipServer(t, false);
  const r = await runProbe({ kind: 'http', url: `${server.base}/healthz` }, 1000, ctx);
  assert.deepEqual([r.ok, r.output], [false, `${server.base}/healthz answered 500`]);
});

test('http: 302 is healthy and not followed', async (t) => {
  const server = await startFlipServer(t, true);
  // Followed, the redirect would land on /elsewhere, which answers 500.
  const r = await runProbe({ kind: 'http', url: `${server.base}/redirect` }, 1000, ctx);
  assert.deepEqual([r.ok, r.output], [true, `${server.base}/redirect answered 302`]);
});

test('http: a refused connection is unhealthy', async () => {
  const port = await closedPort();
  const r = await runProbe({ kind: 'http', url: `http://127.0.0.1:${port}/healthz` }, 1000, ctx);
  assert.deepEqual([r.ok, r.output], [false, `http://127.0.0.1:${port}/healthz: connect ECONNREFUSED 127.0.0.1:${port}`]);
});

test('http: a server that never answers times out', { timeout: 10_000 }, async (t) => {
  const server = await startFlipServer(t, true);
  const r = await runProbe({ kind: 'http', url: `${server.base}/hang` }, 200, ctx);
  assert.deepEqual([r.ok, r.output], [false, `${server.base}/hang: timed out after 200 ms`]);
});

test('http: a bad url is an outcome, not an exception', async () => {
  const r = await runProbe({ kind: 'http', url: 'ftp://127.0.0.1/' }, 200, ctx);
  assert.deepEqual([r.ok, r.output], [false, 'ftp://127.0.0.1/: unsupported protocol ftp:']);
});

test('tcp: an open port is healthy', async (t) => {
  const port = await startTcpServer(t);
  const r = await runProbe({ kind: 'tcp', host: '127.0.0.1', port: String(port) }, 1000, ctx);
  assert.deepEqual([r.ok, r.output], [true, `tcp 127.0.0.1:${port} connected`]);
});

test('tcp: a closed port fails', async () => {
  const port = await closedPort();
  const r = await runProbe({ kind: 'tcp', host: '127.0.0.1', port: String(port) }, 1000, ctx);
  assert.deepEqual([r.ok, r.output], [false, `tcp 127.0.0.1:${port}: connect ECONNREFUSED 127.0.0.1:${port}`]);
});

test('tcp: a port that is not a number fails', async () => {
  const r = await runProbe({ kind: 'tcp', host: '127.0.0.1', port: '${PORT}' }, 1000, ctx);
  assert.deepEqual([r.ok, r.output], [false, 'tcp 127.0.0.1:${PORT}: invalid port']);
});

test('exec: exit 0 is healthy, runs in the replica cwd with its env, output trimmed', async (t) => {
  const dir = tempDir(t);
  const script = 'console.log("  ", process.cwd(), process.env.PROBE_VAR); console.error("and more\\n")';
  const r = await runProbe({ kind: 'exec', command: [NODE, '-e', script] }, 2000, { cwd: dir, env: { PROBE_VAR: 'x1' } });
  assert.deepEqual([r.ok, r.output], [true, `${dir} x1 and more`]);
});

test('exec: a non-zero exit is unhealthy with its code and output', async () => {
  const r = await runProbe({ kind: 'exec', command: [NODE, '-e', 'console.log("db down"); process.exit(3)'] }, 2000, ctx);
  assert.deepEqual([r.ok, r.output], [false, 'exit code 3: db down']);
});

test('exec: long output is cut, not a failure', async () => {
  const r = await runProbe({ kind: 'exec', command: [NODE, '-e', 'process.stdout.write("x".repeat(1e6))'] }, 5000, ctx);
  assert.equal(r.ok, true);
  assert.equal(r.output, `${'x'.repeat(199)}…`);
});

test('exec: a command that does not exist fails with the reason', async () => {
  const r = await runProbe({ kind: 'exec', command: ['./no-such-check'] }, 1000, ctx);
  assert.deepEqual([r.ok, r.output], [false, 'spawn ./no-such-check ENOENT']);
});

test('exec: a hung probe is killed with its process group at the timeout', { timeout: 15_000 }, async (t) => {
  const pidFile = join(tempDir(t), 'grandchild');
  const r = await runProbe({ kind: 'exec', command: fixture('probe-hang.mjs', pidFile) }, 1000, ctx);
  assert.deepEqual([r.ok, r.output], [false, 'timed out after 1000 ms']);
  const grandchild = Number(readFileSync(pidFile, 'utf8'));
  await waitFor(() => !isAlive(grandchild), { timeoutMs: 2000, what: `grandchild ${grandchild} to die` });
});

test('exec: a probe that exits leaves nothing behind', async () => {
  const r = await runProbe({ kind: 'exec', command: ['/bin/sh', '-c', 'sleep 60 & echo $!'] }, 5000, ctx);
  assert.equal(r.ok, true);
  const leftover = Number(r.output);
  assert.ok(leftover > 0, `the probe printed its child's pid, got ${r.output}`);
  await waitFor(() => !isAlive(leftover), { timeoutMs: 2000, what: `leftover ${leftover} to die` });
});

test('exec: canceling a run kills it at once', async (t) => {
  const pidFile = join(tempDir(t), 'grandchild');
  const controller = new AbortController();
  const run = runProbe({ kind: 'exec', command: fixture('probe-hang.mjs', pidFile) }, 30_000, { ...ctx, signal: controller.signal });
  const grandchild = await waitFor(() => Number(readFileSync(pidFile, 'utf8')), { what: 'the grandchild pid' });
  controller.abort();
  const r = await run;
  assert.deepEqual([r.ok, r.output], [false, 'canceled']);
  await waitFor(() => !isAlive(grandchild), { timeoutMs: 2000, what: `grandchild ${grandchild} to die` });
});

test('exec: with the replica\'s `user:` the probe runs as that user, never as root', { skip: process.getuid?.() !== 0 ? 'needs root' : false }, async () => {
  const r = await runProbe({ kind: 'exec', command: ['id', '-u'] }, 5000, { cwd: '/', env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin' }, user: 'nobody' });
  assert.deepEqual([r.ok, r.output], [true, '65534']);
  const unknown = await runProbe({ kind: 'exec', command: ['id', '-u'] }, 5000, { cwd: '/', env: {}, user: 'no-such-user-here' });
  assert.deepEqual([unknown.ok, unknown.output], [false, 'unknown user "no-such-user-here" (not in /etc/passwd)']);
});
