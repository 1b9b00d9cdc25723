// replicas is bounded by what the machine allows, not by a number picked by tend (issue 13).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { machineLimits, replicaLimit } from '../../src/spec/limits.js';
import { loadSpecs } from '../helpers/spec.js';

test('the bound is the smaller of pid_max and RLIMIT_NPROC (not for root); descriptors are not a bound', () => {
  const m = { pidMax: 32768, nproc: 4096, nofile: 1024, root: false };
  assert.deepEqual(replicaLimit(false, m).max, 4096 - 300);
  assert.match(replicaLimit(false, m).reason, /RLIMIT_NPROC \(ulimit -u\) is 4096/);
  assert.equal(replicaLimit(false, { ...m, root: true }).max, 32768 - 300, 'the kernel does not apply RLIMIT_NPROC to root');
  // Probes short of descriptors fail with EMFILE and are retried (test/crash/faults.test.ts).
  assert.equal(replicaLimit(true, m).max, 4096 - 300);
  assert.equal(replicaLimit(false, { pidMax: undefined, nproc: undefined, nofile: undefined, root: false }).max, Number.MAX_SAFE_INTEGER);
});

test('this machine\'s limits are read from /proc', () => {
  const m = machineLimits();
  assert.ok(m.pidMax !== undefined && m.pidMax >= 301, `pid_max ${m.pidMax}`);
  assert.ok(m.nofile !== undefined && m.nofile > 0);
});

test('10,000 replicas are not refused on a machine that allows them', async (t) => {
  const limit = replicaLimit(false);
  if (limit.max < 10_000) return t.skip(`this machine allows ${limit.max}: ${limit.reason}`);
  const { problems, result } = await loadSpecs(t, { 'web.yaml': 'command: [sleep, "1000"]\nreplicas: 10000\n' });
  assert.deepEqual(problems, []);
  assert.equal(result.services[0]!.replicas, 10_000);
});
