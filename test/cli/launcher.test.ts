// `tend` run as a command (npx tend, a global install, ./dist/bin/tend.js): the sh line at the top
// of dist/bin/tend.js starts tend's Node with NODE_EXTRA_CA_CERTS moved aside, and the CLI puts it
// back (src/util/deferred-ca.ts); it records the open-files limit Node raises (src/util/nofile.ts). Checked from the user's side: what tend's own processes were
// started with (/proc/PID/environ), what a replica and a hook command see, and a webhook to a
// server that only the file the variable names makes trusted.
//
// test/fixtures/tls/cert.pem is self-signed for 127.0.0.1:
//   openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 36500 \
//     -subj "/CN=tend test 127.0.0.1" -addext "subjectAltName=IP:127.0.0.1" -keyout key.pem -out cert.pem

import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { get } from 'node:https';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { killMarkedGroups, markedGroups } from '../helpers/daemon.js';
import { cleanup, NODE, tempDir, waitFor, writeFiles } from '../helpers/index.js';
import { ok, startReceiver } from '../hooks/receivers.js';
import { sameProcess } from '../../src/runtime/proc.js';
import { PID_NAME, readPidFile } from '../../src/state/pid-file.js';
import { DEFERRED_CA_VAR } from '../../src/util/deferred-ca.js';
import { CALLER_NODE_OPTIONS_VAR, OWN_NODE_OPTIONS_VAR } from '../../src/util/node-options.js';
import { CALLER_NOFILE_VAR } from '../../src/util/nofile.js';

const CLI = join(import.meta.dirname, '..', '..', 'dist', 'bin', 'tend.js');
const TLS = join(import.meta.dirname, '..', 'fixtures', 'tls');
const CERT = join(TLS, 'cert.pem');

/** The environment a process was started with, as NAME=value lines. */
const startedWith = (pid: number): string[] => readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
const envFile = (file: string): string[] => readFileSync(file, 'utf8').split('\n');
const CA_LINE = /^(NODE_EXTRA_CA_CERTS|TEND_DEFERRED_NODE_EXTRA_CA_CERTS)=/;
const caLines = (lines: string[]): string[] => lines.filter((l) => CA_LINE.test(l));

/** A project whose replica and spec.loaded hook write their environment into the project (whole,
 *  then renamed: a file that exists is complete). `started()` records its daemon, once running, for
 *  the cleanup: that runs after the directory (and the pid file in it) is removed. */
function project(t: TestContext, hooks: string): { root: string; state: string; env: NodeJS.ProcessEnv; started: () => number } {
  const root = tempDir(t);
  writeFiles(root, {
    'services.d/envy.yaml': `command: ["sh", "-c", "env > ${root}/r.tmp && mv ${root}/r.tmp ${root}/replica.env; exec sleep 1000"]\n`,
    'tend.yaml': `on:\n  spec.loaded:\n    - command: ["sh", "-c", "env > ${root}/h.tmp && mv ${root}/h.tmp ${root}/hook.env"]\n${hooks}`,
  });
  const state = join(root, '.tend');
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env['TEND_STATE_DIR'];
  let daemon: { pid: number; startTime: number } | undefined;
  cleanup(t, () => {
    if (daemon && sameProcess(daemon)) process.kill(daemon.pid, 'SIGKILL');
    killMarkedGroups(state);
  });
  const started = (): number => {
    daemon = readPidFile(join(state, PID_NAME));
    assert.ok(daemon, 'the daemon wrote its pid file');
    markedGroups(state); // remembers the daemon's token
    return daemon.pid;
  };
  return { root, state, env, started };
}

test('tend run as a command starts its Node without NODE_EXTRA_CA_CERTS; its replicas, hook commands and webhooks get the variable as exported', async (t) => {
  assert.ok(existsSync(CLI), 'npm run build made dist/bin/tend.js');
  const receiver = await startReceiver(t, ok, { key: readFileSync(join(TLS, 'key.pem'), 'utf8'), cert: readFileSync(CERT, 'utf8') });
  // Control: the receiver's certificate is trusted by nothing but that file.
  const refused = await new Promise<string>((resolve) => get(receiver.url, (res) => resolve(`answered ${res.statusCode}`)).on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message)));
  assert.equal(refused, 'DEPTH_ZERO_SELF_SIGNED_CERT');

  const { root, state, env, started } = project(t, `    - url: "${receiver.url}"\n`);
  env['NODE_EXTRA_CA_CERTS'] = CERT;
  const up = spawnSync(CLI, ['up', '-d', '--wait'], { cwd: root, env, encoding: 'utf8', timeout: 60_000 });
  assert.equal(up.status, 0, up.stderr);
  // The detached daemon is started as the command starts itself: the variable moved aside.
  assert.deepEqual(caLines(startedWith(started())), [`${DEFERRED_CA_VAR}=${CERT}`]);

  await waitFor(() => existsSync(join(root, 'replica.env')) && existsSync(join(root, 'hook.env')) && receiver.received.length > 0, { what: 'the replica, the hook command and the webhook', timeoutMs: 30_000 });
  assert.deepEqual(caLines(envFile(join(root, 'replica.env'))), [`NODE_EXTRA_CA_CERTS=${CERT}`]);
  assert.deepEqual(caLines(envFile(join(root, 'hook.env'))), [`NODE_EXTRA_CA_CERTS=${CERT}`]);
  assert.equal((receiver.received[0]!.body as { event: { type: string } }).event.type, 'spec.loaded');

  const down = spawnSync(CLI, ['down'], { cwd: root, env, encoding: 'utf8', timeout: 60_000 });
  assert.equal(down.status, 0, down.stderr);
  assert.deepEqual(markedGroups(state), [], 'no replica left');
});

test('tend in the foreground, run as a command: its own Node without the variable; an empty NODE_EXTRA_CA_CERTS is passed on as it is', async (t) => {
  for (const [ca, ownStart] of [
    [CERT, [`${DEFERRED_CA_VAR}=${CERT}`]],
    ['', ['NODE_EXTRA_CA_CERTS=']],
  ] as const) {
    const { root, state, env, started } = project(t, '');
    env['NODE_EXTRA_CA_CERTS'] = ca;
    // The command itself: sh execs node, which keeps the pid.
    const child = spawn(CLI, ['up'], { cwd: root, env, stdio: 'ignore' });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    cleanup(t, () => void (child.exitCode === null && child.signalCode === null && child.kill('SIGKILL')));
    await waitFor(() => existsSync(join(root, 'replica.env')) && existsSync(join(root, 'hook.env')), { what: 'the replica and the hook command', timeoutMs: 30_000 });
    assert.equal(started(), child.pid);
    assert.deepEqual(caLines(startedWith(child.pid!)), [...ownStart], `tend's own start, NODE_EXTRA_CA_CERTS=${JSON.stringify(ca)}`);
    assert.deepEqual(caLines(envFile(join(root, 'replica.env'))), [`NODE_EXTRA_CA_CERTS=${ca}`]);
    assert.deepEqual(caLines(envFile(join(root, 'hook.env'))), [`NODE_EXTRA_CA_CERTS=${ca}`]);
    const down = spawnSync(CLI, ['down'], { cwd: root, env, encoding: 'utf8', timeout: 60_000 });
    assert.equal(down.status, 0, down.stderr);
    await exited;
    assert.deepEqual(markedGroups(state), [], 'no replica left');
  }
});

test('dist/bin/tend.js runs the same as a command and as `node tend.js`', () => {
  const version = (JSON.parse(readFileSync(join(import.meta.dirname, '..', '..', 'package.json'), 'utf8')) as { version: string }).version;
  for (const argv of [[CLI], [NODE, CLI]]) {
    const r = spawnSync(argv[0]!, [...argv.slice(1), '--version'], { encoding: 'utf8', timeout: 30_000, env: { ...process.env, NODE_EXTRA_CA_CERTS: CERT } });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), version);
    assert.equal(r.stderr, '');
  }
});

/** Soft and hard open-files limits of a process, from /proc/PID/limits. */
function nofileOf(pid: number | 'self'): { soft: number; hard: number } {
  const m = /^Max open files\s+(\d+)\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/limits`, 'latin1'))!;
  return { soft: Number(m[1]), hard: Number(m[2]) };
}

test('replicas get the open-files limit tend was started with, not the hard limit its Node raised it to', async (t) => {
  const { hard } = nofileOf('self');
  if (hard <= 512) return t.skip(`the hard limit here is ${hard}: no soft limit below it to start tend with`);
  assert.equal(CALLER_NOFILE_VAR, 'TEND_CALLER_NOFILE', 'as the launcher names it (scripts/bundle-cli.mjs)');
  for (const [mode, helper] of [['up -d', undefined], ['up', undefined], ['up -d', 'node']] as const) {
    const { root, state, env, started } = project(t, '');
    if (helper !== undefined) env['TEND_SPAWN_HELPER'] = helper;
    // As a shell under systemd's default (1024 soft) runs it: `ulimit -Sn` below the hard limit.
    const args = ['-c', 'ulimit -S -n 512 && exec "$0" "$@"', CLI, ...mode.split(' ')];
    let child: ReturnType<typeof spawn> | undefined;
    if (mode === 'up -d') {
      const up = spawnSync('sh', [...args, '--wait'], { cwd: root, env, encoding: 'utf8', timeout: 60_000 });
      assert.equal(up.status, 0, up.stderr);
    } else {
      child = spawn('sh', args, { cwd: root, env, stdio: 'ignore' });
      const c = child;
      cleanup(t, () => void (c.exitCode === null && c.signalCode === null && c.kill('SIGKILL')));
    }
    await waitFor(() => existsSync(join(root, 'replica.env')) && existsSync(join(state, PID_NAME)), { what: 'the replica', timeoutMs: 30_000 });
    const daemon = started();
    assert.deepEqual(nofileOf(daemon), { soft: hard, hard }, 'tend\'s own Node raised its soft limit (why this matters)');
    const status = spawnSync(CLI, ['status', '-o', 'json'], { cwd: root, env, encoding: 'utf8', timeout: 30_000 });
    const replica = (JSON.parse(status.stdout) as { services: { replicas: { pid: number }[] }[] }).services[0]!.replicas[0]!.pid;
    if (helper === 'node') {
      // Node cannot set a child's limit: said in the daemon's log, not hidden.
      assert.deepEqual(nofileOf(replica), { soft: hard, hard });
      await waitFor(() => readFileSync(join(state, 'tend.log'), 'utf8').includes(`not the 512 tend was started with`), { what: 'the warning in tend.log' });
    } else {
      assert.deepEqual(nofileOf(replica), { soft: 512, hard }, `${mode}: the replica's limit`);
    }
    assert.deepEqual(envFile(join(root, 'replica.env')).filter((l) => l.startsWith(`${CALLER_NOFILE_VAR}=`)), [], 'the launcher\'s record is not passed on');
    const down = spawnSync(CLI, ['down'], { cwd: root, env, encoding: 'utf8', timeout: 60_000 });
    assert.equal(down.status, 0, down.stderr);
    assert.deepEqual(markedGroups(state), [], 'no replica left');
  }
});

test('NODE_OPTIONS exported for the services is theirs: tend\'s own Node starts without it, replicas, hook commands and webhooks work with it; TEND_NODE_OPTIONS is tend\'s', async (t) => {
  assert.deepEqual([CALLER_NODE_OPTIONS_VAR, OWN_NODE_OPTIONS_VAR], ['TEND_CALLER_NODE_OPTIONS', 'TEND_NODE_OPTIONS'], 'as the launcher names them (scripts/bundle-cli.mjs)');
  const receiver = await startReceiver(t, ok);
  const root = tempDir(t);
  // As OpenTelemetry's instructions have it: a preload relative to the program's directory, which
  // is not where tend is run from.
  writeFiles(root, {
    'app/preload.cjs': `require('node:fs').writeFileSync(require('node:path').join(process.cwd(), 'preloaded'), 'yes');\n`,
    'services.d/app.yaml': `command: ["node", "-e", "setInterval(() => {}, 1000)"]\ncwd: ../app\n`,
    'tend.yaml': `on:\n  spec.loaded:\n    - command: ["sh", "-c", "env > ${root}/h.tmp && mv ${root}/h.tmp ${root}/hook.env"]\n    - url: "${receiver.url}"\n`,
  });
  const state = join(root, '.tend');
  const env: NodeJS.ProcessEnv = { ...process.env, NODE_OPTIONS: '--require ./preload.cjs', TEND_NODE_OPTIONS: '--max-old-space-size=300' };
  delete env['TEND_STATE_DIR'];
  cleanup(t, () => killMarkedGroups(state));
  const up = spawnSync(CLI, ['up', '-d', '--wait'], { cwd: root, env, encoding: 'utf8', timeout: 60_000 });
  assert.equal(up.status, 0, up.stderr);
  const daemon = readPidFile(join(state, PID_NAME))!;
  markedGroups(state);
  cleanup(t, () => void (sameProcess(daemon) && process.kill(daemon.pid, 'SIGKILL')));
  const nodeOptions = (lines: string[]) => lines.filter((l) => /^(NODE_OPTIONS|TEND_CALLER_NODE_OPTIONS)=/.test(l));
  assert.deepEqual(nodeOptions(startedWith(daemon.pid)).sort(), ['NODE_OPTIONS=--max-old-space-size=300', 'TEND_CALLER_NODE_OPTIONS=--require ./preload.cjs'], 'tend\'s own Node got TEND_NODE_OPTIONS');

  const status = spawnSync(CLI, ['status', '-o', 'json'], { cwd: root, env, encoding: 'utf8', timeout: 30_000 });
  assert.equal(status.status, 0, status.stderr);
  const replica = (JSON.parse(status.stdout) as { services: { replicas: { pid: number }[] }[] }).services[0]!.replicas[0]!.pid;
  assert.deepEqual(nodeOptions(startedWith(replica)), ['NODE_OPTIONS=--require ./preload.cjs'], 'the replica gets NODE_OPTIONS as exported');
  assert.equal(readFileSync(join(root, 'app', 'preloaded'), 'utf8'), 'yes', 'and its preload ran');

  await waitFor(() => existsSync(join(root, 'hook.env')) && receiver.received.length > 0, { what: 'the hook command and the webhook', timeoutMs: 30_000 });
  assert.deepEqual(nodeOptions(envFile(join(root, 'hook.env'))), ['NODE_OPTIONS=--require ./preload.cjs']);

  const down = spawnSync(CLI, ['down'], { cwd: root, env, encoding: 'utf8', timeout: 60_000 });
  assert.equal(down.status, 0, down.stderr);
  assert.deepEqual(markedGroups(state), [], 'no replica left');
});
