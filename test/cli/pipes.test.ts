// The built CLI in the user's world: its output piped into a slow reader (`tend status -o json |
// less`), a reader that leaves early (`| head`), and a daemon that accepts and never answers. The
// daemon side is a real API server on a temp Unix socket with a ControlPlane of canned data.

import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, mkdirSync, openSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { ApiClient } from '../../src/api/client.js';
import { startApiServer } from '../../src/api/server.js';
import type { ControlPlane, ServiceStatus, StatusReport } from '../../src/api/types.js';
import type { TendError } from '../../src/errors.js';
import { EventLog } from '../../src/events.js';
import { controlPlane } from '../helpers/control-plane.js';
import { cleanup, FIXTURE_BIN, NODE, ROOT, tempDir, waitFor } from '../helpers/index.js';

const BUILT_CLI = join(ROOT, 'dist', 'bin', 'tend.js');
const SLOW_READER = join(FIXTURE_BIN, 'slow-reader.mjs');

function service(n: number): ServiceStatus {
  return {
    name: `svc-${n}`,
    file: `/specs/svc-${n}.yaml`,
    replicas_desired: 1,
    ready: 1,
    state: 'running',
    waiting_for: null,
    blocked: null,
    restarts: 0,
    cpu: 0.5,
    memory: 1 << 20,
    started_at: '2024-01-01T00:00:00.000Z',
    hash: 'h'.repeat(64),
    oneshot: false,
    held: false,
    replicas: [
      {
        index: 0,
        state: 'running',
        pid: 1000 + n,
        ready: true,
        restarts: 0,
        started_at: '2024-01-01T00:00:00.000Z',
        exit_code: null,
        signal: null,
        reason: null,
        next_start_at: null,
        cpu: 0.5,
        memory: 1 << 20,
        hash: 'h'.repeat(64),
        status_text: null,
      },
    ],
  };
}

function control(logDir: string, events = new EventLog()): ControlPlane {
  const report: StatusReport = {
    services: Array.from({ length: 3000 }, (_, n) => service(n)),
    errors: [],
    converged: true,
    source: '/specs',
    pid: 1,
  };
  return controlPlane({
    status: () => report,
    logFiles: (name) => [{ service: name, index: 0, path: join(logDir, `${name}.log`) }],
    recentEvents: (limit, since) => events.history(limit, since),
    subscribe: (l) => events.subscribe(l),
  });
}

/** A daemon's state dir under `root` (`root/.tend`) with the API on its socket. */
async function daemon(t: TestContext, root: string, events?: EventLog): Promise<{ plane: ControlPlane; logDir: string }> {
  const stateDir = join(root, '.tend');
  const logDir = join(stateDir, 'logs');
  mkdirSync(logDir, { recursive: true });
  const plane = control(logDir, events);
  const server = await startApiServer(join(stateDir, 'tend.sock'), plane, { warn: () => {} });
  cleanup(t, () => server.close());
  return { plane, logDir };
}

interface Piped {
  code: number | null;
  /** What the reader at the end of the pipe printed. */
  stdout: string;
  stderr: string;
}

/** `bash -c 'tend ARGS | READER'` in `cwd`, its own process group killed when the test ends. */
function pipeline(t: TestContext, cwd: string, args: string[], reader: string, extraEnv: Record<string, string> = {}): Promise<Piped> {
  const quoted = [NODE, BUILT_CLI, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env['TEND_STATE_DIR'];
  delete env['TEND_CLIENT_TIMEOUT'];
  Object.assign(env, extraEnv);
  // pipefail: the exit code is tend's, as a script with `set -o pipefail` sees it.
  const child = spawn('bash', ['-c', `set -o pipefail; ${quoted} | ${reader}`], { cwd, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  cleanup(t, () => {
    try {
      if (child.pid !== undefined && child.exitCode === null) process.kill(-child.pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

const slowReader = `'${NODE}' '${SLOW_READER}'`;

test('status -o json into a slow reader: every byte arrives', async (t) => {
  const root = tempDir(t);
  const { plane } = await daemon(t, root);
  const expected = Buffer.byteLength(JSON.stringify(plane.status(), null, 2)) + 1;
  assert.ok(expected > 1_000_000, `a large status (${expected} bytes)`);
  const r = await pipeline(t, root, ['status', '-o', 'json'], slowReader);
  assert.equal(r.code, 0, r.stderr);
  const [bytes] = r.stdout.trim().split(' ').map(Number);
  assert.equal(bytes, expected);
});

test('logs into a slow reader: every line arrives', async (t) => {
  const root = tempDir(t);
  const { logDir } = await daemon(t, root);
  const lines = 20_000;
  writeFileSync(join(logDir, 'web.log'), Array.from({ length: lines }, (_, i) => `line ${i} ${'.'.repeat(60)}`).join('\n') + '\n');
  const r = await pipeline(t, root, ['logs', 'web'], slowReader);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(Number(r.stdout.trim().split(' ')[1]), lines);
});

test('validate -o json into a slow reader: every byte arrives', async (t) => {
  const files: Record<string, string> = {};
  for (let i = 0; i < 400; i++) files[`services.d/s${i}.yaml`] = `command: [x]\nreplicas: many-${i}\nunknown_${i}: ${'z'.repeat(200)}\n`;
  const dir = tempDir(t, files);
  // To a file, stdout is written synchronously: the reference for what the pipe must carry.
  const file = join(dir, 'out.json');
  const fd = openSync(file, 'w');
  spawnSync(NODE, [BUILT_CLI, 'validate', '-o', 'json'], { cwd: dir, stdio: ['ignore', fd, 'ignore'] });
  closeSync(fd);
  const expected = statSync(file).size;
  const r = await pipeline(t, dir, ['validate', '-o', 'json'], slowReader);
  assert.equal(r.code, 1, 'invalid specs: exit 1 through the pipe');
  const bytes = Number(r.stdout.trim().split(' ')[0]);
  assert.ok(bytes > 65_536, `more than a pipe's 64 KiB (${bytes})`);
  assert.equal(bytes, expected, 'the same bytes as written to a file');
});

test('a reader that leaves early (| head -c 100) is a clean exit 0', async (t) => {
  const root = tempDir(t);
  await daemon(t, root);
  const r = await pipeline(t, root, ['status', '-o', 'json'], 'head -c 100 > /dev/null');
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, '');
});

test('a follower whose reader left while nothing more was written ends: logs -f | grep -m1, events -f | head -1', { timeout: 60_000 }, async (t) => {
  const root = tempDir(t);
  const events = new EventLog();
  const { logDir } = await daemon(t, root, events);
  writeFileSync(join(logDir, 'svc-0.log'), 'booting\ni am ready\n');
  events.emit({ type: 'spec.loaded', services: 1, message: 'loaded' } as never);
  // The service says nothing more, and no event comes: only the reader's going away can end them.
  const logs = await pipeline(t, root, ['logs', '-f', 'svc-0'], 'grep -m1 "i am ready"');
  assert.equal(logs.code, 0, logs.stderr);
  assert.match(logs.stdout, /svc-0\/0 \| i am ready/);
  const first = await pipeline(t, root, ['events', '-f'], 'head -1');
  assert.equal(first.code, 0, first.stderr);
  assert.match(first.stdout, /spec\.loaded/);
});

test('output that cannot be written (a full disk: > /dev/full) is an error, as for ls, not a silent exit 0', async (t) => {
  const root = tempDir(t);
  const events = new EventLog();
  const { logDir } = await daemon(t, root, events);
  writeFileSync(join(logDir, 'svc-0.log'), 'a line\n');
  events.emit({ type: 'spec.loaded', services: 1, message: 'loaded' } as never);
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env['TEND_STATE_DIR'];
  for (const args of [['status', '-o', 'json'], ['logs', 'svc-0'], ['events']]) {
    // Not spawnSync: the daemon answering it runs in this process.
    const child = spawn('sh', ['-c', '"$@" > /dev/full', 'sh', NODE, BUILT_CLI, ...args], { cwd: root, env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const [code] = (await once(child, 'close')) as [number | null];
    assert.equal(code, 1, `${args.join(' ')}: ${stderr}`);
    assert.match(stderr, /^tend: cannot write the output: ENOSPC/, args.join(' '));
  }
});

/** A socket that accepts connections and never answers: a wedged daemon. */
async function silentDaemon(t: TestContext, root: string): Promise<string> {
  const stateDir = join(root, '.tend');
  mkdirSync(stateDir, { recursive: true });
  const socket = join(stateDir, 'tend.sock');
  const open = new Set<Socket>();
  const server = createServer((s) => {
    open.add(s);
    s.on('close', () => open.delete(s));
    s.resume();
  });
  await new Promise<void>((r) => server.listen(socket, r));
  cleanup(t, () => {
    for (const s of open) s.destroy();
    server.close();
  });
  return socket;
}

test('every client command gives up after --client-timeout and says what it waited for', async (t) => {
  const root = tempDir(t);
  await silentDaemon(t, root);
  const cases: [string[], RegExp][] = [
    [['status'], /GET \/v1\/status/],
    [['logs', 'web'], /GET \/v1\/logs\/web/],
    [['logs', 'web', '-f'], /GET \/v1\/logs\/web\?follow=1/],
    [['events', '-f'], /GET \/v1\/events/],
    // restart checks every target against the status before it acts on any.
    [['restart', 'web'], /GET \/v1\/status/],
  ];
  for (const [args, request] of cases) {
    const r = await pipeline(t, root, ['--client-timeout', '300ms', ...args], 'cat');
    assert.equal(r.code, 3, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, /^tend: the tend daemon on \.tend\/tend\.sock did not answer /, args.join(' '));
    assert.match(r.stderr, request, args.join(' '));
    assert.match(r.stderr, /within 300ms/, args.join(' '));
  }
  // The environment sets it too, and a malformed value is a usage error.
  const env = await pipeline(t, root, ['status'], 'cat', { TEND_CLIENT_TIMEOUT: '250ms' });
  assert.equal(env.code, 3);
  assert.match(env.stderr, /did not answer GET \/v1\/status within 250ms/);
  const bad = await pipeline(t, root, ['--client-timeout', 'soon', 'status'], 'cat');
  assert.equal(bad.code, 5);
  assert.match(bad.stderr, /--client-timeout to be a duration/);
});

test('a stream is exempt from the timeout once connected', async (t) => {
  const root = tempDir(t);
  const events = new EventLog();
  await daemon(t, root, events);
  const silent = await silentDaemon(t, tempDir(t));
  const socket = join(root, '.tend', 'tend.sock');
  const ac = new AbortController();
  cleanup(t, () => ac.abort());
  // Long enough to connect on a busy machine; the stream must then outlive it.
  const stream = new ApiClient(socket, { timeoutMs: 3000 }).events({ signal: ac.signal, tail: 0 });
  const next = stream.next();
  await waitFor(() => (events as unknown as { listeners: Set<unknown> }).listeners.size === 1, { what: 'the subscription' });
  // A request with the same timeout to a silent daemon: once it has timed out, so would the stream have.
  await assert.rejects(new ApiClient(silent, { timeoutMs: 3000 }).status(), (err: TendError) => err.code === 'DAEMON_TIMEOUT');
  (events as unknown as LooseEvents).emit({ type: 'spec.loaded' });
  const first = await next;
  assert.equal(first.value?.type, 'spec.loaded');
});

/** Tests send hand-written events of any shape. */
type LooseEvents = { emit(e: object): import("../../src/reconcile/events.js").TendEvent };
