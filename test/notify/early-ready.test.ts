// READY said before tend knows the replica's pid (its spawn not answered yet): the state file must
// record it, and it can only do so with the pid (a record without one adopts nothing), so tend
// writes the state at once at the first change that brings the pid. Left to the coalesced write,
// a kill -9 of tend in those ~250 ms lost READY, and the next tend kept the replica `starting` for
// ever (seen once in a CI run of the kill -9 test in e2e.test.ts). Here the order is forced: the
// runtime's answer to the spawn is held until READY has been folded in.

import { strict as assert } from 'node:assert';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Instance } from '../../src/reconcile/types.js';
import { startSupervisor } from '../helpers/supervisor.js';
import { processReaper, tempDir, waitFor } from '../helpers/index.js';

test('READY said before the spawn is answered is recorded at once, once the replica has its pid', async (t) => {
  const root = tempDir(t, { 'services.d/.keep': '' });
  const dir = join(root, 'services.d');
  const recorded: { pid: number | undefined }[] = [];
  let sup: Awaited<ReturnType<typeof startSupervisor>>['sup'] | undefined;
  const app = (): Instance | undefined => [...(sup?.controller.instances.values() ?? [])].find((i) => i.service === 'app');
  const ts = await startSupervisor(t, dir, join(root, 'state'), {
    // What the daemon does here: write the state file at once. The test notes what it would write.
    onNotifyReady: () => recorded.push({ pid: app()?.pid }),
  });
  sup = ts.sup;
  // The replica is tracked from its spawn: if READY never came, its spawn would never be answered,
  // and no replica.started event would tell startSupervisor's reaper to kill it.
  const reaper = processReaper(t);
  const start = sup.runtime.start.bind(sup.runtime);
  let held = 0;
  sup.runtime.start = async (req, onExit) => {
    const res = await start(req, onExit);
    if (res.ok) {
      reaper.track(res.handle.pgid, true);
      await waitFor(() => app()?.notify?.ready === true, { what: 'READY folded in before the spawn is answered', timeoutMs: 15_000 });
      held++;
    }
    return res;
  };
  writeFileSync(join(dir, 'app.yaml'), ['command: \'systemd-notify --ready; exec sleep 1000\'', 'notify: systemd', 'readiness: { notify: true }', 'stop_timeout: 2s'].join('\n'));
  await ts.waitReady('app', 1, 20_000);
  assert.equal(held, 1, 'the spawn was answered after READY');
  await waitFor(() => recorded.some((r) => r.pid !== undefined), { what: 'the state written with the pid' });
  assert.deepEqual(recorded.map((r) => r.pid !== undefined), [true], 'written once, when the pid was known; not before, when it could not be');
});
