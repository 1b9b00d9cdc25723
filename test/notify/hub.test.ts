// The notify hub with real senders: Debian's systemd-notify and Python's socket module speaking
// sd_notify to the datagram socket, tend's own client and raw sockets speaking the stream protocol.

import { strict as assert } from 'node:assert';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { NotifyHub, type NotifyRegistration, type TimeoutKind } from '../../src/notify/hub.js';
import type { DropReason, NotifyMessage } from '../../src/notify/protocol.js';
import { cleanup, fixture, processReaper, tempDir, waitFor } from '../helpers/index.js';

const SYSTEMD_NOTIFY = '/usr/bin/systemd-notify';

interface Harness {
  hub: NotifyHub;
  dir: string;
  got: { id: string; m: NotifyMessage }[];
  timeouts: { id: string; kind: TimeoutKind; ms: number }[];
  rejected: { id: string; reason: DropReason; detail: string }[];
  malformed: { id: string; detail: string }[];
  register(id: string, extra?: Partial<NotifyRegistration>): Record<string, string>;
  of(id: string, kind?: NotifyMessage['kind']): NotifyMessage[];
}

async function startHub(t: TestContext, opts: { ratePerSec?: number; burst?: number; dir?: string } = {}): Promise<Harness> {
  const dir = opts.dir ?? join(tempDir(t), 'n');
  const got: Harness['got'] = [];
  const timeouts: Harness['timeouts'] = [];
  const rejected: Harness['rejected'] = [];
  const malformed: Harness['malformed'] = [];
  const hub = new NotifyHub({
    dir,
    onMessage: (id, m) => got.push({ id, m }),
    onTimeout: (id, kind, ms) => timeouts.push({ id, kind, ms }),
    onRejected: (id, reason, detail) => rejected.push({ id, reason, detail }),
    onMalformed: (id, detail) => malformed.push({ id, detail }),
    onError: (id, message) => assert.fail(`${id}: ${message}`),
    ...(opts.ratePerSec ? { ratePerSec: opts.ratePerSec } : {}),
    ...(opts.burst ? { burst: opts.burst } : {}),
  });
  await hub.start();
  cleanup(t, () => hub.close());
  const [service = 'svc', index = '0'] = [];
  return {
    hub,
    dir,
    got,
    timeouts,
    rejected,
    malformed,
    register: (id, extra = {}) =>
      hub.register({ id, service: extra.service ?? service, index: extra.index ?? Number(index), token: NotifyHub.newToken(), ...extra }),
    of: (id, kind) => got.filter((g) => g.id === id && (kind === undefined || g.m.kind === kind)).map((g) => g.m),
  };
}

/** Inodes of the Unix sockets bound under `dir` (from /proc/net/unix). */
function notifySocketInodes(dir: string): Set<string> {
  const inodes = new Set<string>();
  for (const line of readFileSync('/proc/net/unix', 'utf8').split('\n').slice(1)) {
    const cols = line.trim().split(/\s+/);
    if (cols[7]?.startsWith(dir + '/')) inodes.add(cols[6]!);
  }
  return inodes;
}

function run(t: TestContext, argv: string[], env: Record<string, string>): ChildProcess & { done: Promise<number | null> } {
  const child = spawn(argv[0]!, argv.slice(1), { env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
  processReaper(t).track(child.pid);
  const done = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return Object.assign(child, { done });
}

/** A raw stream connection that collects the lines tend answers. */
async function rawClient(t: TestContext, path: string): Promise<{ s: Socket; lines: Record<string, unknown>[]; closed: Promise<void> }> {
  const s = connect(path);
  cleanup(t, () => s.destroy());
  const lines: Record<string, unknown>[] = [];
  let buf = '';
  s.setEncoding('utf8');
  s.on('data', (c: string) => {
    buf += c;
    let nl;
    while ((nl = buf.indexOf('\n')) !== -1) {
      lines.push(JSON.parse(buf.slice(0, nl)));
      buf = buf.slice(nl + 1);
    }
  });
  s.on('error', () => undefined);
  const closed = new Promise<void>((r) => s.once('close', () => r()));
  await new Promise<void>((r) => s.once('connect', () => r()));
  return { s, lines, closed };
}

test('systemd-notify (Debian) is attributed by the socket it sends to, after it has exited', async (t) => {
  assert.ok(existsSync(SYSTEMD_NOTIFY), 'systemd-notify is installed (Debian package systemd)');
  const h = await startHub(t);
  const a = h.register('a#1', { systemd: true, watchdogMs: 60_000 });
  const b = h.register('b#2', { systemd: true });
  await Promise.all([h.hub.bound('a#1'), h.hub.bound('b#2')]);
  assert.ok(a.NOTIFY_SOCKET && b.NOTIFY_SOCKET && a.NOTIFY_SOCKET !== b.NOTIFY_SOCKET, 'one datagram socket per replica');
  assert.equal(a.WATCHDOG_USEC, '60000000');

  // systemd-notify exits as soon as it has sent (and its barrier is answered): by the time tend
  // reads the datagram the sender may be gone, which must not matter.
  const sn = run(t, [SYSTEMD_NOTIFY, '--ready', '--status=loading 50%'], { NOTIFY_SOCKET: a.NOTIFY_SOCKET! });
  assert.equal(await sn.done, 0);
  const sn2 = run(t, [SYSTEMD_NOTIFY, 'STATUS=other', 'WATCHDOG=1', 'EXTEND_TIMEOUT_USEC=5000000'], { NOTIFY_SOCKET: b.NOTIFY_SOCKET! });
  assert.equal(await sn2.done, 0);

  await waitFor(() => h.of('a#1', 'ready').length === 1 && h.of('b#2', 'extendTimeout').length === 1, { what: 'both messages' });
  assert.deepEqual(h.of('a#1', 'status'), [{ kind: 'status', text: 'loading 50%' }]);
  assert.deepEqual(h.of('b#2', 'status'), [{ kind: 'status', text: 'other' }]);
  assert.deepEqual(h.of('b#2', 'heartbeat'), [{ kind: 'heartbeat' }]);
  assert.deepEqual(h.of('b#2', 'extendTimeout'), [{ kind: 'extendTimeout', ms: 5000 }]);
  assert.equal(h.of('a#1', 'heartbeat').length, 0, "b's messages never reach a");
});

test("Python's socket module as a third-party sd_notify sender; unknown variables are ignored", async (t) => {
  const h = await startHub(t);
  const env = h.register('py#1', { systemd: true });
  await h.hub.bound('py#1');
  const script = [
    'import os, socket',
    's = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)',
    'p = os.environ["NOTIFY_SOCKET"]',
    's.sendto(b"MAINPID=1\\nREADY=1\\nSTATUS=from python", p)',
    's.sendto(b"RELOADING=1", p)',
    's.sendto(b"STOPPING=1\\nERRNO=5", p)',
    's.sendto(b"not an assignment", p)',
    's.sendto(b"X" * 5000, p)',
    // A bad line loses only itself (as under systemd): the READY and STATUS beside it are heard.
    's.sendto(b"READY=1\\nERRNO=abc\\nSTATUS=after a bad line", p)',
  ].join('\n');
  const py = run(t, ['python3', '-c', script], env);
  assert.equal(await py.done, 0);
  await waitFor(() => h.of('py#1', 'status').length === 2, { what: 'the last STATUS' });
  assert.deepEqual(
    h.of('py#1').map((m) => m.kind),
    ['ready', 'status', 'reloading', 'stopping', 'errno', 'ready', 'status'],
  );
  await waitFor(() => h.hub.counters().dropped.datagram_too_long === 1 && h.hub.counters().dropped.malformed === 2, {
    what: 'the bad datagrams counted',
  });
  // Said to the replica's log once (the counter counts every one).
  assert.deepEqual(h.malformed, [{ id: 'py#1', detail: 'not VAR=VALUE: not an assignment' }]);
});

test('a datagram socket is removed with its replica; the path comes back with the same token; replicas inherit no socket', async (t) => {
  const root = tempDir(t);
  const h = await startHub(t, { dir: join(root, 'n') });
  const token = NotifyHub.newToken();
  const env = h.hub.register({ id: 'x#1', service: 'x', index: 0, token, systemd: true });
  await h.hub.bound('x#1');
  assert.ok(existsSync(env.NOTIFY_SOCKET!));
  h.hub.unregister('x#1');
  await waitFor(() => !existsSync(env.NOTIFY_SOCKET!), { what: 'socket removed' });
  const again = h.hub.register({ id: 'x#7', service: 'x', index: 0, token, systemd: true });
  assert.equal(again.NOTIFY_SOCKET, env.NOTIFY_SOCKET);
  await h.hub.bound('x#7');
  const sn = run(t, [SYSTEMD_NOTIFY, '--ready'], { NOTIFY_SOCKET: again.NOTIFY_SOCKET! });
  assert.equal(await sn.done, 0);
  await waitFor(() => h.of('x#7', 'ready').length === 1, { what: 'ready on the re-created socket' });

  // A process tend spawns must not hold any notify socket open (the sockets live in a helper
  // process that spawns nothing; node-unix-socket's, tried first, were not close-on-exec).
  const child = run(t, ['sleep', '30'], {});
  const fds = readdirSync(`/proc/${child.pid}/fd`).map((fd) => {
    try {
      return readlinkSync(`/proc/${child.pid}/fd/${fd}`);
    } catch {
      return '';
    }
  });
  const ours = notifySocketInodes(h.dir);
  assert.ok(ours.size >= 2, 'the bound sockets are listed in /proc/net/unix');
  const inherited = fds.filter((l) => ours.has(l.replace(/^socket:\[(\d+)\]$/, '$1')));
  assert.deepEqual(inherited, [], 'no notify socket is inherited');
  child.kill('SIGKILL');
});

test('stream protocol: the package client says status, ready and typed events; bad ones are refused with the schema error', async (t) => {
  const h = await startHub(t);
  const events = {
    progress: { type: 'object', required: ['done', 'total'], properties: { done: { type: 'integer' }, total: { type: 'integer' } } },
  };
  const env = h.register('c#1', { events });
  const ok = run(t, fixture('notify-client.mjs', 'ready-events', 3), env);
  await waitFor(() => h.of('c#1', 'event').length === 3, { what: 'three events' });
  assert.deepEqual(h.of('c#1').slice(0, 2), [{ kind: 'status', text: 'warming up' }, { kind: 'ready' }]);
  assert.deepEqual(h.of('c#1', 'event')[2], { kind: 'event', name: 'progress', data: { done: 3, total: 3 } });
  ok.kill('SIGKILL');

  const env2 = h.register('c#2', { events });
  run(t, fixture('notify-client.mjs', 'invalid'), env2);
  await waitFor(() => h.rejected.filter((r) => r.id === 'c#2').length === 2, { what: 'two rejections' });
  const [invalid, unknown] = h.rejected.filter((r) => r.id === 'c#2');
  assert.equal(invalid!.reason, 'invalid_event');
  assert.match(invalid!.detail, /progress.*must have required property 'total'|progress.*done must be integer/);
  assert.equal(unknown!.reason, 'unknown_event');
  assert.match(unknown!.detail, /unknown event "nope" \(declared: progress\)/);
  assert.equal(h.of('c#2', 'event').length, 0, 'refused events are not forwarded');
  assert.equal(h.hub.counters().dropped.invalid_event, 1);
  assert.equal(h.hub.counters().dropped.unknown_event, 1);
});

test('two specs whose event schemas have the same $id (a reload, or two services) each validate their events', async (t) => {
  // A reload gives a new spec object with the same schema; two services may share one too.
  const schema = () => ({ $id: 'urn:example:progress', type: 'object', required: ['done', 'total'], properties: { done: { type: 'integer' }, total: { type: 'integer' } } });
  const h = await startHub(t);
  for (const id of ['a#1', 'b#1']) {
    const env = h.register(id, { service: id.split('#')[0]!, events: { progress: schema() } });
    run(t, fixture('notify-client.mjs', 'ready-events', 2), env);
    await waitFor(() => h.of(id, 'event').length === 2 || h.rejected.some((r) => r.id === id), { what: `${id}: two events or a rejection` });
    assert.deepEqual(h.rejected.filter((r) => r.id === id), [], `${id}: nothing refused`);
    assert.deepEqual(h.of(id, 'event')[1], { kind: 'event', name: 'progress', data: { done: 2, total: 2 } });
  }
});

test('stream protocol: a wrong token, no hello, malformed JSON and a 10 MB line are refused and counted', async (t) => {
  const h = await startHub(t);
  const env = h.register('good#1');

  const bad = await rawClient(t, h.hub.streamPath);
  bad.s.write(JSON.stringify({ type: 'hello', token: 'not-a-token' }) + '\n' + JSON.stringify({ type: 'ready' }) + '\n');
  await bad.closed;
  assert.equal(bad.lines[0]?.reason, 'bad_token');

  const rude = await rawClient(t, h.hub.streamPath);
  rude.s.write(JSON.stringify({ type: 'ready' }) + '\n');
  await rude.closed;
  assert.equal(rude.lines[0]?.reason, 'no_hello');

  const sloppy = await rawClient(t, h.hub.streamPath);
  sloppy.s.write(JSON.stringify({ type: 'hello', token: env.TEND_NOTIFY_TOKEN, id: 1 }) + '\n{not json\n[1]\n' + JSON.stringify({ type: 'status', text: 'still here' }) + '\n');
  await waitFor(() => h.of('good#1', 'status').length === 1 && sloppy.lines.length === 3, { what: 'the status after the garbage' });
  assert.equal(sloppy.lines[0]?.type, 'welcome');
  assert.deepEqual(sloppy.lines.slice(1).map((l) => l.reason), ['malformed', 'malformed']);

  const huge = await rawClient(t, h.hub.streamPath);
  huge.s.write(JSON.stringify({ type: 'hello', token: env.TEND_NOTIFY_TOKEN }) + '\n');
  const tenMb = Buffer.alloc(10 * 1024 * 1024, 'a');
  huge.s.write(tenMb);
  await huge.closed;
  assert.ok(huge.lines.some((l) => l.reason === 'line_too_long'), JSON.stringify(huge.lines));

  const c = h.hub.counters();
  assert.equal(c.dropped.bad_token, 1);
  assert.equal(c.dropped.no_hello, 1);
  assert.equal(c.dropped.malformed, 2);
  assert.equal(c.dropped.line_too_long, 1);
  assert.equal(h.of('good#1', 'ready').length, 0, 'nothing from the unauthenticated connections got through');
});

test('a flood of 100,000 messages from one replica is rate-limited; another replica is served meanwhile', async (t) => {
  const h = await startHub(t, { ratePerSec: 100, burst: 200 });
  const loud = h.register('loud#1');
  const quiet = h.register('quiet#2');

  const flood = await rawClient(t, h.hub.streamPath);
  flood.s.write(JSON.stringify({ type: 'hello', token: loud.TEND_NOTIFY_TOKEN }) + '\n');
  const line = JSON.stringify({ type: 'heartbeat' }) + '\n';
  const batch = line.repeat(10_000);
  for (let i = 0; i < 10; i++) flood.s.write(batch);

  const q = run(t, fixture('notify-client.mjs', 'stdin'), quiet);
  q.stdin!.write('status hello from the quiet one\nflush\n');
  let out = '';
  q.stdout!.on('data', (d) => (out += d));
  await waitFor(() => out.includes('flushed true'), { what: 'the quiet replica served', timeoutMs: 10_000 });
  assert.deepEqual(h.of('quiet#2', 'status'), [{ kind: 'status', text: 'hello from the quiet one' }]);

  await waitFor(() => h.hub.counters().dropped.rate_limited > 0, { what: 'drops counted' });
  // What got through is bounded by the budget, not by what was sent.
  assert.ok(h.of('loud#1').length < 1000, `${h.of('loud#1').length} messages got through`);
});

test('watchdog: silence for longer than the period is said once; READY gates the start-up deadline', async (t) => {
  const h = await startHub(t);
  // With a start-up deadline the watchdog is armed by READY (the client's first word).
  const env = h.register('w#1', { watchdogMs: 600, readyTimeoutMs: 60_000 });
  assert.equal(env.TEND_WATCHDOG_MS, '600');
  // The package client beats automatically at a third of TEND_WATCHDOG_MS, then goes silent.
  const c = run(t, fixture('notify-client.mjs', 'heartbeat-then-stop', 1500), env);
  await waitFor(() => h.of('w#1', 'heartbeat').length >= 3, { what: 'automatic heartbeats' });
  assert.deepEqual(h.timeouts.filter((x) => x.id === 'w#1'), [], 'no stale while it beats');
  await waitFor(() => h.timeouts.some((x) => x.id === 'w#1' && x.kind === 'watchdog'), { what: 'stale', timeoutMs: 5000 });
  c.kill('SIGKILL');

  h.register('r#1', { readyTimeoutMs: 200 });
  await waitFor(() => h.timeouts.some((x) => x.id === 'r#1' && x.kind === 'ready'), { what: 'start-up timeout' });
  assert.equal(h.timeouts.filter((x) => x.id === 'w#1').length, 1, 'said once');
});

test('the client reconnects to a new hub at the same path and says ready and its status again', async (t) => {
  const root = tempDir(t);
  const dir = join(root, 'n');
  const token = NotifyHub.newToken();
  const first = await startHub(t, { dir });
  const env = first.hub.register({ id: 'k#1', service: 'k', index: 0, token });
  const c = run(t, fixture('notify-client.mjs', 'stdin'), env);
  c.stdin!.write('status step 1\nready\n');
  await waitFor(() => first.of('k#1', 'ready').length === 1, { what: 'ready on the first hub' });
  await first.hub.close();

  const second = await startHub(t, { dir });
  second.hub.register({ id: 'k#9', service: 'k', index: 0, token, alreadyReady: true });
  await waitFor(() => second.of('k#9', 'ready').length === 1 && second.of('k#9', 'status').length === 1, {
    what: 'ready and status said again to the new hub',
    timeoutMs: 10_000,
  });
  c.stdin!.write('event anything {}\n');
  await waitFor(() => second.rejected.some((r) => r.id === 'k#9' && r.reason === 'unknown_event'), { what: 'a later message' });
});

test('start-up timeout: EXTEND_TIMEOUT_USEC= extends it, and the timeout says how long tend waited', async (t) => {
  const h = await startHub(t);
  // The timeout leaves systemd-notify a second to start and say it (more than a loaded machine
  // took); the extension then runs 2.5 s from when it is heard.
  const env = h.register('x#1', { systemd: true, readyTimeoutMs: 1000 });
  await h.hub.bound('x#1');
  const sent = performance.now();
  const child = run(t, [SYSTEMD_NOTIFY, 'EXTEND_TIMEOUT_USEC=2500000'], env);
  assert.equal(await child.done, 0);
  await waitFor(() => h.of('x#1', 'extendTimeout').length === 1, { what: 'the extension heard' });
  const timeout = await waitFor(() => h.timeouts.find((x) => x.id === 'x#1' && x.kind === 'ready'), { what: 'start-up timeout', timeoutMs: 8000 });
  assert.ok(performance.now() - sent >= 2400, 'not before the extension ran out');
  // About 2.5 s after the registration, not the configured 1000 ms; whole milliseconds.
  assert.ok(timeout.ms >= 2500 && timeout.ms < 5000 && Number.isInteger(timeout.ms), `waited ${timeout.ms} ms`);
});

test('start-up timeout applies live: lowered, it ends the wait from its start; raised, it spares the replica', async (t) => {
  const h = await startHub(t);
  h.register('low#1', { readyTimeoutMs: 60_000 });
  h.register('high#1', { readyTimeoutMs: 300 });
  h.register('ready#1', { readyTimeoutMs: 60_000 });
  const began = performance.now();
  h.hub.retime('low#1', 400);
  h.hub.retime('high#1', 60_000);
  const low = await waitFor(() => h.timeouts.find((x) => x.id === 'low#1'), { what: 'the lowered timeout', timeoutMs: 5000 });
  assert.ok(performance.now() - began >= 390, 'not before 400 ms from the start');
  assert.ok(low.ms >= 400 && low.ms < 2000, `waited ${low.ms} ms`);
  // Lowered below what it already waited: it ends at once, saying how long it did wait.
  await waitFor(() => performance.now() - began >= 700, { what: '700 ms', intervalMs: 20 });
  h.hub.retime('ready#1', 100);
  const late = await waitFor(() => h.timeouts.find((x) => x.id === 'ready#1'), { what: 'the late-lowered timeout', timeoutMs: 5000 });
  assert.ok(late.ms >= 700, `waited ${late.ms} ms, not the 100 ms configured`);
  assert.deepEqual(h.timeouts.filter((x) => x.id === 'high#1'), [], 'the raised one is still waiting');
});

test('watchdog of a paused replica: not judged while paused; after resume its period starts afresh', async (t) => {
  const h = await startHub(t);
  h.register('p#1', { watchdogMs: 300 });
  h.hub.pause('p#1');
  const paused = performance.now();
  await waitFor(() => performance.now() - paused >= 800, { what: '800 ms paused', intervalMs: 20 });
  assert.deepEqual(h.timeouts, [], 'not stale while paused');
  h.hub.resume('p#1');
  const resumed = performance.now();
  await waitFor(() => h.timeouts.some((x) => x.id === 'p#1' && x.kind === 'watchdog'), { what: 'stale after the resume', timeoutMs: 3000 });
  assert.ok(performance.now() - resumed >= 290, 'a whole period after the resume');
  // Paused and resumed again after it was said stale: it can be said stale again.
  h.hub.pause('p#1');
  h.hub.resume('p#1');
  await waitFor(() => h.timeouts.filter((x) => x.id === 'p#1').length === 2, { what: 'stale again', timeoutMs: 3000 });
});
