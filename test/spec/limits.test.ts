// replicas is bounded by what the machine allows, not by a number picked by tend (issue 13).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { machineLimits, replicaLimit } from '../../src/spec/limits.js';
import { loadSpecs, specDir } from '../helpers/spec.js';
import { ROOT } from '../helpers/index.js';

test('the bound is the smallest of pid_max, RLIMIT_NPROC (not for root) and, with probes, RLIMIT_NOFILE', () => {
  const m = { pidMax: 32768, nproc: 4096, nofile: 1024, root: false };
  assert.deepEqual(replicaLimit(false, m).max, 4096 - 300);
  assert.match(replicaLimit(false, m).reason, /RLIMIT_NPROC \(ulimit -u\) is 4096/);
  assert.equal(replicaLimit(false, { ...m, root: true }).max, 32768 - 300, 'the kernel does not apply RLIMIT_NPROC to root');
  assert.equal(replicaLimit(true, m).max, Math.floor((1024 - 256) / 3));
  assert.match(replicaLimit(true, m).reason, /RLIMIT_NOFILE \(ulimit -n\) is 1024/);
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

test('tend validate under a low ulimit -n names the limit for a probed service', { timeout: 60_000 }, (t) => {
  const dir = specDir(t, {
    'web.yaml': 'command: [x]\nreplicas: 200\nreadiness: { tcp: { port: 80 } }\n',
    'bare.yaml': 'command: [x]\nreplicas: 200\n',
  });
  const cli = join(ROOT, 'src/cli/index.ts');
  const r = spawnSync('/bin/sh', ['-c', 'ulimit -n 700 && exec "$@"', 'sh', process.execPath, '--import', 'tsx', cli, 'validate', dir], { encoding: 'utf8', cwd: ROOT });
  assert.equal(r.status, 1, r.stderr);
  const lines = r.stdout.trim().split('\n');
  assert.equal(lines.length, 1, r.stdout);
  assert.match(lines[0]!, /web\.yaml:2:11: replicas must be at most 148 on this machine, got 200: each probed replica may hold 3 file descriptors while its probe runs and tend's RLIMIT_NOFILE \(ulimit -n\) is 700/);
});
