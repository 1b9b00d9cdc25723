// The valid corpus: a spec that uses every field, normalised exactly; the defaults of a minimal
// spec; string commands, paths and env files; several documents per file.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { loadSpecs } from '../helpers/spec.js';

const EVERY_FIELD = `# yaml-language-server: $schema=../schemas/service.schema.json
x-common: &timing
  interval: 2s
  timeout: 1s
command: ["node", "server.js", "--port", "\${PORT}"]
cwd: app
env:
  NODE_ENV: production
  DATABASE_URL: postgres://127.0.0.1:\${DB_PORT}/app
  WORKERS: 4
  DEBUG: false
env_file: [app/.env]
replicas: 3
ports: { PORT: 8080, ADMIN_PORT: 9080 }
depends_on:
  db: healthy
  migrate: completed
readiness:
  http: { url: "http://127.0.0.1:\${PORT}/healthz" }
  <<: *timing
  failure_threshold: 4
  success_threshold: 2
  start_period: 5s
liveness:
  exec: ["./check.sh", "\${PORT}"]
  interval: 1m
restart: on-failure
backoff: { initial: 200ms, max: 1m30s, factor: 1.5, reset_after: 2m }
max_restarts: 0
restart_window: 1h
stop_signal: INT
stop_timeout: 2500
stop_escaped: kill
oneshot: false
update: { strategy: rolling, max_unavailable: 0, max_surge: 2 }
limits: { memory: 512Mi, cpu_percent: 150, max_runtime: 24h }
logs: { max_size: 10M, max_files: 2 }
user: 1000
labels: { team: payments, tier: 1 }
`;

const DEPS = {
  'db.yaml': 'command: [db]\nreadiness:\n  tcp: { port: 5432 }\n',
  'migrate.yaml': 'command: migrate up\noneshot: true\n',
  'app/.env': '# shared\nexport DB_PORT=5432\nNODE_ENV=development\nQUOTED="a \\"b\\"\\n"\nSINGLE=\'$$raw\'\nTRAILING=value # comment\n',
};

test('a spec that uses every field is normalised field by field', async (t) => {
  const { dir, result, problems } = await loadSpecs(t, { 'web.yaml': EVERY_FIELD, ...DEPS });
  assert.deepEqual(problems, []);
  const web = result.services.find((s) => s.name === 'web')!;
  const { hash, ...rest } = web;
  assert.match(hash, /^[0-9a-f]{64}$/);
  assert.deepEqual(rest, {
    name: 'web',
    file: join(dir, 'web.yaml'),
    line: 2,
    command: ['node', 'server.js', '--port', '${PORT}'],
    cwd: join(dir, 'app'),
    env: {
      DB_PORT: '5432',
      NODE_ENV: 'production',
      QUOTED: 'a "b"\n',
      SINGLE: '$$raw',
      TRAILING: 'value',
      DATABASE_URL: 'postgres://127.0.0.1:${DB_PORT}/app',
      WORKERS: '4',
      DEBUG: 'false',
    },
    envFiles: [join(dir, 'app/.env')],
    replicas: 3,
    ports: { PORT: 8080, ADMIN_PORT: 9080 },
    dependsOn: { db: 'healthy', migrate: 'completed' },
    readiness: {
      check: { kind: 'http', url: 'http://127.0.0.1:${PORT}/healthz' },
      intervalMs: 2000,
      timeoutMs: 1000,
      failureThreshold: 4,
      successThreshold: 2,
      startPeriodMs: 5000,
    },
    liveness: {
      check: { kind: 'exec', command: ['./check.sh', '${PORT}'] },
      intervalMs: 60_000,
      timeoutMs: 1000,
      failureThreshold: 3,
      successThreshold: 1,
      startPeriodMs: 0,
    },
    restart: 'on-failure',
    backoff: { initialMs: 200, maxMs: 90_000, factor: 1.5, resetAfterMs: 120_000 },
    maxRestarts: 0,
    restartWindowMs: 3_600_000,
    stopSignal: 'SIGINT',
    stopTimeoutMs: 2500,
    stopEscaped: 'kill',
    oneshot: false,
    update: { strategy: 'rolling', maxUnavailable: 0, maxSurge: 2 },
    limits: { memoryBytes: 512 * 1024 * 1024, cpuPercent: 150, maxRuntimeMs: 86_400_000 },
    logs: { maxSizeBytes: 10_000_000, maxFiles: 2 },
    user: '1000',
    labels: { team: 'payments', tier: '1' },
  });
  assert.deepEqual([...result.files.values()].sort(), [['db'], ['migrate'], ['web']]);
});

test('a minimal spec gets every default', async (t) => {
  const { dir, result, problems } = await loadSpecs(t, { 'web.yaml': 'command: [node, s.js]\n' });
  assert.deepEqual(problems, []);
  const { hash, ...web } = result.services[0]!;
  assert.ok(hash);
  assert.deepEqual(web, {
    name: 'web',
    file: join(dir, 'web.yaml'),
    line: 1,
    command: ['node', 's.js'],
    cwd: dir,
    env: {},
    envFiles: [],
    replicas: 1,
    ports: {},
    dependsOn: {},
    restart: 'always',
    backoff: { initialMs: 100, maxMs: 30_000, factor: 2, resetAfterMs: 60_000 },
    maxRestarts: 10,
    restartWindowMs: 300_000,
    stopSignal: 'SIGTERM',
    stopTimeoutMs: 10_000,
    stopEscaped: 'keep',
    oneshot: false,
    update: { strategy: 'rolling', maxUnavailable: 1, maxSurge: 0 },
    limits: { memoryBytes: 0, cpuPercent: 0, maxRuntimeMs: 0 },
    logs: { maxSizeBytes: 10 * 1024 * 1024, maxFiles: 5 },
    labels: {},
  });
});

test('probe defaults: readiness every 2s, liveness every 10s, tcp host 127.0.0.1', async (t) => {
  const { result, problems } = await loadSpecs(t, {
    'web.yaml': 'command: x\nreadiness:\n  tcp: { port: "${PORT}" }\nliveness:\n  tcp: { host: localhost, port: 80 }\n',
  });
  assert.deepEqual(problems, []);
  const web = result.services[0]!;
  assert.deepEqual(web.readiness, { check: { kind: 'tcp', host: '127.0.0.1', port: '${PORT}' }, intervalMs: 2000, timeoutMs: 1000, failureThreshold: 3, successThreshold: 1, startPeriodMs: 0 });
  assert.deepEqual(web.liveness?.check, { kind: 'tcp', host: 'localhost', port: '80' });
  assert.equal(web.liveness?.intervalMs, 10_000);
});

test('a string command runs under /bin/sh -c; a oneshot restarts on failure by default', async (t) => {
  const { result } = await loadSpecs(t, { 'job.yaml': 'command: echo "$HOME" && exit 0\noneshot: true\n' });
  assert.deepEqual(result.services[0]!.command, ['/bin/sh', '-c', 'echo "$HOME" && exit 0']);
  assert.equal(result.services[0]!.restart, 'on-failure');
});

test('an absolute cwd is kept; a cwd starting with ${VAR} is left for expansion', async (t) => {
  const { result } = await loadSpecs(t, {
    'a.yaml': 'command: x\ncwd: /srv/a\n',
    'b.yaml': 'command: x\ncwd: ${APP_HOME}/b\n',
  });
  assert.deepEqual(result.services.map((s) => s.cwd), ['/srv/a', '${APP_HOME}/b']);
});

test('several documents in one file, each with its name; a trailing --- is ignored', async (t) => {
  const { result, problems } = await loadSpecs(t, {
    'stack.yml': 'name: api\ncommand: x\n---\nname: worker\ncommand: y\nreplicas: 2\n---\n',
  });
  assert.deepEqual(problems, []);
  assert.deepEqual(result.services.map((s) => [s.name, s.line, s.replicas]), [['api', 1, 1], ['worker', 4, 2]]);
  assert.deepEqual([...result.files.values()], [['api', 'worker']]);
});

test('env wins over env_file, later env files win over earlier ones', async (t) => {
  const { result } = await loadSpecs(t, {
    'web.yaml': 'command: x\nenv_file: [a.env, b.env]\nenv: { C: env }\n',
    'a.env': 'A=a\nB=a\nC=a\n',
    'b.env': 'B=b\nC=b\n',
  });
  assert.deepEqual(result.services[0]!.env, { A: 'a', B: 'b', C: 'env' });
});

test('env_file entries that ports or TEND_* set are dropped: those win per replica', async (t) => {
  const { result, problems } = await loadSpecs(t, {
    'web.yaml': 'command: x\nports: { PORT: 8000 }\nenv_file: .env\n',
    '.env': 'PORT=3000\nTEND_REPLICA=9\nKEEP=1\n',
  });
  assert.deepEqual(problems, []);
  assert.deepEqual(result.services[0]!.env, { KEEP: '1' });
});
