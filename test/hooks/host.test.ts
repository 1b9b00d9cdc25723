// The hook host: runs happen in a helper process, at nice 10; a host that dies fails what it
// carried and is forked again for the next run.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { EventLog } from '../../src/events.js';
import type { TendEvent } from '../../src/api/types.js';
import { HookHost } from '../../src/hooks/host-client.js';
import { HookRunner } from '../../src/hooks/runner.js';
import { cleanup, processReaper, tempDir, waitFor } from '../helpers/index.js';
import { commandHook, webhook } from './hooks.js';
import { ok, startReceiver } from './receivers.js';

function setup(t: import('node:test').TestContext) {
  const events = new EventLog();
  const seen: TendEvent[] = [];
  events.subscribe((e) => seen.push(e));
  const host = new HookHost();
  const runner = new HookRunner({ events, executor: host });
  runner.start();
  const reaper = processReaper(t);
  cleanup(t, () => {
    runner.stop();
  });
  return { events, runner, host, seen, reaper };
}

test('hooks run in the host process, below tend\'s priority, with the event', async (t) => {
  const dir = tempDir(t);
  const r = await startReceiver(t, ok);
  const ctx = setup(t);
  const { events, runner, host, reaper } = ctx;
  runner.setHooks([commandHook('failed', ['sh', '-c', 'cat /proc/$$/stat > stat; printf "%s" "$TEND_EVENT" > event'], dir), webhook('failed', r.url)]);
  const sent = (events as unknown as LooseEvents).emit({ type: 'replica.failed', service: 'web', replica: 1, exit_code: 2 });
  const { seen } = ctx;
  await waitFor(() => runner.stats.succeeded + runner.stats.failed === 2, { what: 'both hooks ended', timeoutMs: 60_000 });
  reaper.track(host.pid);
  assert.deepEqual(seen.filter((e) => e.type === 'hook.failed'), []);
  assert.deepEqual(JSON.parse(readFileSync(join(dir, 'event'), 'utf8')), sent);
  assert.deepEqual((r.received[0]!.body as { event: TendEvent }).event, sent);
  const stat = readFileSync(join(dir, 'stat'), 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  assert.equal(Number(fields[1]), host.pid, 'the hook is a child of the host, not of tend');
  assert.notEqual(host.pid, process.pid);
  assert.equal(Number(fields[16]), 10, 'nice 10');
});

test('a host that dies fails the runs it carried, and the next run gets a new host', async (t) => {
  const dir = tempDir(t);
  const { events, runner, host, seen, reaper } = setup(t);
  runner.setHooks([commandHook('failed', ['sh', '-c', 'echo $$ > hook.pid; exec sleep 30'], dir, { timeoutMs: 20_000 })]);
  (events as unknown as LooseEvents).emit({ type: 'replica.failed', service: 'web', replica: 0 });
  await waitFor(() => existsSync(join(dir, 'hook.pid')) && readFileSync(join(dir, 'hook.pid'), 'utf8').endsWith('\n'), { what: 'hook running', timeoutMs: 60_000 });
  const hookPid = Number(readFileSync(join(dir, 'hook.pid'), 'utf8'));
  reaper.track(hookPid, true);
  const first = host.pid!;
  process.kill(first, 'SIGKILL');
  const f = await waitFor(() => seen.find((e) => e.type === 'hook.failed'), { what: 'hook.failed', timeoutMs: 10_000 });
  assert.match(f.message!, /hook on replica\.failed: the hook host exited \(SIGKILL\)/);
  try {
    process.kill(-hookPid, 'SIGKILL');
  } catch {
    /* gone */
  }
  runner.setHooks([commandHook('failed', ['sh', '-c', 'echo again > again'], dir)]);
  (events as unknown as LooseEvents).emit({ type: 'replica.failed', service: 'web', replica: 0 });
  await waitFor(() => existsSync(join(dir, 'again')), { what: 'the next run', timeoutMs: 60_000 });
  reaper.track(host.pid);
  assert.notEqual(host.pid, first);
});

/** Tests send hand-written events of any shape. */
type LooseEvents = { emit(e: object): import("../../src/reconcile/events.js").TendEvent };
