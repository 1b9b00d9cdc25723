// Per-replica expansion: TEND_* variables, ports, ${VAR}, ${VAR:-default}, $$, and the precedence
// between tend's environment, env and the per-replica variables.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { expandReplica } from '../../src/spec/expand.js';
import { interpolate, templateError } from '../../src/spec/template.js';
import { service } from '../helpers/spec.js';

test('every replica gets TEND_SERVICE, TEND_REPLICA, TEND_REPLICAS and its own ports', () => {
  const spec = service('web', { replicas: 3, ports: { PORT: 8080, ADMIN_PORT: 9090 } });
  const launches = [0, 1, 2].map((i) => expandReplica(spec, i, {}));
  assert.deepEqual(
    launches.map((l) => [l.index, l.env.TEND_SERVICE, l.env.TEND_REPLICA, l.env.TEND_REPLICAS, l.env.PORT, l.env.ADMIN_PORT]),
    [
      [0, 'web', '0', '3', '8080', '9090'],
      [1, 'web', '1', '3', '8081', '9091'],
      [2, 'web', '2', '3', '8082', '9092'],
    ],
  );
});

test('env values see the base env, ports, TEND_* and earlier env entries', () => {
  const spec = service('web', {
    replicas: 2,
    ports: { PORT: 8080 },
    env: {
      HOST: '127.0.0.1',
      URL: 'http://${HOST}:${PORT}/r${TEND_REPLICA}',
      DATA: '${HOME}/data',
      LATER: '${NOT_YET}',
      NOT_YET: 'x',
    },
  });
  const env = expandReplica(spec, 1, { HOME: '/home/u', PATH: '/bin' }).env;
  assert.equal(env.URL, 'http://127.0.0.1:8081/r1');
  assert.equal(env.DATA, '/home/u/data');
  assert.equal(env.LATER, '', 'a variable defined further down is not visible yet');
  assert.equal(env.PATH, '/bin');
});

test('ports and TEND_* override the same names in the base environment', () => {
  const env = expandReplica(service('web', { ports: { PORT: 7000 } }), 0, { PORT: '1', TEND_REPLICA: '9' }).env;
  assert.equal(env.PORT, '7000');
  assert.equal(env.TEND_REPLICA, '0');
});

test('spec env overrides the base environment; undefined base values are left out', () => {
  const env = expandReplica(service('web', { env: { NODE_ENV: 'production' } }), 0, { NODE_ENV: 'dev', GONE: undefined }).env;
  assert.equal(env.NODE_ENV, 'production');
  assert.ok(!('GONE' in env));
});

test('the account of `user:` replaces tend\'s HOME, USER, LOGNAME and SHELL; env sees it and may override it', () => {
  const spec = service('web', { env: { CACHE: '${HOME}/.cache', SHELL: '/bin/sh' } });
  const account = { HOME: '/home/app', USER: 'app', LOGNAME: 'app', SHELL: '/bin/bash' };
  const env = expandReplica(spec, 0, { HOME: '/root', USER: 'root', PATH: '/bin' }, account).env;
  assert.deepEqual([env.HOME, env.USER, env.LOGNAME, env.SHELL, env.CACHE, env.PATH], ['/home/app', 'app', 'app', '/bin/sh', '/home/app/.cache', '/bin']);
});

test('${VAR:-default} applies when unset or empty; an unset ${VAR} is empty', () => {
  const spec = service('web', { env: { A: '${UNSET:-fallback}', B: '${EMPTY:-fallback}', C: '${SET:-fallback}', D: '[${UNSET}]', E: '${UNSET:-${SET}-x}' } });
  const env = expandReplica(spec, 0, { EMPTY: '', SET: 'set' }).env;
  assert.deepEqual([env.A, env.B, env.C, env.D, env.E], ['fallback', 'fallback', 'set', '[]', 'set-x']);
});

test('$$ is a literal $, and a $ without a brace is kept for the shell', () => {
  // In a shell script, ${...} reaches /bin/sh as a reference to a variable holding the value (never
  // as script text), so what counts is what the shell prints.
  const spec = service('web', { command: ['/bin/sh', '-c', 'echo $$HOME $HOME ${TEND_REPLICA} x$$${TEND_REPLICA}'] });
  const launch = expandReplica(spec, 4, { HOME: '/home/u' });
  assert.deepEqual(launch.argv, ['/bin/sh', '-c', 'echo $HOME $HOME "${TEND_SH_1}" x$"${TEND_SH_2}"']);
  assert.equal(launch.env.TEND_SH_1, '4');
  const r = spawnSync(launch.argv[0]!, launch.argv.slice(1), { env: launch.env, encoding: 'utf8' });
  assert.equal(r.stdout, '/home/u /home/u 4 x$4\n');
  // An argv command is not a script: values are placed as they are.
  assert.deepEqual(expandReplica(service('web', { command: ['echo', '$$HOME', '${TEND_REPLICA}'] }), 4, {}).argv, ['echo', '$HOME', '4']);
});

test('command, cwd and probe fields are expanded against the replica environment', () => {
  const spec = service('web', {
    replicas: 2,
    ports: { PORT: 8080 },
    env: { ROOT: '/srv' },
    command: ['node', 'server.js', '--port=${PORT}'],
    cwd: '${ROOT}/r${TEND_REPLICA}',
    readiness: { check: { kind: 'http', url: 'http://127.0.0.1:${PORT}/healthz' }, intervalMs: 1, timeoutMs: 1, failureThreshold: 1, successThreshold: 1, startPeriodMs: 0 },
    liveness: { check: { kind: 'tcp', host: '${BIND:-127.0.0.1}', port: '${PORT}' }, intervalMs: 1, timeoutMs: 1, failureThreshold: 1, successThreshold: 1, startPeriodMs: 0 },
  });
  const l = expandReplica(spec, 1, {});
  assert.deepEqual(l.argv, ['node', 'server.js', '--port=8081']);
  assert.equal(l.cwd, '/srv/r1');
  assert.deepEqual(l.readiness?.check, { kind: 'http', url: 'http://127.0.0.1:8081/healthz' });
  assert.deepEqual(l.liveness?.check, { kind: 'tcp', host: '127.0.0.1', port: '8081' });
  const exec = expandReplica(service('w', { liveness: { ...spec.liveness!, check: { kind: 'exec', command: ['./check.sh', '${TEND_SERVICE}'] } } }), 0, {});
  assert.deepEqual(exec.liveness?.check, { kind: 'exec', command: ['./check.sh', 'w'] });
});

test('a cwd that expands to a relative path is relative to the spec file', () => {
  const l = expandReplica(service('web', { file: '/specs/web.yaml', cwd: '${SUB:-app}' }), 0, {});
  assert.equal(l.cwd, '/specs/app');
});

test('expansion reads the process environment by default', () => {
  process.env.TEND_TEST_EXPAND = 'from-process';
  try {
    assert.equal(expandReplica(service('web', { env: { X: '${TEND_TEST_EXPAND}' } }), 0).env.X, 'from-process');
  } finally {
    delete process.env.TEND_TEST_EXPAND;
  }
});

test('template syntax errors are described; expansion keeps a malformed template as written', () => {
  assert.equal(templateError('ok ${A} $$ $B'), undefined);
  assert.match(templateError('${A')!, /not closed/);
  assert.match(templateError('${1A}')!, /must be followed by a variable name/);
  assert.match(templateError('${A:-x')!, /not closed/);
  assert.equal(interpolate('${A', () => 'v'), '${A');
});

test('PWD is the replica\'s working directory, as a shell\'s cd leaves it, unless env sets it', () => {
  const base = { PWD: '/home/u/checkout', PATH: '/bin' };
  const spec = service('web', { cwd: '/srv/app/current', env: { HERE: '${PWD}' } });
  const env = expandReplica(spec, 0, base).env;
  assert.equal(env.PWD, '/srv/app/current', 'the directory the replica runs in, by the name the spec gives it');
  assert.equal(env.HERE, '/home/u/checkout', '${PWD} in the spec means tend\'s own, as in a compose file');
  assert.equal(expandReplica(service('web', { cwd: '/srv/app', env: { PWD: '/elsewhere' } }), 0, base).env.PWD, '/elsewhere');
});
