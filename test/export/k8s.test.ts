// The Kubernetes exporter: every object of the bundled demo and of a spec using every field is
// valid against the official OpenAPI schemas (kubernetes-models) and matches its golden file; the
// report names what Kubernetes cannot do; a service without an image is refused by name.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { parseAllDocuments, stringify } from 'yaml';
import { expandReplica } from '../../src/spec/expand.js';
import { NODE } from '../helpers/index.js';
import { exportK8s, K8S_RULES, type K8sObject } from '../../src/export/k8s.js';
import { drops, reportJson } from '../../src/export/report.js';
import { loadSpecs } from '../helpers/spec.js';
import { DEMO, EVERY_FIELD, assertGolden, servicesOf } from './golden.js';
import { k8sProblems } from './validate.js';

type Json = Record<string, any>;
const images = (...names: string[]) => new Map(names.map((n) => [n, `registry.example/${n}:1.0`]));

function find(objects: K8sObject[], kind: string, name: string): Json {
  const o = objects.find((x) => x.kind === kind && x.metadata.name === name);
  assert.ok(o, `${kind} ${name}`);
  return o as unknown as Json;
}

test('the bundled demo exports to valid Deployments and a Service, matching the golden file', async () => {
  const out = exportK8s(await servicesOf(DEMO), { images: images('api', 'db', 'indexer', 'migrate', 'worker') });
  assert.deepEqual(out.errors, []);
  assert.deepEqual(out.objects.map((o) => `${o.kind}/${o.metadata.name}`), ['Deployment/api', 'Service/api', 'Deployment/db', 'Deployment/indexer', 'Deployment/worker']);
  for (const o of out.objects) assert.deepEqual(k8sProblems(o), [], `${o.kind}/${o.metadata.name}`);
  // The YAML is the object.
  for (const o of out.objects) {
    const { yaml, ...plain } = o;
    assert.deepEqual(parseAllDocuments(yaml)[0]!.toJS(), JSON.parse(JSON.stringify(plain)));
  }

  const api = find(out.objects, 'Deployment', 'api');
  assert.equal(api.spec.replicas, 2);
  const pod = api.spec.template.spec;
  assert.equal(pod.terminationGracePeriodSeconds, 3);
  const c = pod.containers[0];
  assert.equal(c.image, 'registry.example/api:1.0');
  assert.deepEqual(c.command, ['node', 'api.mjs']);
  assert.deepEqual(c.ports, [{ name: 'port', containerPort: 18080, protocol: 'TCP' }]);
  const env = Object.fromEntries(c.env.map((e: Json) => [e.name, e.value ?? e.valueFrom]));
  assert.equal(env.PORT, '18080');
  assert.equal(env.DATABASE_URL, 'tcp://127.0.0.1:18432/app?replica=$(TEND_REPLICA)');
  assert.deepEqual(env.TEND_REPLICA, { fieldRef: { fieldPath: 'metadata.name' } });
  assert.deepEqual(c.readinessProbe, { httpGet: { path: '/healthz', port: 18080, scheme: 'HTTP' }, periodSeconds: 1, timeoutSeconds: 1, failureThreshold: 3, successThreshold: 1 });
  assert.equal(c.livenessProbe.periodSeconds, 5);
  // migrate (a oneshot api depends on) runs as an init container of api's pods.
  assert.deepEqual(pod.initContainers.map((x: Json) => x.name), ['migrate']);
  assert.deepEqual(api.spec.strategy, { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1, maxSurge: 0 } });
  const svc = find(out.objects, 'Service', 'api');
  assert.deepEqual(svc.spec.selector, api.spec.selector.matchLabels);
  assert.deepEqual(svc.spec.ports, [{ name: 'port', port: 18080, targetPort: 'port', protocol: 'TCP' }]);

  // db declares no ports, so nothing can wait for it: dropped, by name.
  const dep = out.report.rows.filter((r) => r.field === 'depends_on' && r.detail?.startsWith('db:'));
  assert.ok(dep.length > 0 && dep.every((r) => r.status === 'dropped' && r.how === K8S_RULES.dependsNoService.how));

  assertGolden('demo.k8s.yaml', out.objects.map((o) => o.yaml).join('---\n'));
  assertGolden('demo.k8s.report.json', reportJson(out.report));
});

test('a spec using every field exports valid objects and reports every field it sets', async () => {
  const out = exportK8s(await servicesOf(EVERY_FIELD), { images: images('web', 'db', 'migrate', 'seed'), namespace: 'shop' });
  assert.deepEqual(out.errors, []);
  assert.deepEqual(out.objects.map((o) => `${o.kind}/${o.metadata.name}`), ['Deployment/db', 'Service/db', 'Job/seed', 'Deployment/web', 'Service/web']);
  for (const o of out.objects) {
    assert.deepEqual(k8sProblems(o), [], `${o.kind}/${o.metadata.name}`);
    assert.equal(o.metadata.namespace, 'shop');
  }
  const web = find(out.objects, 'Deployment', 'web');
  const pod = web.spec.template.spec;
  const c = pod.containers[0];
  assert.deepEqual(c.command, ['node', 'server.js', '--port', '$(PORT)']);
  const env = Object.fromEntries(c.env.map((e: Json) => [e.name, e.value ?? e.valueFrom]));
  assert.equal(env.REPLICA_NAME, 'web-$(TEND_REPLICA)-of-$(TEND_REPLICAS)');
  assert.equal(env.DATABASE_URL, 'postgres://127.0.0.1:$(DB_PORT)/app');
  assert.equal(env.SINGLE, '$raw');
  assert.equal(env.HOME_DIR, '/home/web');
  assert.deepEqual(c.resources, { limits: { memory: '512Mi', cpu: '1500m' } });
  assert.deepEqual(pod.securityContext, { runAsUser: 1000 });
  assert.equal(pod.terminationGracePeriodSeconds, 3, '2.5 s rounded up');
  assert.deepEqual(c.readinessProbe, { httpGet: { path: '/healthz?full=1', port: 8080, scheme: 'HTTP' }, periodSeconds: 2, timeoutSeconds: 1, failureThreshold: 4, successThreshold: 2, initialDelaySeconds: 5 });
  assert.deepEqual(c.livenessProbe.exec, { command: ['./check.sh', '8080'] });
  assert.deepEqual(web.spec.strategy, { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 2 } });
  assert.equal(web.metadata.annotations['owner email'], 'ops@example.com', 'a key that is no valid label becomes an annotation');
  assert.equal(web.metadata.labels.team, 'payments');
  // Init containers: wait for db's Service, then run migrate.
  assert.deepEqual(pod.initContainers.map((x: Json) => x.name), ['await-db', 'migrate']);
  assert.deepEqual(pod.initContainers[1].command, ['/bin/sh', '-c', './bin/migrate up --database "postgres://127.0.0.1:5432/app"']);
  const db = find(out.objects, 'Deployment', 'db');
  assert.deepEqual(db.spec.strategy, { type: 'Recreate' });
  const seed = find(out.objects, 'Job', 'seed');
  assert.equal(seed.spec.completions, 2);
  assert.equal(seed.spec.completionMode, 'Indexed');
  assert.equal(seed.spec.backoffLimit, 0);
  assert.equal(seed.spec.template.spec.restartPolicy, 'Never');
  assert.equal(seed.spec.template.spec.activeDeadlineSeconds, 600);

  const rows = out.report.rows;
  const row = (service: string, field: string) => rows.filter((r) => r.service === service && r.field === field).map((r) => r.status);
  for (const f of ['command', 'cwd', 'env', 'env_file', 'replicas', 'ports', 'depends_on', 'readiness', 'liveness', 'restart', 'backoff', 'max_restarts', 'restart_window', 'stop_signal', 'stop_timeout', 'update', 'limits.memory', 'limits.cpu_percent', 'limits.max_runtime', 'logs', 'user', 'labels']) {
    assert.ok(row('web', f).length > 0, `web: ${f} is reported`);
  }
  assert.deepEqual(row('web', 'stop_signal'), ['dropped'], 'Kubernetes sends SIGTERM, not SIGINT');
  assert.deepEqual(row('web', 'limits.max_runtime'), ['dropped']);
  assert.deepEqual(row('web', 'logs'), ['dropped']);
  assert.deepEqual(row('db', 'user'), ['dropped'], 'runAsUser needs a uid, not a name');
  assert.deepEqual(row('web', 'user'), ['converted']);
  assert.deepEqual(row('web', 'labels'), ['approximated']);
  assert.deepEqual(row('web', 'readiness'), ['approximated']);
  assert.ok(drops(out.report).length >= 5);

  assertGolden('every-field.k8s.yaml', out.objects.map((o) => o.yaml).join('---\n'));
  assertGolden('every-field.k8s.report.json', reportJson(out.report));
});

test('a service without --image is an error that names it', async () => {
  const out = exportK8s(await servicesOf(DEMO), { images: images('api', 'db') });
  assert.deepEqual(out.errors.map((e) => e.service), ['indexer', 'migrate', 'worker']);
  assert.match(out.errors[1]!.message, /--image migrate=IMAGE/);
});

test('two service names that Kubernetes would merge ("a_b" and "a-b") are refused', async (t) => {
  const { result } = await loadSpecs(t, { 'a_b.yaml': 'command: [x]\n', 'a-b.yaml': 'command: [y]\n' });
  const out = exportK8s(result.services, { images: images('a_b', 'a-b') });
  assert.equal(out.errors.length, 1);
  assert.match(out.errors[0]!.message, /Kubernetes name "a-b"/);
});

test('the OpenAPI check is not vacuous: a wrong type and a missing required field fail', async () => {
  const out = exportK8s(await servicesOf(DEMO), { images: images('api', 'db', 'indexer', 'migrate', 'worker') });
  const api = JSON.parse(JSON.stringify(out.objects[0])) as Json;
  api.spec.template.spec.containers[0].ports[0].containerPort = '18080';
  delete api.spec.selector;
  const problems = k8sProblems(api).join('\n');
  assert.match(problems, /containerPort must be integer/);
  assert.match(problems, /must have required property 'selector'|required property selector/);
});

// Kubernetes' own expansion of $(VAR) in env values and command (kubelet, "expansion" package):
// $(NAME) of a defined variable is replaced, $$ is a literal $, anything else is kept.
function k8sExpand(text: string, vars: Map<string, string>): string {
  return text.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (m, name?: string) => (m === '$$' ? '$' : vars.has(name!) ? vars.get(name!)! : m));
}

test('a pod runs with the argv and environment tend gives a replica (ports at their base, TEND_REPLICA the pod name)', async (t) => {
  const printer = 'console.log(JSON.stringify({ argv: process.argv.slice(1), env: Object.fromEntries(["PORT", "URL", "NAME", "Q", "PLAIN", "TEND_SERVICE", "TEND_REPLICAS"].map((k) => [k, process.env[k]])) }))';
  const spec = {
    command: [NODE, '-e', printer, '--', '--port=${PORT}', '$$HOME', '$(NOT_A_VAR) ${URL}'],
    replicas: 2,
    ports: { PORT: 8080 },
    env: { PLAIN: 'x', URL: 'http://127.0.0.1:${PORT}/x', NAME: 'svc-${TEND_SERVICE}', Q: 'a "quoted" $(PLAIN) $$(literal) ${PLAIN} ${LATER:-d}', LATER: 'l' },
  };
  const { result } = await loadSpecs(t, { 'web.yaml': stringify(spec) });
  const [web] = result.services;
  const out = exportK8s(result.services, { images: images('web') });
  const c = (out.objects[0] as unknown as Json).spec.template.spec.containers[0];
  const vars = new Map<string, string>();
  for (const e of c.env as Json[]) vars.set(e.name, e.valueFrom ? 'web-5d4f-x' : k8sExpand(e.value, vars));
  const argv = (c.command as string[]).map((a) => k8sExpand(a, vars));
  const pod = spawnSync(argv[0]!, argv.slice(1), { cwd: c.workingDir, env: Object.fromEntries(vars), encoding: 'utf8' });
  assert.equal(pod.status, 0, pod.stderr);
  const launch = expandReplica(web!, 0, {});
  const tend = spawnSync(launch.argv[0]!, launch.argv.slice(1), { cwd: launch.cwd, env: launch.env, encoding: 'utf8' });
  assert.equal(tend.status, 0, tend.stderr);
  assert.deepEqual(JSON.parse(pod.stdout), JSON.parse(tend.stdout));
});
