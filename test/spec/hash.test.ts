// The service hash changes exactly when a process-shaping field changes (command, cwd, env,
// env_file contents, ports, user) and never for replicas, probes, restart, limits, labels...

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadDirectory } from '../../src/spec/load.js';
import { stableHash, stableStringify } from '../../src/spec/hash.js';
import { specDir } from '../helpers/spec.js';

const BASE = `command: [node, server.js]
cwd: app
env: { A: "1" }
env_file: app.env
ports: { PORT: 8080 }
user: www
replicas: 2
readiness:
  http: { url: "http://127.0.0.1:\${PORT}/" }
restart: always
backoff: { initial: 100ms }
max_restarts: 10
stop_signal: SIGTERM
stop_timeout: 10s
update: { strategy: rolling }
limits: { memory: 1Gi }
logs: { max_files: 5 }
labels: { team: a }
`;

const changes: Record<string, { from: string; to: string; changesHash: boolean }> = {
  command: { from: 'command: [node, server.js]', to: 'command: [node, server2.js]', changesHash: true },
  'command as a string': { from: 'command: [node, server.js]', to: 'command: node server.js', changesHash: true },
  cwd: { from: 'cwd: app', to: 'cwd: app2', changesHash: true },
  'env value': { from: 'env: { A: "1" }', to: 'env: { A: "2" }', changesHash: true },
  'env key added': { from: 'env: { A: "1" }', to: 'env: { A: "1", B: "2" }', changesHash: true },
  ports: { from: 'ports: { PORT: 8080 }', to: 'ports: { PORT: 8090 }', changesHash: true },
  user: { from: 'user: www', to: 'user: nobody', changesHash: true },
  replicas: { from: 'replicas: 2', to: 'replicas: 5', changesHash: false },
  readiness: { from: 'http://127.0.0.1:${PORT}/', to: 'http://127.0.0.1:${PORT}/healthz', changesHash: false },
  restart: { from: 'restart: always', to: 'restart: never', changesHash: false },
  backoff: { from: 'initial: 100ms', to: 'initial: 1s', changesHash: false },
  max_restarts: { from: 'max_restarts: 10', to: 'max_restarts: 3', changesHash: false },
  stop_signal: { from: 'stop_signal: SIGTERM', to: 'stop_signal: SIGINT', changesHash: false },
  stop_timeout: { from: 'stop_timeout: 10s', to: 'stop_timeout: 1s', changesHash: false },
  update: { from: 'strategy: rolling', to: 'strategy: recreate', changesHash: false },
  limits: { from: 'memory: 1Gi', to: 'memory: 2Gi', changesHash: false },
  logs: { from: 'max_files: 5', to: 'max_files: 1', changesHash: false },
  labels: { from: 'team: a', to: 'team: b', changesHash: false },
  'key order and comments': { from: 'env: { A: "1" }', to: '# the env\nenv: { A: "1" }', changesHash: false },
};

async function hashOf(dir: string, text: string): Promise<string> {
  writeFileSync(join(dir, 'web.yaml'), text);
  const result = await loadDirectory(dir);
  assert.deepEqual(result.problems, []);
  return result.services[0]!.hash;
}

for (const [field, c] of Object.entries(changes)) {
  test(`changing ${field} ${c.changesHash ? 'changes' : 'keeps'} the hash`, async (t) => {
    const dir = specDir(t, { 'app.env': 'X=1\n' });
    assert.ok(BASE.includes(c.from));
    const before = await hashOf(dir, BASE);
    const after = await hashOf(dir, BASE.replace(c.from, c.to));
    if (c.changesHash) assert.notEqual(after, before);
    else assert.equal(after, before);
  });
}

test('a change of a value in the env_file changes the hash; a comment in it does not', async (t) => {
  const dir = specDir(t, { 'app.env': 'X=1\n' });
  const first = await hashOf(dir, BASE);
  writeFileSync(join(dir, 'app.env'), '# a comment\nX=1\n');
  assert.equal(await hashOf(dir, BASE), first);
  writeFileSync(join(dir, 'app.env'), 'X=2\n');
  assert.notEqual(await hashOf(dir, BASE), first);
});

test('stable JSON sorts keys at every level and keeps array order', () => {
  assert.equal(stableStringify({ b: 1, a: { d: [2, 1], c: null } }), '{"a":{"c":null,"d":[2,1]},"b":1}');
  assert.equal(stableHash({ a: 1, b: 2 }), stableHash({ b: 2, a: 1 }));
  assert.notEqual(stableHash([1, 2]), stableHash([2, 1]));
});
