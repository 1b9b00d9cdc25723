// The CLI without a daemon: help, validate, scale on a temp directory, plan against nothing,
// completion scripts, and what a client says when no daemon answers.

import assert from 'node:assert/strict';
import { chmodSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { ROOT, tempDir } from '../helpers/index.js';
import { runCli } from './run-cli.js';

const WEB = `# web tier: keep this comment
command: ["node",   "server.js"]    # flow style, odd spacing
replicas: 2   # scaled by tend scale
env:
  LOG_LEVEL: info
`;
const JOBS = `---
name: worker
command: [node, worker.js]
replicas: 1
---
# the mailer has no replicas key yet
name: mailer
command: [node, mailer.js]
`;

test('--help lists every verb and each verb has examples', async (t) => {
  const dir = tempDir(t);
  const top = await runCli(dir, ['--help']);
  assert.equal(top.code, 0);
  for (const verb of ['up', 'down', 'status', 'logs', 'scale', 'restart', 'pause', 'resume', 'kill', 'stop', 'start', 'validate', 'plan', 'export', 'import', 'events', 'history', 'notify', 'completion']) {
    assert.match(top.stdout, new RegExp(`\\n  ${verb} `), verb);
  }
  assert.match(top.stdout, /Exit codes: 0 ok/);
  const scale = await runCli(dir, ['scale', '--help']);
  assert.equal(scale.code, 0);
  assert.match(scale.stdout, /Examples:\n  tend scale web=5/);
});

test('an unknown option is a usage error (exit 5)', async (t) => {
  const r = await runCli(tempDir(t), ['status', '--bogus']);
  assert.equal(r.code, 5);
  assert.match(r.stderr, /unknown option '--bogus'/);
});

test('client commands without a daemon exit 3 and say how to start one', async (t) => {
  const dir = tempDir(t);
  for (const args of [['status'], ['logs', 'web'], ['restart', 'web'], ['events']]) {
    const r = await runCli(dir, args);
    assert.equal(r.code, 3, args.join(' '));
    assert.equal(r.stderr, 'tend: no tend daemon on .tend/tend.sock — start one with `tend up -d`\n', args.join(' '));
  }
  // `down` wants nothing to run: with no daemon and nothing left behind, that already holds.
  const down = await runCli(dir, ['down']);
  assert.equal(down.code, 0);
  assert.equal(down.stdout, 'no tend daemon runs here: nothing to stop\n');
});

test('validate: exit 0 for a good directory, 1 with file:line:col for a bad one', async (t) => {
  const dir = tempDir(t, { 'services.d/web.yaml': WEB, 'bad.d/web.yaml': 'command: x\nreplicas: many\n' });
  const good = await runCli(dir, ['validate']);
  assert.equal(good.code, 0, good.stderr + good.stdout);
  const bad = await runCli(dir, ['validate', 'bad.d']);
  assert.equal(bad.code, 1);
  assert.match(bad.stdout + bad.stderr, /web\.yaml:2:\d+: /);
});

test('scale edits only the number, keeps the mode, and adds the key in the right document', async (t) => {
  const dir = tempDir(t, { 'services.d/web.yaml': WEB, 'services.d/jobs.yaml': JOBS });
  chmodSync(join(dir, 'services.d/web.yaml'), 0o640);
  const r = await runCli(dir, ['scale', 'web=5', 'mailer=3']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, 'web: replicas 2 → 5 (web.yaml)\nmailer: replicas 1 → 3 (jobs.yaml)\n');
  assert.equal(readFileSync(join(dir, 'services.d/web.yaml'), 'utf8'), WEB.replace('replicas: 2 ', 'replicas: 5 '));
  assert.equal(statSync(join(dir, 'services.d/web.yaml')).mode & 0o777, 0o640);
  assert.equal(
    readFileSync(join(dir, 'services.d/jobs.yaml'), 'utf8'),
    JOBS.replace('name: mailer\n', 'name: mailer\nreplicas: 3\n'),
  );
});

test('scale refuses an unknown service and a malformed assignment, writing nothing', async (t) => {
  const dir = tempDir(t, { 'services.d/web.yaml': WEB });
  const unknown = await runCli(dir, ['scale', 'web=3', 'nope=1']);
  assert.equal(unknown.code, 4);
  assert.match(unknown.stderr, /no service "nope"/);
  assert.equal(readFileSync(join(dir, 'services.d/web.yaml'), 'utf8'), WEB);
  const malformed = await runCli(dir, ['scale', 'web=-1']);
  assert.equal(malformed.code, 5);
  assert.match(malformed.stderr, /expected SERVICE=COUNT/);
});

test('plan without a daemon compares against nothing; --exit-code exits 2', async (t) => {
  const dir = tempDir(t, { 'services.d/web.yaml': WEB, 'services.d/jobs.yaml': JOBS });
  const r = await runCli(dir, ['plan', '--exit-code']);
  assert.equal(r.code, 2, r.stderr);
  assert.equal(r.stdout, '+ mailer/0 start\n+ web/0 start\n+ web/1 start\n+ worker/0 start\n');
  assert.match(r.stderr, /no tend daemon runs here/);
  const plain = await runCli(dir, ['plan']);
  assert.equal(plain.code, 0);
  const json = await runCli(dir, ['plan', '-o', 'json']);
  const report = JSON.parse(json.stdout) as { changes: { op: string; service: string; index: number }[]; errors: unknown[] };
  assert.deepEqual(report.changes[0], { op: '+', service: 'mailer', index: 0, text: '+ mailer/0 start' });
  assert.deepEqual(report.errors, []);
});

test('plan of a directory with spec errors prints them and exits 1', async (t) => {
  const dir = tempDir(t, { 'services.d/web.yaml': WEB, 'services.d/bad.yaml': 'command: x\nreplicas: many\n' });
  const r = await runCli(dir, ['plan', '--exit-code']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /error: services\.d\/bad\.yaml:2:\d+: /);
});

test('completion prints the committed scripts', async (t) => {
  const dir = tempDir(t);
  for (const [shell, file] of [['bash', 'completions/tend.bash'], ['zsh', 'completions/_tend']] as const) {
    const r = await runCli(dir, ['completion', shell]);
    assert.equal(r.code, 0);
    assert.equal(r.stdout, readFileSync(join(ROOT, file), 'utf8'));
    assert.match(r.stdout, shell === 'bash' ? /complete -F _tend tend/ : /^#compdef tend/);
  }
});
