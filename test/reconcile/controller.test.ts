// The controller with real processes, real files and the real watcher: it converges to what the
// files say, touches only what must change, and never costs a running service for a bad file.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createServer, type AddressInfo } from 'node:net';
import { cleanup, fixture, isAlive, specDir, tempDir, writeFiles } from '../helpers/index.js';
import { sleepService, startSupervisor } from '../helpers/supervisor.js';


test('a new file starts its service; removing it stops the service', async (t) => {
  const { dir, state } = specDir(t, { 'a.yaml': sleepService('replicas: 2') });
  const s = await startSupervisor(t, dir, state);
  await s.waitReady('a', 2);

  writeFileSync(join(dir, 'b.yaml'), sleepService());
  const b = await s.waitReady('b', 1);

  rmSync(join(dir, 'b.yaml'));
  await s.waitFor(() => s.sup.controller.select('b').length === 0, 'b forgotten');
  for (const pid of b.values()) await s.waitFor(() => !isAlive(pid), `b pid ${pid} gone`);
  assert.equal(s.pids('a').size, 2, 'a is untouched');
});

test('replicas 2 → 5 → 1 gives exactly those counts and the survivors keep their pids', async (t) => {
  const { dir, state } = specDir(t, { 'w.yaml': sleepService('replicas: 2') });
  const s = await startSupervisor(t, dir, state);
  const first = await s.waitReady('w', 2);

  writeFileSync(join(dir, 'w.yaml'), sleepService('replicas: 5'));
  const five = await s.waitReady('w', 5);
  assert.equal(five.get(0), first.get(0));
  assert.equal(five.get(1), first.get(1));

  writeFileSync(join(dir, 'w.yaml'), sleepService('replicas: 1'));
  const one = await s.waitReady('w', 1);
  assert.deepEqual([...one], [[0, first.get(0)]]);
  for (const i of [1, 2, 3, 4]) await s.waitFor(() => !isAlive(five.get(i)!), `w/${i} gone`);
  const scaled = s.events.filter((e) => e.type === 'service.scaled').map((e) => e.message);
  assert.deepEqual(scaled, ['2 → 5', '5 → 1']);
});

test('an env change replaces replicas one at a time, never fewer than replicas - max_unavailable ready', async (t) => {
  const spec = (v: string) =>
    sleepService(`replicas: 3
env: { VERSION: "${v}" }
readiness: { exec: ["true"], interval: 50ms }
update: { strategy: rolling, max_unavailable: 1 }
`);
  const { dir, state } = specDir(t, { 'api.yaml': spec('1') });
  const s = await startSupervisor(t, dir, state);
  const before = await s.waitReady('api', 3);

  // Follow readiness through the event stream from here on.
  const ready = new Set(before.keys());
  let minReady = ready.size;
  s.sup.events.subscribe((e) => {
    if (e.service !== 'api' || e.replica === undefined) return;
    if (e.type === 'replica.ready') ready.add(e.replica);
    if (e.type === 'replica.stopping' || e.type === 'replica.exited' || e.type === 'replica.unready') ready.delete(e.replica);
    minReady = Math.min(minReady, ready.size);
  });
  writeFileSync(join(dir, 'api.yaml'), spec('2'));
  const hash = await s.waitFor(() => s.sup.controller.desiredState.services.get('api')?.hash !== s.sup.controller.select('api')[0]?.spec.hash || undefined, 'new spec loaded');
  assert.ok(hash);
  await s.waitFor(
    () => {
      const l = s.live('api');
      const want = s.sup.controller.desiredState.services.get('api')!.hash;
      return l.length === 3 && l.every((i) => i.spec.hash === want && i.state === 'running' && i.ready);
    },
    'all replaced',
  );
  assert.ok(minReady >= 2, `ready replicas fell to ${minReady}`);
  const after = s.pids('api');
  for (const [i, pid] of after) assert.notEqual(pid, before.get(i), `api/${i} was replaced`);
});

test('a surge rollout to a version that crashes: one surge replica backs off and fails; the old replicas serve on', async (t) => {
  const spec = (command: string) => `command: ${command}
replicas: 3
stop_timeout: 2s
backoff: { initial: 20ms, max: 40ms }
max_restarts: 3
restart_window: 1m
update: { strategy: rolling, max_surge: 1, max_unavailable: 0 }
`;
  const { dir, state } = specDir(t, { 'web.yaml': spec('["sleep", "1000"]') });
  const s = await startSupervisor(t, dir, state);
  const before = await s.waitReady('web', 3);
  writeFileSync(join(dir, 'web.yaml'), spec('["sh", "-c", "exit 1"]'));
  const failed = await s.waitFor(() => s.sup.controller.select('web').find((i) => i.state === 'failed'), 'the new version failed', 20_000);
  assert.equal(failed.index, 0);
  const old = new Set(before.values());
  const starts = s.events.filter((e) => e.type === 'replica.started' && e.service === 'web' && !old.has(e.pid!));
  // Once and 3 restarts, each after its back-off: it thrashed, a new surge on every pass (~60 a second).
  assert.equal(starts.length, 4, `${starts.length} starts of the new version`);
  assert.deepEqual(new Map(s.live('web').filter((i) => i.state === 'running').map((i) => [i.index, i.pid])), before, 'the old replicas serve on, all three');
});

test('a readiness probe removed live makes its replicas ready at once, said as replica.ready, and their dependents start', async (t) => {
  const { dir, state } = specDir(t, {
    'db.yaml': sleepService('readiness: { exec: ["false"], interval: 100ms }\n'),
    'api.yaml': sleepService('depends_on: { db: healthy }\n'),
  });
  const s = await startSupervisor(t, dir, state);
  await s.waitFor(() => s.live('db').length === 1 || undefined, 'db running, not ready');
  writeFileSync(join(dir, 'db.yaml'), sleepService());
  await s.waitFor(() => s.live('api').some((i) => i.state === 'running') || undefined, 'api started', 10_000);
  assert.ok(s.events.some((e) => e.type === 'replica.ready' && e.service === 'db'), 'db\'s readiness was said');
});

test('invalid YAML over a running service keeps its processes and reports the error; fixing it applies', async (t) => {
  const { dir, state } = specDir(t, { 'db.yaml': sleepService('replicas: 2\nenv: { A: "1" }\n') });
  const s = await startSupervisor(t, dir, state);
  const before = await s.waitReady('db', 2);

  writeFileSync(join(dir, 'db.yaml'), 'command: ["sleep", "1000"\nreplicas: 5\n');
  await s.waitFor(() => s.sup.controller.specProblems.length > 0, 'problem reported');
  const p = s.sup.controller.specProblems[0]!;
  assert.match(p.file, /db\.yaml$/);
  assert.ok(p.line >= 1);
  assert.deepEqual(s.pids('db'), before, 'same pids after the broken write');
  assert.ok(s.events.some((e) => e.type === 'spec.invalid'));

  writeFileSync(join(dir, 'db.yaml'), sleepService('replicas: 3\nenv: { A: "1" }\n'));
  const after = await s.waitReady('db', 3);
  assert.equal(after.get(0), before.get(0));
  assert.equal(after.get(1), before.get(1));
  assert.equal(s.sup.controller.specProblems.length, 0);
});

test('a chain a → b → c with healthy conditions starts in order', async (t) => {
  const probe = 'readiness: { exec: ["true"], interval: 50ms }\n';
  const { dir, state } = specDir(t, {
    'a.yaml': sleepService(probe),
    'b.yaml': sleepService(probe + 'depends_on: { a: healthy }\n'),
    'c.yaml': sleepService(probe + 'depends_on: { b: healthy }\n'),
  });
  const s = await startSupervisor(t, dir, state);
  await s.waitReady('c', 1);
  const at = (type: string, svc: string) => s.events.findIndex((e) => e.type === type && e.service === svc);
  assert.ok(at('replica.ready', 'a') < at('replica.starting', 'b'), 'b starts after a is ready');
  assert.ok(at('replica.ready', 'b') < at('replica.starting', 'c'), 'c starts after b is ready');
});

test('git checkout between commits that change 100 files converges once to the target; untouched services keep their pids', async (t) => {
  const root = tempDir(t);
  const dir = join(root, 'services.d');
  mkdirSync(dir);
  const git = (...args: string[]) => execFileSync('git', ['-C', root, ...args], { stdio: 'pipe' });
  git('init', '-q');
  git('config', 'user.email', 't@t');
  git('config', 'user.name', 't');
  // 100 services that the next commit changes (env), removes or adds, and 5 it leaves alone.
  const files: Record<string, string> = {};
  for (let n = 0; n < 90; n++) files[`s${n}.yaml`] = sleepService('env: { V: "1" }\n');
  for (let n = 0; n < 5; n++) files[`keep${n}.yaml`] = sleepService();
  for (let n = 90; n < 95; n++) files[`s${n}.yaml`] = sleepService();
  writeFiles(dir, files);
  git('add', '-A');
  git('commit', '-qm', 'one');
  for (let n = 0; n < 90; n++) writeFileSync(join(dir, `s${n}.yaml`), sleepService('env: { V: "2" }\n'));
  for (let n = 90; n < 95; n++) rmSync(join(dir, `s${n}.yaml`));
  for (let n = 95; n < 100; n++) writeFileSync(join(dir, `s${n}.yaml`), sleepService());
  git('add', '-A');
  git('commit', '-qm', 'two');
  git('checkout', '-q', 'HEAD~1');

  const s = await startSupervisor(t, dir, join(root, 'state'), { settleMs: 100 });
  await s.waitFor(() => s.sup.controller.instances.size === 100 && [...s.sup.controller.instances.values()].every((i) => i.state === 'running'), '100 running', 20_000);
  const keep = new Map([0, 1, 2, 3, 4].map((n) => [n, s.pids(`keep${n}`).get(0)]));
  const loadsBefore = s.events.filter((e) => e.type === 'spec.loaded').length;
  const startsBefore = s.events.filter((e) => e.type === 'replica.starting').length;

  git('checkout', '-q', 'master');
  await s.waitFor(
    () => {
      const c = s.sup.controller;
      const all = [...c.instances.values()];
      return (
        c.desiredState.services.has('s99') &&
        !c.desiredState.services.has('s90') &&
        all.length === 100 &&
        all.every((i) => i.state === 'running' && i.spec.hash === c.desiredState.services.get(i.service)?.hash)
      );
    },
    'converged to the target commit',
    30_000,
  );
  const c = s.sup.controller;
  for (let n = 90; n < 95; n++) assert.equal(c.select(`s${n}`).length, 0, `s${n} removed`);
  for (let n = 95; n < 100; n++) assert.equal(s.pids(`s${n}`).size, 1, `s${n} added`);
  for (const [n, pid] of keep) assert.equal(s.pids(`keep${n}`).get(0), pid, `keep${n} kept its pid`);
  // Exactly one start per changed or added service: no extra restarts from a half-switched tree.
  const starts = s.events.filter((e) => e.type === 'replica.starting').length - startsBefore;
  assert.equal(starts, 95);
  const loads = s.events.filter((e) => e.type === 'spec.loaded').length - loadsBefore;
  assert.ok(loads <= 2, `the checkout was applied in ${loads} passes`);
});

test('a symlinked services.d switched to another release converges to that release', async (t) => {
  const root = tempDir(t);
  writeFiles(join(root, 'releases/1/services.d'), { 'web.yaml': sleepService('env: { R: "1" }\n'), 'old.yaml': sleepService() });
  writeFiles(join(root, 'releases/2/services.d'), { 'web.yaml': sleepService('env: { R: "2" }\n'), 'new.yaml': sleepService() });
  const link = join(root, 'services.d');
  symlinkSync(join(root, 'releases/1/services.d'), link);
  const s = await startSupervisor(t, link, join(root, 'state'));
  const web1 = await s.waitReady('web', 1);
  await s.waitReady('old', 1);

  // The usual atomic switch: a new link renamed over the old one.
  symlinkSync(join(root, 'releases/2/services.d'), join(root, 'services.d.tmp'));
  renameSync(join(root, 'services.d.tmp'), link);
  await s.waitReady('new', 1);
  await s.waitFor(() => s.sup.controller.select('old').length === 0, 'old removed');
  const web2 = await s.waitReady('web', 1);
  assert.notEqual(web2.get(0), web1.get(0), 'web replaced by release 2');

  // And the new release is watched from now on.
  writeFileSync(join(root, 'releases/2/services.d/late.yaml'), sleepService());
  await s.waitReady('late', 1);
});

test('shutdown stops dependents before their dependencies and leaves nothing running', async (t) => {
  const { dir, state } = specDir(t, {
    'db.yaml': sleepService(),
    'api.yaml': sleepService('replicas: 2\ndepends_on: [db]\n'),
  });
  const s = await startSupervisor(t, dir, state);
  const db = await s.waitReady('db', 1);
  const api = await s.waitReady('api', 2);
  await s.sup.shutdown();
  const stopped = s.events.filter((e) => e.type === 'replica.stopped').map((e) => e.service);
  assert.deepEqual(stopped, ['api', 'api', 'db']);
  for (const pid of [...db.values(), ...api.values()]) assert.equal(isAlive(pid), false);
});

test('a crash restarts with back-off, and a crash loop ends failed with its reason', async (t) => {
  const { dir, state } = specDir(t, {
    'crash.yaml': 'command: ["sh", "-c", "exit 3"]\nbackoff: { initial: 10ms, max: 40ms }\nmax_restarts: 3\nrestart_window: 1m\n',
    'fine.yaml': sleepService(),
  });
  const s = await startSupervisor(t, dir, state);
  const failed = await s.waitFor(() => s.sup.controller.select('crash').find((i) => i.state === 'failed'), 'crash loop');
  assert.equal(failed.reason, 'crash loop: 3 restarts in 1m, last exit code 3');
  assert.equal(failed.restarts, 3);
  const delays = s.events.filter((e) => e.type === 'replica.backoff' && e.service === 'crash').map((e) => Number(/in (\d+) ms/.exec(e.message!)![1]));
  assert.equal(delays.length, 3);
  assert.ok(delays[0]! <= delays[1]! && delays[1]! <= delays[2]!, `delays grow: ${delays}`);
  assert.equal(s.pids('fine').size, 1, 'a crash loop does not block other services');
});

test('limits: over memory or CPU for 3 samples, or past max_runtime, restarts the replica with the reason', async (t) => {
  const hog = `command: ["${process.execPath}", "-e", "globalThis.b = Buffer.alloc(96 * 1024 * 1024, 1); setInterval(() => {}, 1e8)"]\nlimits: { memory: 32Mi }\nbackoff: { initial: 10ms }\n`;
  const old = `${sleepService('limits: { max_runtime: 300ms }\nbackoff: { initial: 10ms }\n')}`;
  const spin = `command: ["${process.execPath}", "-e", "for (;;) {}"]\nlimits: { cpu_percent: 20 }\nbackoff: { initial: 10ms }\n`;
  const { dir, state } = specDir(t, { 'hog.yaml': hog, 'old.yaml': old, 'spin.yaml': spin });
  const s = await startSupervisor(t, dir, state, { statsIntervalMs: 50 });
  const cpu = await s.waitFor(() => s.events.find((e) => e.type === 'replica.limit' && e.service === 'spin'), 'cpu limit');
  assert.match(cpu.message ?? '', /^limit: cpu \d+% over 20% for 3 samples$/);
  assert.equal(cpu.reason, 'CpuLimit');
  const memory = await s.waitFor(() => s.events.find((e) => e.type === 'replica.limit' && e.service === 'hog'), 'memory limit');
  assert.match(memory.message ?? '', /^limit: memory [\d.]+Mi over 32Mi for 3 samples$/);
  assert.equal(memory.reason, 'MemoryLimit');
  await s.waitFor(() => s.sup.controller.select('hog').some((i) => i.restarts >= 1), 'hog restarted');
  const runtime = await s.waitFor(() => s.events.find((e) => e.type === 'replica.stopping' && e.service === 'old'), 'max_runtime');
  assert.equal(runtime.message, 'limit: ran longer than max_runtime 300ms');
  assert.equal(runtime.reason, 'MaxRuntime');
  await s.waitFor(() => s.sup.controller.select('old').some((i) => i.restarts >= 1 && i.state === 'running'), 'old restarted');
});

test('liveness failing restarts the replica, counted as a restart, with the probe output as reason', async (t) => {
  const { root, dir, state } = specDir(t, {});
  writeFileSync(join(root, 'alive'), 'ok');
  writeFileSync(
    join(dir, 'w.yaml'),
    sleepService(`liveness: { exec: ["grep", "-q", "ok", "${join(root, 'alive')}"], interval: 30ms, failure_threshold: 2 }\nbackoff: { initial: 10ms }\n`),
  );
  const s = await startSupervisor(t, dir, state);
  const [first] = [...(await s.waitReady('w', 1)).values()];
  writeFileSync(join(root, 'alive'), 'dead');
  const unhealthy = await s.waitFor(() => s.events.find((e) => e.type === 'replica.unhealthy'), 'unhealthy');
  assert.equal(unhealthy.message, 'liveness: exit code 1 (2 times)');
  assert.equal(unhealthy.reason, 'LivenessFailed');
  writeFileSync(join(root, 'alive'), 'ok');
  const again = await s.waitFor(() => s.sup.controller.select('w').find((i) => i.state === 'running' && i.pid !== first), 'restarted');
  assert.equal(again.restarts, 1);
  assert.equal(isAlive(first!), false);
});

test('a manual restart clears a crash loop and rolls running replicas, keeping the others', async (t) => {
  const { dir, state } = specDir(t, {
    'bad.yaml': 'command: ["sh", "-c", "exit 1"]\nmax_restarts: 1\nbackoff: { initial: 10ms }\n',
    'web.yaml': sleepService('replicas: 2'),
  });
  const s = await startSupervisor(t, dir, state);
  await s.waitFor(() => s.sup.controller.select('bad').some((i) => i.state === 'failed'), 'bad failed');
  const before = await s.waitReady('web', 2);
  s.sup.controller.restart('bad');
  await s.waitFor(() => s.events.filter((e) => e.type === 'replica.failed' && e.service === 'bad').length === 2, 'bad ran again and failed again');
  s.sup.controller.restart('web', 1);
  await s.waitFor(() => s.pids('web').get(1) !== undefined && s.pids('web').get(1) !== before.get(1), 'web/1 replaced');
  assert.equal(s.pids('web').get(0), before.get(0), 'web/0 untouched');
});

test('a file written beside services.d does not hold back a change inside it', async (t) => {
  const { root, dir, state } = specDir(t, { 'w.yaml': sleepService() });
  // No ceiling to fall back on: if writes beside services.d restarted the settle window, the
  // change below would never apply while they go on, and waitReady would time out.
  const s = await startSupervisor(t, dir, state, { settleMs: 100, maxWaitMs: 600_000 });
  await s.waitReady('w', 1);
  // A chatty log next to services.d (`tend up services.d > tend.log`), written every 20 ms.
  const chatter = setInterval(() => writeFileSync(join(root, 'tend.log'), String(Date.now())), 20);
  cleanup(t, () => clearInterval(chatter));
  writeFileSync(join(dir, 'w.yaml'), sleepService('replicas: 2'));
  await s.waitReady('w', 2);
});

test('a dependent waits while its dependency is not ready, and starts when readiness flips', async (t) => {
  const port = await freePort();
  const { root, dir, state } = specDir(t, {});
  const flag = join(root, 'health');
  writeFileSync(flag, 'not yet');
  writeFiles(dir, {
    'srv.yaml': `command: ${JSON.stringify(fixture('http-flip.mjs', '${PORT}', flag))}\nports: { PORT: ${port} }\nreadiness: { http: { url: "http://127.0.0.1:\${PORT}/healthz" }, interval: 30ms }\n`,
    'dep.yaml': sleepService('depends_on: { srv: healthy }\n'),
  });
  const s = await startSupervisor(t, dir, state);
  await s.waitFor(() => s.sup.controller.select('srv').find((i) => i.state === 'starting' && i.pid), 'srv started, not ready');
  // Long enough for several failed probes: dep must still be waiting, and say for what.
  await s.waitFor(() => s.events.filter((e) => e.service === 'srv' && e.type === 'replica.started').length === 1 && s.sup.controller.waitingFor.get('dep'), 'dep waiting');
  assert.equal(s.sup.controller.select('dep').length, 0);
  assert.equal(s.sup.controller.waitingFor.get('dep'), 'srv: healthy');
  writeFileSync(flag, 'ok');
  await s.waitReady('dep', 1);
  const ready = s.events.find((e) => e.type === 'replica.ready' && e.service === 'srv');
  assert.match(ready?.detail ?? '', /answered 200/);
});

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

test('a probe added to running replicas starts probing them at once, with no restart; removing it stops it', async (t) => {
  // A real TCP listener counts the readiness checks it receives.
  let accepted = 0;
  const server = createServer((socket) => {
    accepted++;
    socket.destroy();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  cleanup(t, () => server.close());
  const port = (server.address() as AddressInfo).port;
  const { dir, state } = specDir(t, { 'w.yaml': sleepService('replicas: 2') });
  const s = await startSupervisor(t, dir, state);
  const before = await s.waitReady('w', 2);
  assert.equal(accepted, 0);

  writeFileSync(join(dir, 'w.yaml'), sleepService(`replicas: 2\nreadiness: { tcp: { port: ${port} }, interval: 50ms }`));
  await s.waitFor(() => accepted >= 6, 'readiness checks of both replicas');
  assert.deepEqual(s.pids('w'), before, 'no replica was restarted');
  const launches = () => s.sup.controller.select('w').map((i) => s.sup.controller.launchOf(i.id));
  assert.ok(launches().every((l) => l?.readiness !== undefined), 'the running replicas carry the probe');

  writeFileSync(join(dir, 'w.yaml'), sleepService('replicas: 2'));
  await s.waitFor(() => launches().every((l) => l !== undefined && l.readiness === undefined), 'the probe gone from the running replicas');
  assert.deepEqual(s.pids('w'), before, 'still no restart');
});
