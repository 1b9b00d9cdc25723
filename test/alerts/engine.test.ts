// The alert engine over a real supervisor: restart rate, unhealthy for D and CPU above a threshold,
// each firing once with its labels and summary, from real processes.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import pino from 'pino';
import { Hooks } from '../../src/hooks/index.js';
import { cleanup, specDir } from '../helpers/index.js';
import { startSupervisor } from '../helpers/supervisor.js';

test('restart_rate, unhealthy_for and cpu_high fire once each for the replica concerned, and show as firing', async (t) => {
  const { root, dir, state } = specDir(t, {
    'crashy.yaml': 'command: ["sh", "-c", "sleep 0.05; exit 1"]\nbackoff: { initial: 10ms, max: 20ms }\nmax_restarts: 0\nalerts:\n  restart_rate: { max: 2, window: 1m }\n',
    'sick.yaml': 'command: ["sleep", "1000"]\nreadiness: { exec: ["false"], interval: 50ms, failure_threshold: 1 }\nalerts:\n  unhealthy_for: 200ms\n',
    'busy.yaml': 'command: ["sh", "-c", "while :; do :; done"]\nstop_timeout: 1s\nalerts:\n  cpu_high: { above: 1%, for: 300ms }\n',
  });
  const s = await startSupervisor(t, dir, state, { statsIntervalMs: 100 });
  const hooks = new Hooks({ events: s.sup.events, controller: s.sup.controller, servicesDir: dir, config: join(root, 'none.yaml'), log: pino({ level: 'silent' }), alertIntervalMs: 50 });
  await hooks.start();
  cleanup(t, () => hooks.stop());

  const fired = (alert: string) => s.events.filter((e) => e.type === 'alert.firing' && e.alert === alert);
  for (const [alert, service, summary] of [
    ['restart_rate', 'crashy', /^crashy\/0 restarted \d+ times in 1m \(more than 2\)$/],
    ['unhealthy_for', 'sick', /^sick\/0 has not been ready for 200ms$/],
    ['cpu_high', 'busy', /^busy\/0 uses \d+% CPU, above 1% for 300ms$/],
  ] as const) {
    const [e] = await s.waitFor(() => (fired(alert).length > 0 ? fired(alert) : undefined), `${alert} fired`, 30_000);
    assert.equal(e!.service, service);
    assert.equal(e!.replica, 0);
    assert.match(e!.message!, summary);
    assert.ok(hooks.firing().some((a) => a.alert === alert && a.service === service && a.replica === 0));
  }
  // Still firing, still once: a condition that holds does not fire again.
  for (const alert of ['restart_rate', 'unhealthy_for']) assert.equal(fired(alert).length, 1, alert);
  // No crash loop here (max_restarts: 0 never gives up), so no crash_loop alert.
  assert.equal(fired('crash_loop').length, 0);
});
