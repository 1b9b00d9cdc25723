// A script runs `tend up -d && tend restart web`: the daemon's socket answering must mean it knows
// its services. The API used to answer before the first read of services.d was over, so a command
// that named a service in a large directory got "unknown service" (404) for a file that was there.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startDaemon } from '../helpers/daemon.js';
import { specDir } from '../helpers/index.js';

test('the first answer of the socket already knows every service in the directory', async (t) => {
  // Enough files that reading them takes a while (no replicas: nothing to start).
  const files: Record<string, string> = {};
  for (let i = 0; i < 1000; i++) files[`svc-${i}.yaml`] = `command: ["sleep", "1000"]\nreplicas: 0\n`;
  const { dir, state } = specDir(t, files);
  const d = await startDaemon(t, dir, state);
  // The very next request after the socket first answered: known (not 404), and with no replica
  // there is nothing to pause.
  await assert.rejects(d.api.act('pause', 'svc-999'), { code: 'NOT_RUNNING', message: 'svc-999 has no running process to pause: it has no replicas' });
  assert.equal((await d.api.act('restart', 'svc-999')).service, 'svc-999');
  const s = await d.api.status();
  assert.equal(s.services.length, 1000);
  await d.api.shutdown();
  assert.equal(await d.exited, 0);
});
