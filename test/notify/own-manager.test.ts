// tend run by a systemd unit of Type=notify (src/service-manager.ts), with a receiver that holds its
// end as systemd does (a datagram socket with SO_PASSCRED: each message comes with its sender's pid,
// which systemd checks against the unit's main pid). Before, tend said nothing (systemd killed it
// after TimeoutStartSec), and every replica inherited NOTIFY_SOCKET, the watchdog's and socket
// activation's variables, so an sd_notify-aware replica spoke to systemd in tend's name.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fixture, specDir, waitFor } from '../helpers/index.js';
import { startDaemon } from '../helpers/daemon.js';
import { startNotifyReceiver } from '../helpers/notify-receiver.js';

function environOf(pid: number): Map<string, string> {
  const vars = readFileSync(`/proc/${pid}/environ`, 'latin1').split('\0').filter(Boolean);
  return new Map(vars.map((v) => [v.slice(0, v.indexOf('=')), v.slice(v.indexOf('=') + 1)]));
}

test('under systemd Type=notify: READY=1, STATUS=, WATCHDOG=1 and STOPPING=1 from tend\'s own pid; nothing tend starts inherits systemd\'s variables', { timeout: 120_000 }, async (t) => {
  const { root, dir, state } = specDir(t, {
    'plain.yaml': 'command: ["sleep", "1000"]\nstop_timeout: 2s\n',
    'aware.yaml': 'command: ["sleep", "1000"]\nnotify: systemd\nstop_timeout: 2s\n',
  });
  const socket = join(root, 'systemd-notify');
  const heard = await startNotifyReceiver(t, socket);

  const systemd = { NOTIFY_SOCKET: socket, WATCHDOG_USEC: '400000', LISTEN_FDS: '1', LISTEN_PID: '1', LISTEN_FDNAMES: 'web' };
  const d = await startDaemon(t, dir, state, { env: systemd });
  const ready = await waitFor(() => heard.find((m) => m.text.startsWith('READY=1')), { what: 'READY=1' });
  assert.equal(ready.pid, d.pid, 'sent by tend itself (NotifyAccess=main)');
  assert.equal(ready.text, `READY=1\nSTATUS=supervising 2 services from ${dir}\nMAINPID=${d.pid}`);
  await waitFor(() => heard.some((m) => /^STATUS=.*aware 1\/1 ready.*plain 1\/1 ready/.test(m.text)), { what: 'STATUS= with the progress line' });
  await waitFor(() => heard.filter((m) => m.text === 'WATCHDOG=1').length >= 2, { what: 'two WATCHDOG=1, at half the period' });
  assert.ok(heard.every((m) => m.pid === d.pid), 'every message from tend\'s pid');

  const s = await d.converged();
  for (const svc of s.services) {
    const env = environOf(svc.replicas[0]!.pid!);
    for (const name of ['WATCHDOG_USEC', 'WATCHDOG_PID', 'LISTEN_FDS', 'LISTEN_PID', 'LISTEN_FDNAMES']) assert.ok(!env.has(name), `${svc.name} inherits ${name}`);
    assert.notEqual(env.get('NOTIFY_SOCKET'), socket, `${svc.name} has systemd's NOTIFY_SOCKET`);
    if (svc.name === 'plain') assert.ok(!env.has('NOTIFY_SOCKET'));
    else assert.match(env.get('NOTIFY_SOCKET') ?? '', /\/notify\//, 'a notify: systemd replica gets tend\'s own socket');
  }

  d.child.kill('SIGTERM');
  await waitFor(() => heard.find((m) => m.text.startsWith('STOPPING=1')), { what: 'STOPPING=1' });
  assert.equal(await d.exited, 0);
});

test('systemctl stop under KillMode=control-group (SIGTERM to tend and every replica): a replica that exits before tend stops it is stopped, not backed off', { timeout: 120_000 }, async (t) => {
  // systemd signals every process of the unit at once; which exits tend reads before its own
  // SIGTERM is a race. Made certain here: tend stops `front` first (it depends on w), which ignores
  // SIGTERM for its stop_timeout, and the w replicas are signalled meanwhile.
  const { dir, state } = specDir(t, {
    'w.yaml': 'command: ["sleep", "1000"]\nreplicas: 3\nstop_timeout: 2s\n',
    'front.yaml': `command: ${JSON.stringify(fixture('ignore-sigterm.mjs'))}\ndepends_on: [w]\nstop_timeout: 3s\n`,
  });
  const d = await startDaemon(t, dir, state);
  const s = await d.converged((r) => r.services.every((x) => x.ready === x.replicas_desired));
  const workers = s.services.find((x) => x.name === 'w')!.replicas.map((r) => r.pid!);
  const events = () => readFileSync(join(state, 'events.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { type: string; service?: string; pid?: number });
  process.kill(d.pid, 'SIGTERM');
  await waitFor(() => events().some((e) => e.type === 'replica.stopping' && e.service === 'front'), { what: 'tend stopping front' });
  for (const pid of workers) process.kill(pid, 'SIGTERM');
  assert.equal(await d.exited, 0);
  const after = events().slice(events().findIndex((e) => e.type === 'replica.stopping'));
  assert.deepEqual(after.filter((e) => e.type === 'replica.backoff'), [], 'no back-off while tend stops');
  for (const pid of workers) assert.ok(after.some((e) => e.type === 'replica.stopped' && e.pid === pid), `replica ${pid} stopped`);
});
