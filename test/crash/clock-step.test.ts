// The wall clock steps while tend runs: NTP correcting a clock, a VM restored from a snapshot, a
// board without a real-time clock that learns the time after boot, `date -s`. tend's waits are
// lengths of time and must not move with it. The daemon runs under libfaketime (Debian's
// faketime), whose offset file steps the wall clock (CLOCK_REALTIME) of that process and its
// children alone, as the kernel's step does for every process; the monotonic clock goes on.
// Before the fix, a step back of an hour stopped every restart and every probe for that hour,
// and made `stop_timeout` an hour longer; a step forward cut a graceful stop short with SIGKILL.

import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { StatusReport } from '../../src/api/types.js';
import { NODE, ROOT, fixture, isAlive, specDir, waitFor } from '../helpers/index.js';
import { startDaemon } from '../helpers/daemon.js';

const LIBFAKETIME = '/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1';

const lines = (file: string): number => {
  try {
    return readFileSync(file, 'utf8').split('\n').filter(Boolean).length;
  } catch {
    return 0;
  }
};

test('a step of the wall clock, back or forward, moves no restart, probe or stop deadline', { skip: existsSync(LIBFAKETIME) ? false : `no ${LIBFAKETIME} (Debian's faketime; .ci/run installs it)` }, async (t) => {
  const { root, dir, state } = specDir(t, {});
  const offset = join(root, 'clock-offset');
  const step = (to: string) => writeFileSync(offset, `${to}\n`);
  step('+0');
  const probeRuns = join(root, 'probe-runs');
  const bye = join(root, 'bye');
  writeFileSync(join(dir, 'crash.yaml'), ['command: ["sh", "-c", "sleep 0.2; exit 1"]', 'backoff: { initial: 100ms, max: 200ms }', 'max_restarts: 100000'].join('\n'));
  writeFileSync(join(dir, 'probed.yaml'), ['command: ["sleep", "1000"]', 'liveness:', `  exec: ["sh", "-c", "echo x >> ${probeRuns}"]`, '  interval: 100ms'].join('\n'));
  writeFileSync(join(dir, 'stubborn.yaml'), [`command: ${JSON.stringify(fixture('ignore-sigterm.mjs'))}`, 'stop_timeout: 1s'].join('\n'));
  // Takes 2 s to stop after SIGTERM, of the 30 it is given.
  writeFileSync(
    join(dir, 'graceful.yaml'),
    [`command: ["sh", "-c", "trap 'sleep 2; echo bye > ${bye}; exit 0' TERM; while :; do sleep 0.1; done"]`, 'stop_timeout: 30s'].join('\n'),
  );
  const d = await startDaemon(t, dir, state, {
    env: { LD_PRELOAD: LIBFAKETIME, FAKETIME_TIMESTAMP_FILE: offset, FAKETIME_NO_CACHE: '1', FAKETIME_DONT_FAKE_MONOTONIC: '1' },
  });
  const svc = (s: StatusReport, name: string) => s.services.find((x) => x.name === name)!;
  const first = await waitFor(
    async () => {
      const s = await d.status();
      return ['probed', 'stubborn', 'graceful'].every((n) => svc(s, n).ready === 1) && svc(s, 'crash').restarts >= 2 && lines(probeRuns) >= 2 ? s : undefined;
    },
    { what: 'replicas up, crash restarting, probes running', timeoutMs: 30_000 },
  );

  // Back an hour: restarts and probes go on.
  step('-1h');
  const before = { restarts: svc(first, 'crash').restarts, probes: lines(probeRuns) };
  await waitFor(async () => svc(await d.status(), 'crash').restarts >= before.restarts + 3 && lines(probeRuns) >= before.probes + 5, {
    what: 'three more restarts and five more probe runs after the clock went back an hour',
    timeoutMs: 15_000,
  });

  // A stop under way when the clock goes back another hour: SIGKILL still comes at stop_timeout.
  const tend = (...args: string[]) => spawnSync(NODE, [join(ROOT, 'dist/bin/tend.js'), '--state-dir', state, ...args], { encoding: 'utf8', timeout: 30_000 });
  const stubborn = svc(first, 'stubborn').replicas[0]!.pid!;
  assert.equal(tend('stop', 'stubborn').status, 0);
  step('-2h');
  await waitFor(() => !isAlive(stubborn), { what: 'the replica that ignores SIGTERM killed at its 1 s stop_timeout', timeoutMs: 10_000 });

  // A stop under way when the clock jumps three hours forward: the replica still gets its 30 s.
  const graceful = svc(first, 'graceful').replicas[0]!.pid!;
  assert.equal(tend('stop', 'graceful').status, 0);
  step('+1h');
  await waitFor(() => !isAlive(graceful), { what: 'the graceful replica gone', timeoutMs: 20_000 });
  assert.ok(existsSync(bye), 'the graceful replica was killed before its SIGTERM handler finished');
});
