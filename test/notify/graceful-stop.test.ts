// A replica goes on talking while tend stops it, as under systemd (whose notify socket lives until
// the service is gone): STOPPING=1 and STATUS= sent from its SIGTERM handler are accepted and
// recorded, by a Python sender, systemd-notify and `tend notify` alike, and it exits as it drained.

import { strict as assert } from 'node:assert';
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { TendEvent } from '../../src/api/types.js';
import { BUILT, FIXTURE_BIN, NODE, specDir, waitFor } from '../helpers/index.js';
import { runningPids, startDaemon } from '../helpers/daemon.js';

test('STOPPING=1 and STATUS= said while the replica drains are accepted until its group is gone', async (t) => {
  const { dir, state } = specDir(t, {});
  const spec = (command: string) => [`command: ${command}`, 'notify: systemd', 'readiness: { notify: true, timeout: 30s }', 'stop_timeout: 5s'].join('\n');
  writeFileSync(join(dir, 'py.yaml'), spec(JSON.stringify(['python3', join(FIXTURE_BIN, 'sd-drain.py')])));
  // The shells exit 1 when their sender fails, 0 when it was heard.
  writeFileSync(join(dir, 'sh.yaml'), spec(`'trap "systemd-notify --status=draining || exit 1; exit 0" TERM; systemd-notify --ready; while :; do sleep 0.05; done'`));
  writeFileSync(join(dir, 'cli.yaml'), spec(`'trap "${NODE} ${BUILT} notify --status draining || exit 1; exit 0" TERM; ${NODE} ${BUILT} notify --ready; while :; do sleep 0.05; done'`));
  const d = await startDaemon(t, dir, state);
  await d.converged((s) => runningPids(s).length === 3 && s.services.every((x) => x.replicas[0]?.ready === true), 30_000);

  for (const name of ['py', 'sh', 'cli']) await d.api.act('stop', name);
  const of = (h: TendEvent[], type: string, name: string) => h.filter((e) => e.type === type && e.service === name);
  const history = await waitFor(
    async () => {
      const h = await d.api.eventHistory(500);
      return ['py', 'sh', 'cli'].every((name) => of(h, 'replica.stopped', name).length === 1) ? h : undefined;
    },
    { what: 'all three stopped', timeoutMs: 30_000 },
  );
  for (const name of ['py', 'sh', 'cli']) {
    const statuses = of(history, 'replica.status', name).map((e) => `${e.reason} ${e.message}`);
    assert.ok(statuses.includes('NotifyStatus draining'), `${name}: STATUS=draining recorded (${JSON.stringify(statuses)})`);
    assert.equal(of(history, 'replica.exited', name)[0]!.exit_code, 0, `${name} drained and exited 0 (its sender was heard)`);
  }
  assert.ok(of(history, 'replica.status', 'py').some((e) => e.reason === 'NotifyStopping' && e.message === 'STOPPING'), 'STOPPING=1 recorded');
  // Once its group is gone, its socket goes (and `tend notify` is told the token is unknown).
  await waitFor(() => readdirSync(join(state, 'notify')).every((f) => !f.endsWith('.sd')), { what: 'the datagram sockets removed' });
  await d.api.shutdown();
  await d.exited;
});
