// The hook runner with real processes and real HTTP receivers on 127.0.0.1.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { EventLog } from '../../src/events.js';
import type { TendEvent } from '../../src/api/types.js';
import { HookRunner, matches } from '../../src/hooks/runner.js';
import { inProcessExecutor } from '../../src/hooks/executor.js';
import { HookHost } from '../../src/hooks/host-client.js';
import { cleanup, isAlive, processReaper, tempDir, waitFor } from '../helpers/index.js';
import { commandHook, webhook } from './hooks.js';
import { failThenOk, never, ok, startReceiver } from './receivers.js';

function setup(t: import('node:test').TestContext, opts: { concurrency?: number; queueSize?: number } = {}) {
  const events = new EventLog();
  const seen: TendEvent[] = [];
  events.subscribe((e) => seen.push(e));
  const runner = new HookRunner({ events, executor: inProcessExecutor(), ...opts, overflowReportMs: 20 });
  runner.start();
  cleanup(t, () => runner.stop());
  const failures = () => seen.filter((e) => e.type === 'hook.failed');
  return { events, runner, seen, failures };
}

const crash = { type: 'replica.failed', service: 'web', replica: 2, pid: 4242, exit_code: 3, reason: 'crash loop' };

test('a command hook gets the event as JSON in TEND_EVENT and on stdin, in its cwd, which PWD names', async (t) => {
  const dir = tempDir(t);
  const { events, runner, failures } = setup(t);
  // PWD read by a program that takes it as it is (sh would put a wrong one right itself).
  const pwd = [process.execPath, '-e', 'require("fs").writeFileSync("pwd.txt", String(process.env.PWD))'];
  runner.setHooks([commandHook('failed', ['sh', '-c', 'printf "%s" "$TEND_EVENT" > env.json; cat > stdin.json; pwd > cwd.txt'], dir), commandHook('failed', pwd, dir)]);
  const sent = (events as unknown as LooseEvents).emit(crash);
  await waitFor(() => runner.stats.succeeded === 2, { what: 'hooks ran' });
  assert.deepEqual(JSON.parse(readFileSync(join(dir, 'env.json'), 'utf8')), sent);
  assert.deepEqual(JSON.parse(readFileSync(join(dir, 'stdin.json'), 'utf8')), sent);
  assert.equal(readFileSync(join(dir, 'cwd.txt'), 'utf8').trim(), dir);
  assert.equal(readFileSync(join(dir, 'pwd.txt'), 'utf8'), dir, 'not tend\'s own working directory');
  assert.equal(failures().length, 0);
});

test('hooks run only on the events they name and for the services they name', async (t) => {
  const dir = tempDir(t);
  const { events, runner } = setup(t);
  runner.setHooks([
    commandHook('failed', ['sh', '-c', 'echo "$TEND_SERVICE" >> web-failed'], dir, { services: ['web'] }),
    commandHook('restarted', ['sh', '-c', 'echo "$TEND_SERVICE/$TEND_REPLICA" >> restarted'], dir),
  ]);
  (events as unknown as LooseEvents).emit({ type: 'replica.failed', service: 'api', replica: 0 });
  (events as unknown as LooseEvents).emit({ type: 'replica.exited', service: 'web', replica: 0 });
  (events as unknown as LooseEvents).emit({ type: 'replica.restarting', service: 'api', replica: 1 });
  (events as unknown as LooseEvents).emit({ type: 'replica.failed', service: 'web', replica: 0 });
  await waitFor(() => runner.stats.succeeded === 2, { what: 'two hooks ran' });
  await runner.idle();
  assert.equal(readFileSync(join(dir, 'web-failed'), 'utf8'), 'web\n');
  assert.equal(readFileSync(join(dir, 'restarted'), 'utf8'), 'api/1\n');
  assert.equal(runner.stats.matched, 2);
});

test('matches: alert names select that alert only; daemon-wide hooks see events without a service', () => {
  const h = commandHook('crash_loop', ['true'], '/');
  assert.equal(matches(h, { ts: '', type: 'alert.firing', service: 'web', alert: 'crash_loop' }), true);
  assert.equal(matches(h, { ts: '', type: 'alert.resolved', service: 'web', alert: 'crash_loop' }), true);
  assert.equal(matches(h, { ts: '', type: 'alert.firing', service: 'web', alert: 'cpu_high' }), false);
  const spec = commandHook('spec.invalid', ['true'], '/');
  assert.equal(matches(spec, { ts: '', type: 'spec.invalid', reason: 'x' }), true);
  assert.equal(matches({ ...spec, services: ['web'] }, { ts: '', type: 'spec.invalid', reason: 'x' }), false);
});

test('a failing command hook is reported as hook.failed with its exit code and the tail of its output', async (t) => {
  const dir = tempDir(t);
  const { events, runner, failures } = setup(t);
  // 5000 lines of output: only the tail is kept.
  runner.setHooks([commandHook('failed', ['sh', '-c', 'i=0; while [ $i -lt 5000 ]; do echo "line $i"; i=$((i+1)); done; echo oops >&2; exit 7'], dir)]);
  (events as unknown as LooseEvents).emit(crash);
  const [f] = await waitFor(() => (failures().length === 1 ? failures() : undefined), { what: 'hook.failed' });
  assert.equal(f!.exit_code, 7);
  assert.equal(f!.service, 'web');
  assert.equal(f!.replica, 2);
  assert.match(f!.message!, /^hook on replica\.failed: exited with code 7/);
  assert.match(f!.hook!, /^failed: command sh -c/);
  assert.match((f!.output as string), /line 4999\noops\n$/);
  assert.ok((f!.output as string).length <= 2048, `tail is bounded (${(f!.output as string).length} bytes)`);
  assert.doesNotMatch((f!.output as string), /line 10\n/);
  assert.equal(runner.stats.failed, 1);
});

test('a command that does not exist is a reported failure, not a crash', async (t) => {
  const dir = tempDir(t);
  const { events, runner, failures } = setup(t);
  runner.setHooks([commandHook('failed', ['./no-such-hook.sh'], dir)]);
  (events as unknown as LooseEvents).emit(crash);
  const [f] = await waitFor(() => (failures().length === 1 ? failures() : undefined), { what: 'hook.failed' });
  assert.match(f!.message!, /ENOENT|not found/);
  assert.equal(f!.exit_code ?? null, null); // a field that does not apply is left out of the event
});

test('a hook whose working directory is not there says so, not that its program is missing', async (t) => {
  const dir = tempDir(t);
  const { events, runner, failures } = setup(t);
  runner.setHooks([commandHook('failed', ['true'], join(dir, 'gone'))]);
  (events as unknown as LooseEvents).emit(crash);
  const [f] = await waitFor(() => (failures().length === 1 ? failures() : undefined), { what: 'hook.failed' });
  assert.equal(f!.message, `hook on replica.failed: could not start: its working directory ${join(dir, 'gone')} does not exist`);
});

test('a hanging command hook is killed at its timeout with its whole process group', async (t) => {
  const dir = tempDir(t);
  const reaper = processReaper(t);
  const { events, runner, failures } = setup(t);
  // The hook forks a grandchild that would outlive it, records both pids, and hangs.
  runner.setHooks([commandHook('failed', ['sh', '-c', 'sleep 1000 & echo $! > child; echo $$ > self; echo started; wait'], dir, { timeoutMs: 300 })]);
  (events as unknown as LooseEvents).emit(crash);
  const pids = await waitFor(() => (existsSync(join(dir, 'child')) && existsSync(join(dir, 'self')) ? [join(dir, 'child'), join(dir, 'self')].map((p) => Number(readFileSync(p, 'utf8'))) : undefined), { what: 'hook started' });
  for (const p of pids) if (p) reaper.track(p);
  const [f] = await waitFor(() => (failures().length === 1 ? failures() : undefined), { what: 'hook.failed', timeoutMs: 10_000 });
  assert.match(f!.message!, /timed out after 300 ms; its process group was killed/);
  assert.match((f!.output as string), /started/);
  await waitFor(() => pids.every((p) => !isAlive(p)), { what: 'hook and its grandchild gone' });
});

test('a webhook posts a Slack-style body with the event, and headers from the environment', async (t) => {
  const r = await startReceiver(t, ok);
  const events = new EventLog();
  const runner = new HookRunner({ events, executor: inProcessExecutor({ ...process.env, HOOK_TOKEN: 's3cret', HOOK_URL: r.url }) });
  runner.start();
  cleanup(t, () => runner.stop());
  runner.setHooks([webhook('failed', '${HOOK_URL}', { headers: { authorization: 'Bearer ${HOOK_TOKEN}' } })]);
  const sent = (events as unknown as LooseEvents).emit(crash);
  await waitFor(() => runner.stats.succeeded === 1, { what: 'webhook sent' });
  assert.equal(r.received.length, 1);
  const got = r.received[0]!;
  assert.equal(got.headers.authorization, 'Bearer s3cret');
  assert.equal(got.headers['content-type'], 'application/json');
  assert.deepEqual(got.body, { text: '[tend] web/2: replica.failed (exit code 3) — crash loop', event: sent });
});

test('a webhook whose secret is not in tend\'s environment is not sent, and the report names the variable; a default stands in', async (t) => {
  const r = await startReceiver(t, ok);
  const events = new EventLog();
  const seen: TendEvent[] = [];
  events.subscribe((e) => seen.push(e));
  const env: NodeJS.ProcessEnv = { ...process.env, HOOK_URL: r.url };
  delete env['HOOK_TOKEN'];
  const runner = new HookRunner({ events, executor: inProcessExecutor(env) });
  runner.start();
  cleanup(t, () => runner.stop());
  runner.setHooks([webhook('failed', '${HOOK_URL}', { headers: { authorization: 'Bearer ${HOOK_TOKEN}' } }), webhook('failed', '${HOOK_URL}', { headers: { 'x-team': '${HOOK_TEAM:-ops}' } })]);
  (events as unknown as LooseEvents).emit(crash);
  const [f] = await waitFor(() => { const x = seen.filter((e) => e.type === 'hook.failed'); return x.length === 1 && runner.stats.succeeded === 1 ? x : undefined; }, { what: 'one refused, one sent' });
  assert.equal(f!.message, "hook on replica.failed: not sent: ${HOOK_TOKEN} in its authorization header is not set in tend's environment (`${NAME:-default}` gives a default)");
  assert.deepEqual(r.received.map((x) => x.headers['x-team']), ['ops']);
});

test('a receiver that returns 500 then 200: retried with back-off, and not reported', async (t) => {
  const r = await startReceiver(t, failThenOk(2));
  const { events, runner, failures } = setup(t);
  runner.setHooks([webhook('failed', r.url, { retries: 3 })]);
  (events as unknown as LooseEvents).emit(crash);
  await waitFor(() => runner.stats.succeeded === 1, { what: 'webhook delivered' });
  assert.equal(r.arrivals, 3);
  assert.equal(failures().length, 0);
});

test('a receiver that keeps failing: hook.failed after every retry, with the status and body', async (t) => {
  const r = await startReceiver(t, failThenOk(100));
  const { events, runner, failures } = setup(t);
  runner.setHooks([webhook('failed', r.url, { retries: 2 })]);
  (events as unknown as LooseEvents).emit(crash);
  const [f] = await waitFor(() => (failures().length === 1 ? failures() : undefined), { what: 'hook.failed' });
  assert.equal(r.arrivals, 3);
  assert.match(f!.message!, /HTTP 500 Internal Server Error \(after 3 attempts\)/);
  assert.equal(f!.output, 'try again');
});

test('a receiver that never answers: each attempt gives up at the timeout, then hook.failed', async (t) => {
  const r = await startReceiver(t, never);
  const { events, runner, failures } = setup(t);
  runner.setHooks([webhook('failed', r.url, { retries: 1, timeoutMs: 200 })]);
  (events as unknown as LooseEvents).emit(crash);
  const [f] = await waitFor(() => (failures().length === 1 ? failures() : undefined), { what: 'hook.failed', timeoutMs: 10_000 });
  assert.equal(r.arrivals, 2);
  assert.match(f!.message!, /no answer within 200 ms \(after 2 attempts\)/);
});

test('a slow receiver holds only its own run: other hooks go on meanwhile', async (t) => {
  const dir = tempDir(t);
  const held: import('node:http').ServerResponse[] = [];
  const r = await startReceiver(t, (_req, _n, res) => held.push(res));
  const { events, runner, failures } = setup(t, { concurrency: 2 });
  runner.setHooks([webhook('failed', r.url, { services: ['web'] }), commandHook('failed', ['sh', '-c', 'echo "$TEND_REPLICA" >> ran'], dir, { services: ['api'] })]);
  (events as unknown as LooseEvents).emit(crash);
  for (let i = 0; i < 5; i++) (events as unknown as LooseEvents).emit({ ...crash, service: 'api', replica: i });
  // The webhook is still waiting for its answer while the five commands run in the other slot.
  await waitFor(() => runner.stats.succeeded === 5, { what: 'commands ran beside the slow webhook', timeoutMs: 30_000 });
  assert.equal(held.length, 1, 'the webhook has arrived and is unanswered');
  assert.equal(readFileSync(join(dir, 'ran'), 'utf8'), '0\n1\n2\n3\n4\n');
  held[0]!.end('ok');
  await waitFor(() => runner.stats.succeeded === 6, { what: 'the webhook done', timeoutMs: 30_000 });
  assert.equal(failures().length, 0);
});

test('a full queue drops runs, counts them and reports them once as hook.failed', async (t) => {
  const r = await startReceiver(t, never);
  const { events, runner, failures } = setup(t, { concurrency: 1, queueSize: 3 });
  runner.setHooks([webhook('failed', r.url, { timeoutMs: 200 })]);
  for (let i = 0; i < 10; i++) (events as unknown as LooseEvents).emit({ ...crash, replica: i });
  assert.equal(runner.stats.dropped, 7, 'three queued, seven dropped');
  const overflow = await waitFor(() => failures().find((e) => e.hook === 'queue'), { what: 'overflow report' });
  assert.match(overflow.message!, /hook queue full \(3 waiting, 1 running\): dropped 7 hook runs/);
  await waitFor(() => runner.stats.failed === 3, { what: 'the three queued runs end', timeoutMs: 10_000 });
  assert.equal(failures().filter((e) => e.hook === 'queue').length, 1);
});

test('hooks on hook.failed run, but their own failures do not trigger them again', async (t) => {
  const dir = tempDir(t);
  const { events, runner, failures } = setup(t);
  runner.setHooks([
    commandHook('failed', ['false'], dir),
    commandHook('hook.failed', ['sh', '-c', 'echo x >> ran; exit 1'], dir),
  ]);
  (events as unknown as LooseEvents).emit(crash);
  await waitFor(() => failures().length === 2, { what: 'both failures reported' });
  await runner.idle();
  assert.equal(readFileSync(join(dir, 'ran'), 'utf8'), 'x\n');
  assert.equal(failures().length, 2);
});

/** Tests send hand-written events of any shape. */
type LooseEvents = { emit(e: object): import("../../src/reconcile/events.js").TendEvent };

test('drain: resolves true once what was queued has run; false at its deadline or when cut; stop then reports what was not started and what did not finish', async (t) => {
  const events = new EventLog();
  const seen: TendEvent[] = [];
  events.subscribe((e) => seen.push(e));
  // In the hook host, as the daemon runs them: stop() leaves a run in flight to it.
  const runner = new HookRunner({ events, executor: new HookHost(), concurrency: 1 });
  runner.start();
  cleanup(t, () => runner.stop());
  const failures = () => seen.filter((e) => e.type === 'hook.failed');
  const dir = tempDir(t);
  runner.setHooks([commandHook('failed', ['sh', '-c', `echo $TEND_REPLICA >> ${dir}/ran`], dir)]);
  for (let i = 0; i < 3; i++) (events as unknown as LooseEvents).emit({ ...crash, replica: i });
  assert.equal(await runner.drain(30_000), true);
  assert.deepEqual(readFileSync(join(dir, 'ran'), 'utf8').trim().split('\n'), ['0', '1', '2']);

  // A run that outlasts the drain; its group is killed after the test.
  const pidFile = join(dir, 'slow.pid');
  cleanup(t, () => {
    const pid = existsSync(pidFile) ? Number(readFileSync(pidFile, 'utf8')) : 0;
    if (pid > 0 && isAlive(pid)) process.kill(-pid, 'SIGKILL');
  });
  runner.setHooks([commandHook('failed', ['sh', '-c', `echo $$ > ${pidFile}.tmp && mv ${pidFile}.tmp ${pidFile} && exec sleep 30`], dir, { timeoutMs: 60_000 })]);
  for (let i = 0; i < 3; i++) (events as unknown as LooseEvents).emit({ ...crash, replica: i });
  assert.equal(await runner.drain(100), false, 'the deadline');
  assert.equal(await runner.drain(30_000, Promise.resolve()), false, 'cut (a second Ctrl-C)');
  await waitFor(() => existsSync(pidFile), { what: 'the slow run started' });
  runner.stop();
  const reports = await waitFor(() => (failures().length === 2 ? failures() : undefined), { what: 'the two reports' });
  assert.deepEqual(reports.map((e) => e.message).sort(), [
    'hook on replica.failed: not finished when tend stopped: it goes on in the hook host until it ends or its timeout kills it, and its result is not known',
    'tend stopped with 2 hook runs not started',
  ].sort());
});
