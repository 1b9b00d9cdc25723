// The docker compose spellings (issue 16): each either means the same in tend and is read, or is
// refused with tend's key named. One test per key of the table in docs/spec.md.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadSpecs } from '../helpers/spec.js';

const load = async (t: Parameters<typeof loadSpecs>[0], body: string, extra: Record<string, string> = {}) =>
  loadSpecs(t, { 'web.yaml': `command: [x]\n${body}`, ...extra });

test('environment as a mapping is env', async (t) => {
  const { problems, result } = await load(t, 'environment:\n  A: "1"\n  B: two\n');
  assert.deepEqual(problems, []);
  assert.deepEqual(result.services[0]!.env, { A: '1', B: 'two' });
});

test('environment and env as a KEY=VALUE list; a bare KEY passes tend\'s own value through', async (t) => {
  const { problems, result } = await load(t, 'environment:\n  - A=1\n  - B=x=y\n  - HOME\n');
  assert.deepEqual(problems, []);
  assert.deepEqual(result.services[0]!.env, { A: '1', B: 'x=y' });
  const listed = await load(t, 'env: [C=3]\n');
  assert.deepEqual(listed.result.services[0]!.env, { C: '3' });
});

test('problems in a list-form environment point at the list item', async (t) => {
  const { problems } = await load(t, 'environment:\n  - A=1\n  - 1B=2\n  - C=${\n  - PORT=1\nports: { PORT: 8000 }\n');
  assert.deepEqual(problems, [
    'web.yaml:4:5: environment[1] must be KEY=VALUE with a variable name as KEY, got "1B=2"',
    'web.yaml:5:5: environment[2]: "${" at offset 0 must be followed by a variable name (write $$ for a literal $)',
    'web.yaml:6:5: environment[3] is also in ports, which sets it per replica; keep one of them',
  ]);
});

test('environment beside env is refused', async (t) => {
  const { problems } = await load(t, 'env: { A: "1" }\nenvironment: { B: "2" }\n');
  assert.deepEqual(problems, ['web.yaml:3:1: environment and env mean the same; keep one of them']);
});

test('working_dir is cwd', async (t) => {
  const { problems, result } = await load(t, 'working_dir: /srv/app\n');
  assert.deepEqual(problems, []);
  assert.equal(result.services[0]!.cwd, '/srv/app');
});

test('stop_grace_period is stop_timeout, and its problems name it', async (t) => {
  const { problems, result } = await load(t, 'stop_grace_period: 1m30s\n');
  assert.deepEqual(problems, []);
  assert.equal(result.services[0]!.stopTimeoutMs, 90_000);
  const bad = await load(t, 'stop_grace_period: soon\n');
  assert.equal(bad.problems.length, 1);
  assert.match(bad.problems[0]!, /^web\.yaml:2:20: stop_grace_period must be a duration/);
});

test('healthcheck is readiness: test CMD, CMD-SHELL or a string; retries is failure_threshold', async (t) => {
  const { problems, result } = await load(t, 'healthcheck:\n  test: ["CMD", "curl", "-f", "http://127.0.0.1/"]\n  interval: 5s\n  timeout: 2s\n  retries: 4\n  start_period: 10s\n');
  assert.deepEqual(problems, []);
  const r = result.services[0]!.readiness!;
  assert.deepEqual(r.check, { kind: 'exec', command: ['curl', '-f', 'http://127.0.0.1/'] });
  assert.deepEqual([r.intervalMs, r.timeoutMs, r.failureThreshold, r.startPeriodMs], [5000, 2000, 4, 10_000]);
  const shell = await load(t, 'healthcheck:\n  test: ["CMD-SHELL", "pg_isready || exit 1"]\n');
  assert.deepEqual(shell.result.services[0]!.readiness!.check, { kind: 'exec', command: ['/bin/sh', '-c', 'pg_isready || exit 1'] });
  const text = await load(t, 'healthcheck:\n  test: pg_isready\n');
  assert.deepEqual(text.result.services[0]!.readiness!.check, { kind: 'exec', command: ['/bin/sh', '-c', 'pg_isready'] });
});

test('healthcheck problems point at what the user wrote', async (t) => {
  const { problems } = await load(t, 'healthcheck:\n  test: ["CMD", ""]\n  retries: 0\n  interval: often\n');
  assert.deepEqual(problems, [
    'web.yaml:3:17: healthcheck.test[1] (the program) must not be empty',
    'web.yaml:4:12: healthcheck.retries must be an integer >= 1, got 0',
    'web.yaml:5:13: healthcheck.interval must be a duration like 150ms, 2s, 5m, 1h30m or a number of milliseconds, got "often"',
  ]);
  const both = await load(t, 'readiness: { exec: [x] }\nhealthcheck: { test: [CMD, y] }\n');
  assert.deepEqual(both.problems, ['web.yaml:3:1: healthcheck and readiness mean the same here; keep readiness']);
});

test('deploy.replicas is replicas; other deploy keys are refused by name', async (t) => {
  const { problems, result } = await load(t, 'deploy:\n  replicas: 3\n');
  assert.deepEqual(problems, []);
  assert.equal(result.services[0]!.replicas, 3);
  const other = await load(t, 'deploy:\n  replicas: 2\n  resources: {}\n');
  assert.deepEqual(other.problems, ["web.yaml:4:3: deploy.resources is not read by tend; only deploy.replicas is (tend's own keys: limits, update, restart)"]);
});

test('depends_on with compose conditions', async (t) => {
  const files = { 'db.yaml': 'command: [db]\n', 'job.yaml': 'command: [job]\noneshot: true\n', 'c.yaml': 'command: [c]\n' };
  const { problems, result } = await load(
    t,
    'depends_on:\n  db: { condition: service_healthy }\n  job:\n    condition: service_completed_successfully\n  c: service_started\n',
    files,
  );
  assert.deepEqual(problems, []);
  assert.deepEqual(result.services.find((s) => s.name === 'web')!.dependsOn, { db: 'healthy', job: 'completed', c: 'started' });
  const bad = await load(t, 'depends_on:\n  db: { condition: service_ready, restart: true }\n', files);
  assert.deepEqual(bad.problems, [
    'web.yaml:3:20: depends_on.db.condition must be one of "started", "healthy", "completed", got "service_ready"',
    'web.yaml:3:35: depends_on.db.restart is not read by tend; only condition is (started, healthy or completed)',
  ]);
});

test('list-form ports (HOST:CONTAINER) are refused with the mapping form shown', async (t) => {
  const { problems } = await load(t, 'ports: ["8080:80"]\n');
  assert.equal(problems.length, 1);
  assert.match(problems[0]!, /^web\.yaml:2:8: ports in tend is a mapping of variable name to base port, e\.g\. ports: \{ PORT: 8080 \}/);
});

test('restart: "no" is never; unless-stopped is refused with always named', async (t) => {
  const { problems, result } = await load(t, 'restart: "no"\n');
  assert.deepEqual(problems, []);
  assert.equal(result.services[0]!.restart, 'never');
  const bad = await load(t, 'restart: unless-stopped\n');
  assert.match(bad.problems[0]!, /^web\.yaml:2:10: restart: unless-stopped is a docker compose value; in tend use always/);
});

test('container keys (image, build, volumes, ...) are refused with what tend does instead', async (t) => {
  const { problems } = await load(t, 'image: nginx\nvolumes: [./x:/x]\n');
  assert.deepEqual(problems, [
    'web.yaml:2:1: "image" is a docker compose key that tend does not use: tend runs a process, not a container image: set `command:` to the program to run',
    'web.yaml:3:1: "volumes" is a docker compose key that tend does not use: tend runs processes on this machine, which see its files directly',
  ]);
});

test('depends_on: [nope] is reported even when the same file has another problem', async (t) => {
  const { problems } = await loadSpecs(t, { 'web.yaml': 'command: [x]\nreplicas: -1\ndepends_on: [nope, db]\n', 'db.yaml': 'command: [db]\n' });
  assert.deepEqual(problems, [
    'web.yaml:2:11: replicas must be an integer >= 0, got -1',
    'web.yaml:3:14: depends on "nope", which is not defined',
  ]);
});
