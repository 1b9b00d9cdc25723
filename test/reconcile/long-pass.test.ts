// A cold start of many replicas is long (5000 take a minute here). Found at 5000: the whole start
// ran as one pass of the loop, and for its whole length the API did not answer, a SIGTERM waited,
// and the daemon's log dropped lines it could not write. A pass now hands the loop back every
// few tens of milliseconds; seen from the user's side with a real daemon and 400 replicas.
//
// Forks block the loop only where tend forks in process: the fallback when its spawn helpers
// cannot start (TEND_SPAWN_HELPER=0 here). Through the helpers, 400 replicas run before the first
// status answers, and there is no long pass to see.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { specDir, waitFor } from '../helpers/index.js';
import { markedGroups, runningPids, startDaemon } from '../helpers/daemon.js';

const N = 400;

test('during a cold start of 400 replicas, status answers with part of them running, and a SIGTERM stops the start', async (t) => {
  const { dir, state } = specDir(t, { 'w.yaml': `command: ["sleep", "1000"]\nreplicas: ${N}\nstop_timeout: 2s\n` });
  const d = await startDaemon(t, dir, state, { env: { TEND_SPAWN_HELPER: '0' } });
  // Some running, not all: the API was served in the middle of the start.
  const mid = await waitFor(
    async () => {
      const n = runningPids(await d.status(), 'w').length;
      return n > 0 && n < N ? n : undefined;
    },
    { what: `a status with between 1 and ${N - 1} replicas running`, timeoutMs: 60_000, intervalMs: 5 },
  );
  d.child.kill('SIGTERM');
  assert.equal(await d.exited, 0);
  assert.deepEqual(markedGroups(state), [], 'every replica stopped');
  // The shutdown came in the middle of the start: the rest was never spawned (a replica whose turn
  // to fork had not come is dropped, not forked and then stopped).
  const events = readFileSync(join(state, 'events.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { type: string });
  const started = events.filter((e) => e.type === 'replica.started').length;
  assert.ok(started < N, `${started} of ${N} replicas were spawned (${mid} were running when status answered)`);
});
