// `tend export` as users run it: output on stdout or in files, the report on stderr, exit codes,
// and nothing written when the directory is invalid, a service cannot be expressed, or --strict
// meets a dropped field.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { ROOT, tempDir } from '../helpers/index.js';
import { runCli } from '../cli/run-cli.js';
import { k8sProblems, nomadProblems } from './validate.js';

const WEB = 'command: [sh, -c, "exec sleep 1000"]\nreplicas: 2\nports: { PORT: 8080 }\nreadiness:\n  tcp: { port: "${PORT}" }\n';
const JOB = 'command: [sh, -c, "echo done"]\noneshot: true\n';

test('export nomad prints a job the jobs API accepts, and the report table on stderr', async (t) => {
  const dir = tempDir(t, { 'shop/services.d/web.yaml': WEB });
  const r = await runCli(join(dir, 'shop'), ['export', 'nomad']);
  assert.equal(r.code, 0, r.stderr);
  const body = JSON.parse(r.stdout) as { Job: { ID: string; TaskGroups: { Tasks: { Config: { command: string } }[] }[] } };
  assert.deepEqual(nomadProblems(body), []);
  assert.equal(body.Job.ID, 'shop', 'named after the directory holding services.d');
  assert.match(body.Job.TaskGroups[0]!.Tasks[0]!.Config.command, /^\/.*\/sh$/, 'sh resolved on PATH to an absolute path');
  assert.match(r.stderr, /^SERVICE +FIELD +STATUS +HOW$/m);
  assert.match(r.stderr, /^web +ports +approximated +/m);
  assert.match(r.stderr, /^\d+ fields: \d+ converted, \d+ approximated, 0 dropped$/m);
});

test('an invalid directory exports nothing and prints the same errors as tend validate', async (t) => {
  const dir = tempDir(t, { 'services.d/web.yaml': 'command: [x]\nreplicas: many\n', 'services.d/db.yaml': 'comand: [y]\n' });
  const out = join(dir, 'job.json');
  const r = await runCli(dir, ['export', 'nomad', '-o', out]);
  const v = await runCli(dir, ['validate']);
  assert.equal(r.code, 1);
  assert.equal(v.code, 1);
  assert.equal(r.stdout, '');
  const lines = v.stdout.trim().split('\n');
  assert.ok(lines.length >= 2 && lines.every((l) => /^services\.d\/\w+\.yaml:\d+:\d+: /.test(l)), v.stdout);
  for (const l of lines) assert.ok(r.stderr.includes(`${l}\n`), `export prints ${l}`);
  assert.match(r.stderr, /nothing exported/);
  assert.equal(existsSync(out), false);
});

test('--strict exits 1 and writes nothing when a field is dropped; without it the export is written', async (t) => {
  // An exec liveness probe has no Nomad-native check.
  const dir = tempDir(t, { 'services.d/web.yaml': `${WEB}liveness:\n  exec: [sh, -c, "true"]\n` });
  const out = join(dir, 'job.json');
  const strict = await runCli(dir, ['export', 'nomad', '--strict', '-o', out]);
  assert.equal(strict.code, 1);
  assert.match(strict.stderr, /web: liveness is dropped: Nomad's native service checks are http and tcp only/);
  assert.match(strict.stderr, /--strict: 1 field dropped; nothing exported/);
  assert.equal(existsSync(out), false);
  const loose = await runCli(dir, ['export', 'nomad', '-o', out]);
  assert.equal(loose.code, 0, loose.stderr);
  assert.match(loose.stderr, /^web +liveness +dropped +/m);
  assert.deepEqual(nomadProblems(JSON.parse(readFileSync(out, 'utf8'))), []);
});

test('export k8s -o DIR/ writes one valid file per object; --report json is machine-readable', async (t) => {
  const dir = tempDir(t, { 'services.d/web.yaml': WEB, 'services.d/setup.yaml': JOB });
  const r = await runCli(dir, ['export', 'k8s', '--image', 'web=example/web:1', '--image', 'setup=example/setup:1', '--report', 'json', '-o', 'k8s/']);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(readdirSync(join(dir, 'k8s')).sort(), ['setup-job.yaml', 'web-deployment.yaml', 'web-service.yaml']);
  for (const f of readdirSync(join(dir, 'k8s'))) {
    const docs = parseAllDocuments(readFileSync(join(dir, 'k8s', f), 'utf8'));
    assert.equal(docs.length, 1);
    assert.deepEqual(k8sProblems(docs[0]!.toJS()), [], f);
  }
  const report = JSON.parse(r.stderr.slice(0, r.stderr.lastIndexOf('}') + 1)) as { target: string; summary: Record<string, number>; fields: { service: string; field: string; status: string }[] };
  assert.equal(report.target, 'kubernetes');
  assert.ok(report.fields.some((f) => f.service === 'setup' && f.field === 'oneshot' && f.status === 'converted'));
  assert.equal(report.summary.converted + report.summary.approximated + report.summary.dropped, report.fields.length);
});

test('export k8s to stdout is one multi-document YAML stream', async (t) => {
  const dir = tempDir(t, { 'services.d/web.yaml': WEB });
  const r = await runCli(dir, ['export', 'k8s', '--image', 'web=example/web:1', '--report', 'none']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, '');
  const docs = parseAllDocuments(r.stdout).map((d) => d.toJS() as { kind: string });
  assert.deepEqual(docs.map((d) => d.kind), ['Deployment', 'Service']);
});

test('a service without an image, or a program not on PATH, is an error naming it, and nothing is written', async (t) => {
  const dir = tempDir(t, { 'services.d/web.yaml': WEB, 'services.d/setup.yaml': JOB });
  const k = await runCli(dir, ['export', 'k8s', '--image', 'web=example/web:1', '-o', 'out.yaml']);
  assert.equal(k.code, 1);
  assert.match(k.stderr, /tend: setup: no image for setup: pass --image setup=IMAGE/);
  assert.equal(existsSync(join(dir, 'out.yaml')), false);

  const dir2 = tempDir(t, { 'services.d/web.yaml': 'command: [tend-no-such-program]\n' });
  const n = await runCli(dir2, ['export', 'nomad', '-o', 'job.json']);
  assert.equal(n.code, 1);
  assert.match(n.stderr, /tend: web: command: "tend-no-such-program" is not on PATH here/);
  assert.equal(existsSync(join(dir2, 'job.json')), false);
});

test('two Nomad jobs need -o DIR/; a bad target or a flag of the other target is a usage error (exit 5)', async (t) => {
  const dir = tempDir(t, { 'services.d/web.yaml': WEB, 'services.d/setup.yaml': JOB });
  const file = await runCli(dir, ['export', 'nomad', '-o', 'job.json']);
  assert.equal(file.code, 5);
  assert.match(file.stderr, /2 Nomad jobs .*give -o a directory/);
  const many = await runCli(dir, ['export', 'nomad', '--job', 'shop', '-o', 'jobs/', '--report', 'none']);
  assert.equal(many.code, 0, many.stderr);
  assert.deepEqual(readdirSync(join(dir, 'jobs')).sort(), ['shop-oneshot.json', 'shop.json']);
  for (const f of readdirSync(join(dir, 'jobs'))) assert.deepEqual(nomadProblems(JSON.parse(readFileSync(join(dir, 'jobs', f), 'utf8'))), [], f);

  assert.equal((await runCli(dir, ['export', 'swarm'])).code, 5);
  assert.equal((await runCli(dir, ['export', 'nomad', '--image', 'web=x'])).code, 5);
});

test('bash completion offers export, its targets and its options', () => {
  const complete = (...words: string[]) => {
    const script = `source completions/tend.bash; COMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}; _tend; echo "\${COMPREPLY[*]}"`;
    return execFileSync('bash', ['-c', script], { cwd: ROOT, encoding: 'utf8' }).trim();
  };
  assert.equal(complete('tend', 'ex'), 'exec export');
  assert.match(complete('tend', 'exp'), /^export$/);
  assert.equal(complete('tend', 'export', ''), 'nomad k8s');
  assert.match(complete('tend', 'export', 'nomad', '--st'), /^--strict$/);
  assert.equal(complete('tend', 'export', 'nomad', '--report', ''), 'table json none');
  assert.equal(complete('tend', 'export', 'k8s', '--driver', ''), 'raw_exec exec');
});

// Kubernetes' IANA_SVC_NAME: at most 15 lowercase letters, digits and "-", with a letter, no "-" at
// either end or twice in a row (validation.IsValidPortName).
const IANA_SVC_NAME = /^(?=.*[a-z])(?!-)(?!.*--)[a-z0-9-]{1,15}(?<!-)$/;

test('export k8s gives two long port names that share their first 15 characters distinct valid names, says so, and the Service targets them', async (t) => {
  const dir = tempDir(t, { 'services.d/app.yaml': 'command: ["app"]\nports: { PROMETHEUS_METRICS_PORT: 9100, PROMETHEUS_METRICS_PORT_TLS: 9200 }\n' });
  const r = await runCli(dir, ['export', 'k8s', '--image', 'app=x', '-o', 'k8s.yaml']);
  assert.equal(r.code, 0, r.stderr);
  const docs = parseAllDocuments(readFileSync(join(dir, 'k8s.yaml'), 'utf8')).map((d) => d.toJS() as Record<string, any>);
  for (const d of docs) assert.deepEqual(k8sProblems(d), [], d.kind);
  const deployment = docs.find((d) => d.kind === 'Deployment')!;
  const service = docs.find((d) => d.kind === 'Service')!;
  const containerPorts = deployment.spec.template.spec.containers[0].ports as { name: string; containerPort: number }[];
  const servicePorts = service.spec.ports as { name: string; port: number; targetPort: string }[];
  // kubernetes-models checks each name's pattern, not that names are unique within a container or a Service.
  for (const names of [containerPorts.map((p) => p.name), servicePorts.map((p) => p.name)]) {
    assert.equal(new Set(names).size, names.length, `unique: ${names.join(', ')}`);
    for (const n of names) assert.match(n, IANA_SVC_NAME);
  }
  // Each Service port targets the container port of the same number, by its name.
  for (const sp of servicePorts) assert.equal(containerPorts.find((c) => c.name === sp.targetPort)?.containerPort, sp.port, sp.name);
  // The report says which names were changed, and to what.
  const row = r.stderr.split('\n').find((l) => /^app +ports +/.test(l)) ?? '';
  for (const [env, port] of [['PROMETHEUS_METRICS_PORT', 9100], ['PROMETHEUS_METRICS_PORT_TLS', 9200]] as const) {
    const named = containerPorts.find((c) => c.containerPort === port)!.name;
    assert.ok(row.includes(`${env}=${port} as port ${named} (`), `the report names ${env}'s port ${named}: ${row}`);
  }
});
