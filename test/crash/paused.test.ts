// tend stopped and continued, as Ctrl-Z and `fg` do to a foreground `tend up` (and SIGSTOP, a
// debugger, a paused VM or container): the replicas ran on meanwhile. Their heartbeats, and the
// answers of the probes that were in flight, wait in tend's sockets and pipes; tend's timers,
// which run before it reads them, must not take its own absence for theirs. Before the fix, both
// replicas that had sent WATCHDOG=1 every 200 ms all along were "stale" and restarted the moment
// tend went on, and a probe that had answered during the pause "timed out".

import { strict as assert } from 'node:assert';
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { test } from 'node:test';
import type { TendEvent } from '../../src/api/types.js';
import { cleanup, procState, specDir, waitFor } from '../helpers/index.js';
import { startDaemon } from '../helpers/daemon.js';

const lines = (file: string): number => {
  try {
    return readFileSync(file, 'utf8').split('\n').filter(Boolean).length;
  } catch {
    return 0;
  }
};

/**
 * Stops the daemon for `ms` and continues it, as Ctrl-Z and `fg` do: Ctrl-Z stops the foreground
 * process group, and the daemon's helpers and replicas lead groups of their own and run on. It is
 * stopped while it waits for events (epoll_wait): the usual case, and the one in which its timers
 * run first when it goes on (the wait returns EINTR after SIGCONT). Returns when it went on.
 */
async function pause(pid: number, ms: number): Promise<number> {
  // Where the kernel hides wchan (it reads "0"), asleep is the best there is to go on.
  const waiting = () => {
    const wchan = readFileSync(`/proc/${pid}/wchan`, 'latin1');
    return wchan === 'do_epoll_wait' || (wchan === '0' && procState(pid) === 'S');
  };
  await waitFor(waiting, { what: 'the daemon waiting for events', timeoutMs: 10_000, intervalMs: 1 });
  process.kill(pid, 'SIGSTOP');
  try {
    // The pause itself, the scenario's input (three watchdog periods, more than a probe timeout): not a
    // wait for a condition.
    await new Promise((resolve) => setTimeout(resolve, ms));
  } finally {
    process.kill(pid, 'SIGCONT');
  }
  return Date.now();
}

test('tend stopped for 3 s and continued: replicas that kept beating and probes that answered meanwhile are not failed', async (t) => {
  const { root, dir, state } = specDir(t, {});
  // An HTTP endpoint that answers after 600 ms, outside tend (it runs on while tend is stopped).
  const answered = join(root, 'http-answers');
  const pending = new Set<NodeJS.Timeout>();
  const server = createServer((_req, res) => {
    const timer = setTimeout(() => {
      pending.delete(timer);
      res.writeHead(200).end('ok');
      appendFileSync(answered, 'x\n');
    }, 600);
    pending.add(timer);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  // Before the directory is removed: an answer due then would write into it as it goes.
  cleanup(t, () => {
    for (const timer of pending) clearTimeout(timer);
    server.close();
  });
  const port = (server.address() as { port: number }).port;
  const execRuns = join(root, 'exec-runs');
  writeFileSync(
    join(dir, 'beat.yaml'),
    ['command: ["sh", "-c", "while :; do systemd-notify WATCHDOG=1; sleep 0.2; done"]', 'notify: systemd', 'watchdog: 1s', 'replicas: 2'].join('\n'),
  );
  // Each probe takes 600 ms of its 2 s and they follow each other closely: one is most likely in
  // flight when tend stops, for longer than its timeout. One failure restarts the replica. (With a
  // 1 s timeout, a loaded 2-core CI machine once delayed the 600 ms answer past it, after the
  // pause: the slack is for the machine, the pause still outlasts the timeout.)
  writeFileSync(
    join(dir, 'probed.yaml'),
    [
      'command: ["sleep", "1000"]',
      'liveness:',
      `  exec: ["sh", "-c", "sleep 0.6; echo x >> ${execRuns}"]`,
      '  interval: 50ms',
      '  timeout: 2s',
      '  failure_threshold: 1',
    ].join('\n'),
  );
  writeFileSync(
    join(dir, 'web.yaml'),
    ['command: ["sleep", "1000"]', 'liveness:', `  http: { url: "http://127.0.0.1:${port}/slow" }`, '  interval: 50ms', '  timeout: 2s', '  failure_threshold: 1'].join('\n'),
  );
  const d = await startDaemon(t, dir, state);
  const before = await d.converged((s) => s.services.every((x) => x.replicas.every((r) => r.ready)), 30_000);
  const pids = before.services.flatMap((s) => s.replicas.map((r) => `${s.name}/${r.index}=${r.pid}`)).sort();
  await waitFor(() => lines(execRuns) >= 2 && lines(answered) >= 2, { what: 'two runs of each probe', timeoutMs: 15_000 });

  const stoppedAt = { exec: lines(execRuns), http: lines(answered) };
  await pause(d.pid, 3000);
  // The replicas went on while tend was stopped; then tend goes on too, and probes run again.
  await waitFor(() => lines(execRuns) >= stoppedAt.exec + 3 && lines(answered) >= stoppedAt.http + 3, {
    what: 'three probes of each kind after tend went on',
    timeoutMs: 20_000,
  });
  const messages = async () => [...(await d.api.metrics()).matchAll(/^tend_notify_messages_total\{[^}]*\} (\d+)/gm)].reduce((n, m) => n + Number(m[1]), 0);
  const base = await messages();
  await waitFor(async () => (await messages()) - base >= 10, { what: '10 more heartbeats read', timeoutMs: 20_000 });

  const failed = (await d.api.eventHistory(500)).filter((e: TendEvent) => ['replica.stale', 'replica.unhealthy', 'replica.stopping'].includes(e.type));
  assert.deepEqual(
    failed.map((e) => `${e.type} ${e.service}/${e.replica}: ${e.message}`),
    [],
  );
  const after = await d.status();
  assert.deepEqual(after.services.flatMap((s) => s.replicas.map((r) => `${s.name}/${r.index}=${r.pid}`)).sort(), pids);
  assert.ok(after.services.every((s) => s.restarts === 0));
});

test('tend stopped for 3 s and continued: a replica that fell silent meanwhile, and a probe that never answers, still fail', async (t) => {
  const { root, dir, state } = specDir(t, {});
  // Answers until `hang` is set, then never.
  let hang = false;
  const server = createServer((_req, res) => {
    if (!hang) res.writeHead(200).end('ok');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanup(t, () => server.closeAllConnections());
  cleanup(t, () => server.close());
  const port = (server.address() as { port: number }).port;
  const quiet = join(root, 'quiet');
  // Beats until `quiet` exists, then says nothing more.
  writeFileSync(
    join(dir, 'beat.yaml'),
    [`command: ["sh", "-c", "while [ ! -f ${quiet} ]; do systemd-notify WATCHDOG=1; sleep 0.2; done; exec sleep 1000"]`, 'notify: systemd', 'watchdog: 1s'].join('\n'),
  );
  writeFileSync(join(dir, 'hung.yaml'), ['command: ["sleep", "1000"]', 'liveness:', `  http: { url: "http://127.0.0.1:${port}/" }`, '  interval: 100ms', '  timeout: 1s', '  failure_threshold: 1'].join('\n'));
  const d = await startDaemon(t, dir, state);
  await d.converged((s) => s.services.every((x) => x.replicas.every((r) => r.ready)), 30_000);
  writeFileSync(quiet, '');
  hang = true;
  const wentOn = await pause(d.pid, 3000);
  // Judged by the time tend listened: within a watchdog period, and a probe timeout and its
  // second look, of going on.
  const failures = await waitFor(
    async () => {
      const h = await d.api.eventHistory(500);
      const stale = h.find((e) => e.type === 'replica.stale' && e.service === 'beat');
      const unhealthy = h.find((e) => e.type === 'replica.unhealthy' && e.service === 'hung' && Date.parse(e.ts) >= wentOn);
      return stale && unhealthy ? { stale, unhealthy } : undefined;
    },
    { what: 'beat stale and hung unhealthy', timeoutMs: 20_000 },
  );
  assert.ok(Date.parse(failures.stale.ts) >= wentOn, `stale at ${failures.stale.ts}, before tend went on`);
  assert.match(String(failures.unhealthy.message), /timed out after 1000 ms/);
});
