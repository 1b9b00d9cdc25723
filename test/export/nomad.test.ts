// The Nomad exporter: the bundled demo and a spec using every field, checked against the jobs API
// schema and golden files; the report says what became of every field; what cannot be expressed
// is reported per field or refused, never silently changed.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { stringify } from 'yaml';
import { expandReplica } from '../../src/spec/expand.js';
import { NODE } from '../helpers/index.js';
import { exportNomad, NOMAD_RULES, type NomadJob, type NomadTask } from '../../src/export/nomad.js';
import { drops, reportJson } from '../../src/export/report.js';
import { loadSpecs } from '../helpers/spec.js';
import { DEMO, EVERY_FIELD, assertGolden, servicesOf, whichFixed } from './golden.js';
import { nomadProblems } from './validate.js';

const OPTS = { jobId: 'demo', driver: 'raw_exec' as const, which: whichFixed };

function group(job: NomadJob, name: string) {
  const g = job.TaskGroups.find((x) => x.Name === name);
  assert.ok(g, `group ${name}`);
  return g;
}
function task(job: NomadJob, groupName: string, taskName: string): NomadTask {
  const t = group(job, groupName).Tasks.find((x) => x.Name === taskName);
  assert.ok(t, `task ${taskName} in group ${groupName}`);
  return t;
}

test('the bundled demo exports to one service job that matches the jobs API schema and its golden file', async () => {
  const services = await servicesOf(DEMO);
  const out = exportNomad(services, OPTS);
  assert.deepEqual(out.errors, []);
  assert.equal(out.jobs.length, 1);
  for (const j of out.jobs) assert.deepEqual(nomadProblems(j), []);
  const job = out.jobs[0]!.Job;
  assert.equal(job.Type, 'service');
  // One group per long-running service; the migrate oneshot runs inside api's group.
  assert.deepEqual(job.TaskGroups.map((g) => [g.Name, g.Count]), [['api', 2], ['db', 1], ['indexer', 1], ['worker', 3]]);
  const api = task(job, 'api', 'api');
  assert.equal(api.Config.command, '/usr/bin/node');
  assert.deepEqual(api.Config.args, ['api.mjs']);
  assert.equal(api.Env.PORT, '${NOMAD_PORT_port}');
  assert.equal(api.Env.TEND_REPLICA, '${NOMAD_ALLOC_INDEX}');
  assert.equal(api.Env.DATABASE_URL, 'tcp://127.0.0.1:18432/app?replica=${NOMAD_ALLOC_INDEX}');
  assert.equal(api.KillTimeout, 3_000_000_000);
  assert.equal(api.KillSignal, 'SIGTERM');
  const checks = api.Services![0]!.Checks;
  assert.deepEqual(checks.map((c) => [c.Name, c.Type, c.Path, c.PortLabel]), [['readiness', 'http', '/healthz', 'port'], ['liveness', 'http', '/healthz', 'port']]);
  assert.deepEqual(checks[1]!.CheckRestart, { Limit: 3, Grace: 0 });
  const migrate = task(job, 'api', 'migrate');
  assert.deepEqual(migrate.Lifecycle, { Hook: 'prestart', Sidecar: false });
  assert.deepEqual(task(job, 'api', 'await-db').Lifecycle, { Hook: 'prestart', Sidecar: false });
  assert.deepEqual(group(job, 'db').Networks, [{ ReservedPorts: [{ Label: 'db_port', Value: 18432 }] }]);
  assert.deepEqual(group(job, 'api').RestartPolicy, { Attempts: 10, Interval: 300_000_000_000, Delay: 100_000_000, Mode: 'fail' });
  assert.deepEqual(group(job, 'api').ReschedulePolicy, { Attempts: 0, Interval: 300_000_000_000, Unlimited: false });
  assert.deepEqual(task(job, 'worker', 'worker').LogConfig, { MaxFiles: 3, MaxFileSizeMB: 1 });

  assertGolden('demo.nomad.json', out.jobs.map((j) => JSON.stringify(j, null, 2)).join('\n') + '\n');
  assertGolden('demo.nomad.report.json', reportJson(out.report));
});

test('a spec using every field exports, validates, and reports every field it sets', async () => {
  const services = await servicesOf(EVERY_FIELD);
  const out = exportNomad(services, OPTS);
  assert.deepEqual(out.errors, []);
  // seed is a oneshot nothing long-running depends on: a batch job of its own.
  assert.deepEqual(out.jobs.map((j) => [j.Job.ID, j.Job.Type]), [['demo', 'service'], ['demo-oneshot', 'batch']]);
  for (const j of out.jobs) assert.deepEqual(nomadProblems(j), []);
  const [svc, batch] = [out.jobs[0]!.Job, out.jobs[1]!.Job];

  const web = task(svc, 'web', 'web');
  assert.deepEqual(web.Config.args, ['server.js', '--port', '${NOMAD_PORT_port}']);
  assert.equal(web.Env.REPLICA_NAME, 'web-${NOMAD_ALLOC_INDEX}-of-3');
  assert.equal(web.Env.DATABASE_URL, 'postgres://127.0.0.1:5432/app', 'an entry naming another is inlined');
  assert.equal(web.Env.SINGLE, '$raw', '$$ is a literal $');
  assert.equal(web.Env.HOME_DIR, '/home/web', 'a variable of tend\'s own environment is unset: its default applies');
  assert.equal(web.KillSignal, 'SIGINT');
  assert.equal(web.KillTimeout, 2_500_000_000);
  assert.equal(web.User, '1000');
  assert.deepEqual(web.Resources, { MemoryMB: 512, Cores: 2 });
  assert.deepEqual(group(svc, 'web').Update, { MaxParallel: 2, HealthCheck: 'checks', Canary: 2, AutoPromote: true });
  assert.deepEqual(group(svc, 'web').RestartPolicy, { Attempts: 10, Interval: 3_600_000_000_000, Delay: 200_000_000, Mode: 'delay' });
  assert.deepEqual(group(svc, 'web').Networks, [{ DynamicPorts: [{ Label: 'port' }, { Label: 'admin_port' }] }]);
  assert.equal(web.Services![0]!.Checks[0]!.Path, '/healthz?full=1');
  // The string command of migrate runs through /bin/sh, after waiting for db.
  const migrate = task(svc, 'web', 'migrate');
  assert.equal(migrate.Config.command, '/bin/sh');
  assert.match(migrate.Config.args[1]!, /^until nomad service info db .*; exec "\$0" "\$@"$/);
  assert.deepEqual(migrate.Config.args.slice(2), ['/bin/sh', '-c', './bin/migrate up --database "postgres://127.0.0.1:5432/app"']);
  assert.equal(group(svc, 'db').Update!.MaxParallel, 1, 'recreate replaces every allocation (of 1) at once');
  assert.equal(task(svc, 'db', 'db').KillTimeout, 60_000_000_000);
  assert.equal(group(batch, 'seed').Count, 2);
  assert.equal(group(batch, 'seed').MaxRunDuration, 600_000_000_000);
  assert.equal(group(batch, 'seed').RestartPolicy.Attempts, 0);

  // Every field a service sets has at least one row.
  const rows = out.report.rows;
  const fieldsOf = (svcName: string) => new Set(rows.filter((r) => r.service === svcName).map((r) => r.field));
  for (const f of ['command', 'cwd', 'env', 'env_file', 'replicas', 'ports', 'depends_on', 'readiness', 'liveness', 'restart', 'backoff', 'max_restarts', 'restart_window', 'stop_signal', 'stop_timeout', 'update', 'limits.memory', 'limits.cpu_percent', 'limits.max_runtime', 'logs', 'user', 'labels']) {
    assert.ok(fieldsOf('web').has(f), `web: ${f} is reported`);
  }
  const row = (service: string, field: string) => rows.filter((r) => r.service === service && r.field === field);
  // What Nomad cannot do is dropped, by name, with the reason.
  assert.deepEqual(row('web', 'liveness').map((r) => r.status), ['dropped'], 'an exec probe has no Nomad-native check');
  assert.deepEqual(row('web', 'limits.max_runtime').map((r) => r.status), ['dropped']);
  assert.deepEqual(row('seed', 'depends_on').map((r) => [r.status, r.detail]), [['approximated', 'db: started'], ['dropped', 'migrate: started']]);
  assert.deepEqual(row('web', 'stop_timeout').map((r) => r.status), ['converted']);
  assert.deepEqual(row('db', 'stop_timeout').map((r) => r.status), ['approximated'], 'over the clients\' 30 s max_kill_timeout');
  assert.deepEqual(row('web', 'env').filter((r) => r.how === NOMAD_RULES.hostVar.how).map((r) => [r.status, r.detail]), [['approximated', '${HOME}']]);
  assert.ok(drops(out.report).length >= 3);

  assertGolden('every-field.nomad.json', out.jobs.map((j) => JSON.stringify(j, null, 2)).join('\n') + '\n');
  assertGolden('every-field.nomad.report.json', reportJson(out.report));
});

test('a program that is not on PATH is an error naming the service, and nothing is exported', async (t) => {
  const { result } = await loadSpecs(t, { 'web.yaml': 'command: [no-such-program-xyz, serve]\n', 'ok.yaml': 'command: [node]\n' });
  const out = exportNomad(result.services, { ...OPTS, which: (p) => (p === 'node' ? '/usr/bin/node' : undefined) });
  assert.equal(out.errors.length, 1);
  assert.equal(out.errors[0]!.service, 'web');
  assert.match(out.errors[0]!.message, /"no-such-program-xyz" is not on PATH/);
});

test('--driver exec: the same job with the exec driver, cwd reported as inside the chroot', async () => {
  const services = await servicesOf(DEMO);
  const out = exportNomad(services, { ...OPTS, driver: 'exec' });
  for (const j of out.jobs) assert.deepEqual(nomadProblems(j), []);
  assert.ok(out.jobs[0]!.Job.TaskGroups.every((g) => g.Tasks.every((t) => t.Driver === 'exec')));
  assert.ok(out.report.rows.filter((r) => r.field === 'cwd').every((r) => r.how === NOMAD_RULES.cwdExec.how));
});

test('a job whose restart window cannot hold the attempts is widened and reported, so Nomad accepts it', async (t) => {
  const { result } = await loadSpecs(t, { 'w.yaml': 'command: [node]\nmax_restarts: 20\nrestart_window: 1s\nbackoff: { initial: 1s }\n' });
  const out = exportNomad(result.services, OPTS);
  for (const j of out.jobs) assert.deepEqual(nomadProblems(j), []);
  assert.equal(out.jobs[0]!.Job.TaskGroups[0]!.RestartPolicy.Interval, 20_000_000_000);
  assert.deepEqual(out.report.rows.filter((r) => r.field === 'restart_window').map((r) => r.status), ['approximated']);
});

test('the schema check is not vacuous: a misspelt key, a sub-second check and a missing port label fail', async () => {
  const out = exportNomad(await servicesOf(DEMO), OPTS);
  const body = JSON.parse(JSON.stringify(out.jobs[0])) as { Job: NomadJob };
  const api = body.Job.TaskGroups[0]!;
  (api.Tasks[2] as unknown as Record<string, unknown>).KillTimeOut = 1;
  assert.match(nomadProblems(body).join('\n'), /must NOT have additional properties.*KillTimeOut/);
  const body2 = JSON.parse(JSON.stringify(out.jobs[0])) as { Job: NomadJob };
  body2.Job.TaskGroups[0]!.Tasks[2]!.Services![0]!.Checks[0]!.Interval = 500_000_000;
  assert.match(nomadProblems(body2).join('\n'), /Interval must be >= 1000000000/);
  const body3 = JSON.parse(JSON.stringify(out.jobs[0])) as { Job: NomadJob };
  delete body3.Job.TaskGroups[0]!.Networks;
  assert.match(nomadProblems(body3).join('\n'), /check readiness port port is not in the group's network/);
});

// What the Nomad client does to a task's Env and Config before it starts it: ${NOMAD_*} replaced.
function nomadInterpolate(text: string, vars: Record<string, string>): string {
  return text.replace(/\$\{(NOMAD_[A-Z_a-z0-9]+)\}/g, (m, name: string) => vars[name] ?? m);
}

test('--ports index: each allocation runs with the argv and environment tend gives that replica', async (t) => {
  const printer = 'console.log(JSON.stringify({ argv: process.argv.slice(1), env: Object.fromEntries(["PORT", "ADMIN_PORT", "URL", "NAME", "Q", "PLAIN", "TEND_REPLICA"].map((k) => [k, process.env[k]])) }))';
  const spec = {
    command: [NODE, '-e', printer, '--', '--port=${PORT}', '$$HOME', 'admin ${ADMIN_PORT:-none}'],
    replicas: 3,
    ports: { PORT: 8080, ADMIN_PORT: 9080 },
    env: { PLAIN: 'x', URL: 'http://127.0.0.1:${PORT}/x', NAME: 'web-${TEND_REPLICA}', Q: 'a "quoted" `tick` \\ $$dollar ${URL} ${PLAIN}' },
  };
  const { result } = await loadSpecs(t, { 'web.yaml': stringify(spec) });
  const [web] = result.services;
  const out = exportNomad(result.services, { ...OPTS, ports: 'index' });
  for (const j of out.jobs) assert.deepEqual(nomadProblems(j), []);
  const task = out.jobs[0]!.Job.TaskGroups[0]!.Tasks[0]!;
  assert.equal(task.Config.command, '/bin/sh');
  for (const index of [0, 2]) {
    const vars = { NOMAD_ALLOC_INDEX: String(index) };
    const env = Object.fromEntries(Object.entries(task.Env).map(([k, v]) => [k, nomadInterpolate(v, vars)]));
    const nomad: SpawnSyncReturns<string> = spawnSync(task.Config.command, task.Config.args.map((a) => nomadInterpolate(a, vars)), { cwd: task.Config.work_dir, env: { ...env, ...vars }, encoding: 'utf8' });
    assert.equal(nomad.status, 0, nomad.stderr);
    const launch = expandReplica(web!, index, {});
    const tend = spawnSync(launch.argv[0]!, launch.argv.slice(1), { cwd: launch.cwd, env: launch.env, encoding: 'utf8' });
    assert.equal(tend.status, 0, tend.stderr);
    assert.deepEqual(JSON.parse(nomad.stdout), JSON.parse(tend.stdout), `replica ${index}`);
    assert.equal(JSON.parse(nomad.stdout).env.PORT, String(8080 + index));
  }
  const ports = out.report.rows.filter((r) => r.field === 'ports');
  assert.deepEqual(ports.map((r) => r.how), [NOMAD_RULES.portsIndex.how]);
});

test('--ports index with one replica: a static port, exactly tend\'s, and its checks kept', async (t) => {
  const { result } = await loadSpecs(t, { 'db.yaml': 'command: [node]\nports: { PORT: 5432 }\nreadiness:\n  tcp: { port: "${PORT}" }\n' });
  const out = exportNomad(result.services, { ...OPTS, ports: 'index' });
  for (const j of out.jobs) assert.deepEqual(nomadProblems(j), []);
  const g = out.jobs[0]!.Job.TaskGroups[0]!;
  assert.deepEqual(g.Networks, [{ ReservedPorts: [{ Label: 'port', Value: 5432 }] }]);
  assert.equal(g.Tasks[0]!.Env.PORT, '${NOMAD_PORT_port}');
  assert.equal(g.Tasks[0]!.Services![0]!.Checks[0]!.PortLabel, 'port');
  assert.deepEqual(out.report.rows.filter((r) => r.field === 'ports').map((r) => r.status), ['converted']);
});

test('a probe whose port is known only at run time is dropped by name, and the job stays valid', async (t) => {
  const { result } = await loadSpecs(t, { 'w.yaml': 'command: [node]\nreadiness:\n  tcp: { port: "${SOME_PORT}" }\n' });
  const out = exportNomad(result.services, OPTS);
  for (const j of out.jobs) assert.deepEqual(nomadProblems(j), []);
  assert.deepEqual(out.report.rows.filter((r) => r.field === 'readiness').map((r) => [r.status, r.how, r.detail]), [
    ['dropped', NOMAD_RULES.probeNoPort.how, '${SOME_PORT}'],
    ['approximated', NOMAD_RULES.hostVar.how, '${SOME_PORT}'],
  ]);
  assert.equal(out.jobs[0]!.Job.TaskGroups[0]!.Tasks[0]!.Services, undefined);
});

test('a directory of oneshots only is one batch job under the job ID', async (t) => {
  const { result } = await loadSpecs(t, { 'a.yaml': 'command: [node, a.mjs]\noneshot: true\n', 'b.yaml': 'command: [node, b.mjs]\noneshot: true\nrestart: never\nlimits: { max_runtime: 1m }\n' });
  const out = exportNomad(result.services, OPTS);
  assert.deepEqual(out.jobs.map((j) => [j.Job.ID, j.Job.Type, j.Job.TaskGroups.map((g) => g.Name)]), [['demo', 'batch', ['a', 'b']]]);
  for (const j of out.jobs) assert.deepEqual(nomadProblems(j), []);
  assert.equal(out.jobs[0]!.Job.TaskGroups[1]!.MaxRunDuration, 60_000_000_000);
  assert.ok(out.report.rows.filter((r) => r.field === 'oneshot').every((r) => r.how === NOMAD_RULES.oneshotBatch.how && r.detail === 'job demo'));
});

// The port label of `${NOMAD_PORT_label}` in an env value, and the port the group gives it.
function portOf(g: NomadJob['TaskGroups'][number], envValue: string): { Label: string; Value?: number } {
  const label = /^\$\{NOMAD_PORT_(\w+)\}$/.exec(envValue)?.[1];
  const net = g.Networks?.[0] ?? {};
  const p = [...(net.DynamicPorts ?? []), ...(net.ReservedPorts ?? [])].find((x) => x.Label === label);
  assert.ok(p, `${envValue} names a port of group ${g.Name}`);
  return p;
}

test('ports whose lower-case labels meet (PORT and port, PORT_9000 and a probe on 9000) get distinct labels, and the report names them', async (t) => {
  const { result } = await loadSpecs(t, {
    'w.yaml': 'command: [node]\nports: { PORT: 8080, port: 8090, PORT_9000: 8100 }\nreadiness:\n  tcp: { port: 9000 }\nliveness:\n  tcp: { port: "${port}" }\n',
  });
  const out = exportNomad(result.services, OPTS);
  for (const j of out.jobs) assert.deepEqual(nomadProblems(j), []);
  const g = out.jobs[0]!.Job.TaskGroups[0]!;
  const env = g.Tasks[0]!.Env;
  const labels = ['PORT', 'port', 'PORT_9000'].map((k) => portOf(g, env[k]!).Label);
  assert.equal(new Set(labels).size, 3, labels.join(', '));
  const checks = g.Tasks[0]!.Services![0]!.Checks;
  assert.deepEqual(g.Networks![0]!.ReservedPorts!.find((p) => p.Label === checks[0]!.PortLabel)?.Value, 9000, 'readiness checks port 9000');
  assert.equal(checks[1]!.PortLabel, labels[1], 'liveness checks the port of ${port}');
  const row = out.report.rows.find((r) => r.field === 'ports')!;
  assert.match(row.detail!, new RegExp(`port \\(base 8090\\) → \\$\\{NOMAD_PORT_${labels[1]}\\} \\(label port is taken by PORT\\)`));
});

test('--ports index: a prestart oneshot keeps its own static port when the service has one of the same name', async (t) => {
  const { result } = await loadSpecs(t, {
    'api.yaml': 'command: [node]\nports: { PORT: 8080 }\ndepends_on: [migrate]\n',
    'migrate.yaml': 'command: [node, migrate.mjs]\noneshot: true\nports: { PORT: 5000 }\n',
  });
  const out = exportNomad(result.services, { ...OPTS, ports: 'index' });
  for (const j of out.jobs) assert.deepEqual(nomadProblems(j), []);
  const g = group(out.jobs[0]!.Job, 'api');
  assert.equal(portOf(g, task(out.jobs[0]!.Job, 'api', 'api').Env.PORT!).Value, 8080);
  assert.equal(portOf(g, task(out.jobs[0]!.Job, 'api', 'migrate').Env.PORT!).Value, 5000, 'under tend, migrate listens on 5000');
  const dep = out.report.rows.find((r) => r.service === 'api' && r.field === 'depends_on')!;
  assert.match(dep.detail!, /^migrate: started \(its PORT is label port_2 in this group: label port is taken by api's PORT\)$/);
});
