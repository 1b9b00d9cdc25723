// The daemon binds its control socket as soon as the files have been read and loads the HTTP side
// of the API a turn later (src/api/listen.ts): a client that connects in between is held, its
// bytes unread, and answered once the API takes the socket.

import assert from 'node:assert/strict';
import { statSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { spawnSync } from 'node:child_process';
import { connect } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import { listenApiSocket } from '../../src/api/listen.js';
import { startApiServer } from '../../src/api/server.js';
import { cleanup, tempDir, waitFor } from '../helpers/index.js';
import { fakeControl } from './api-fuzz.js';

function get(socketPath: string, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, path, method: 'GET', agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

test('requests made between the bind and the API are held, then answered in full; the socket is born 0600 over a stale one', async (t) => {
  const dir = tempDir(t);
  const path = join(dir, 'tend.sock');
  writeFileSync(path, 'left by a daemon killed with -9');
  const bound = await listenApiSocket(path);
  cleanup(t, () => bound.server.close());
  assert.ok(statSync(path).isSocket());
  assert.equal(statSync(path).mode & 0o777, 0o600);

  const early = [get(path, '/v1/status'), get(path, '/v1/status')];
  let answered = false;
  void Promise.all(early).then(() => (answered = true));
  // Both connected and sent their request; the daemon has not loaded its API yet.
  await waitFor(() => new Promise<boolean>((resolve) => bound.server.getConnections((_err, n) => resolve(n === 2))), { what: 'two connections held' });
  assert.equal(answered, false);

  const api = await startApiServer(bound, fakeControl(dir), { warn: () => {} });
  cleanup(t, () => api.close());
  for (const r of await Promise.all(early)) {
    assert.equal(r.status, 200);
    assert.ok(Array.isArray((JSON.parse(r.body) as { services: unknown[] }).services));
  }
  // And from then on as any request.
  assert.equal((await get(path, '/v1/status')).status, 200);
});

test('a client that gives up while held is closed once the API takes it, and harms nobody else', async (t) => {
  const dir = tempDir(t);
  const path = join(dir, 'tend.sock');
  const bound = await listenApiSocket(path);
  cleanup(t, () => bound.server.close());
  const gone = request({ socketPath: path, path: '/v1/status', agent: false });
  gone.on('error', () => {});
  gone.end();
  await waitFor(() => new Promise<boolean>((resolve) => bound.server.getConnections((_err, n) => resolve(n === 1))), { what: 'the connection held' });
  gone.destroy();
  const api = await startApiServer(bound, fakeControl(dir), { warn: () => {} });
  cleanup(t, () => api.close());
  assert.equal((await get(path, '/v1/status')).status, 200);
  // Its bytes waited in the kernel; once read, with its end, the connection is let go.
  await waitFor(() => new Promise<boolean>((resolve) => bound.server.getConnections((_err, n) => resolve(n === 0))), { what: 'the abandoned connection closed' });
});

test('closing the API ends every connection it took, a half-sent request too (a client never blocks the daemon going down)', async (t) => {
  const dir = tempDir(t);
  const path = join(dir, 'tend.sock');
  const bound = await listenApiSocket(path);
  const api = await startApiServer(bound, fakeControl(dir), { warn: () => {} });
  // Headers never finished: the HTTP server would wait for them for its headers timeout (60 s).
  const half = connect(path);
  cleanup(t, () => half.destroy());
  half.on('error', () => {});
  let closed = false;
  half.once('close', () => (closed = true));
  half.write('GET /v1/status HTTP/1.1\r\nhost: x\r\n');
  await waitFor(() => new Promise<boolean>((resolve) => bound.server.getConnections((_err, n) => resolve(n === 1))), { what: 'the connection taken' });
  let done = false;
  void api.close().then(() => (done = true));
  await waitFor(() => closed && done, { what: 'close() to end the connection and resolve', timeoutMs: 10_000 });
});

// Out of descriptors (EMFILE) when the socket is bound: exec probes of many replicas under a low
// `ulimit -n` can hold every one for a while. The daemon must not exit then (its replicas would be
// left without a supervisor): it binds once a descriptor is free, unless it is stopping meanwhile.
test('binding while the process is out of descriptors is tried again until one is free; a stop ends the attempts', (t) => {
  const dir = tempDir(t);
  const loader = join(import.meta.dirname, '..', '..', 'src', 'api', 'listen.ts');
  const script = `
    import { openSync, closeSync } from 'node:fs';
    import { connect } from 'node:net';
    const { listenApiSocketWhenPossible } = await import(${JSON.stringify(loader)});
    const fill = () => { const fds = []; try { for (;;) fds.push(openSync('/dev/null', 'r')); } catch {} return fds; };
    let held = fill();
    let retries = 0;
    const bound = await listenApiSocketWhenPossible(process.env.SOCK, {
      signal: new AbortController().signal,
      onRetry: (err) => { retries++; if (retries === 2) { held.forEach((fd) => closeSync(fd)); held = []; } process.stderr.write(err.code + '\\n'); },
    });
    await new Promise((resolve, reject) => connect(process.env.SOCK).on('connect', resolve).on('error', reject));
    console.log('bound after ' + retries + ' retries');
    bound.server.close();
    held = fill();
    const stop = new AbortController();
    const abandoned = await listenApiSocketWhenPossible(process.env.SOCK + '2', { signal: stop.signal, onRetry: () => stop.abort() });
    console.log('abandoned: ' + (abandoned === undefined));
    process.exit(0);
  `;
  const r = spawnSync('sh', ['-c', 'ulimit -n 64 && exec "$@"', 'sh', process.execPath, '--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: join(import.meta.dirname, '..', '..'),
    env: { ...process.env, SOCK: join(dir, 'tend.sock') },
    encoding: 'utf8',
    timeout: 60_000,
  });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^bound after 2 retries$/m);
  assert.match(r.stdout, /^abandoned: true$/m);
  assert.match(r.stderr, /^EMFILE$/m);
});
