// `tend startup`: a systemd unit that runs tend at boot (src/cli/startup.ts). The unit is checked
// by systemd's own parser (systemd-analyze verify), and then run as systemd runs it, from its
// fields alone: a clean environment with the unit's PATH, its working directory, and a service
// manager's notify socket. node is a copy outside systemd's PATH, as nvm or /opt installs it.

import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, linkSync, mkdirSync, readFileSync, readlinkSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { quoteArg, stopTimeoutSec, systemdUnit, unitName } from '../../src/cli/startup.js';
import { killMarkedGroups, markedGroups } from '../helpers/daemon.js';
import { BUILT, cleanup, isAlive, specDir, tempDir, waitFor } from '../helpers/index.js';
import { startNotifyReceiver } from '../helpers/notify-receiver.js';
import { service } from '../helpers/spec.js';

const hasAnalyze = spawnSync('systemd-analyze', ['--version']).status === 0;
const canNotify = (() => {
  try {
    createRequire(import.meta.url)('unix-dgram');
    return true;
  } catch {
    return false;
  }
})();

/** The values of `Key=` lines of a unit. */
const field = (unit: string, key: string): string[] => unit.split('\n').filter((l) => l.startsWith(`${key}=`)).map((l) => l.slice(key.length + 1));

/** The arguments of ExecStart= as systemd splits them: each in double quotes, `\\` and `\"` escaped,
 *  `$$` and `%%` doubled (what quoteArg writes). */
function execArgs(line: string): string[] {
  return [...line.matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((m) => m[1]!.replace(/\\(.)/g, '$1').replace(/\$\$/g, '$').replace(/%%/g, '%'));
}

test('quoteArg: what ExecStart= reads back as one argument', () => {
  const cases: [string, string][] = [
    ['/srv/app', '"/srv/app"'],
    ['/srv/my app', '"/srv/my app"'],
    ['/srv/100%', '"/srv/100%%"'],
    ['/srv/$HOME', '"/srv/$$HOME"'],
    ['/srv/a"b\\c', '"/srv/a\\"b\\\\c"'],
  ];
  for (const [arg, quoted] of cases) {
    assert.equal(quoteArg(arg), quoted, arg);
    assert.deepEqual(execArgs(quoted), [arg], `${arg} read back`);
  }
  assert.throws(() => quoteArg('/srv/a\nb'), /line break/);
});

test('stopTimeoutSec: the longest chain of dependents, each stop_timeout in turn, plus a margin; never below systemd\'s 90 s', () => {
  const s = (name: string, stopTimeoutMs: number, dependsOn: Record<string, 'started'> = {}) => service(name, { stopTimeoutMs, dependsOn });
  assert.equal(stopTimeoutSec([]), 90);
  assert.equal(stopTimeoutSec([s('web', 10_000)]), 90);
  // db is stopped after api, api after front: 50 + 40 + 30 s, and 20 s for tend itself (signals,
  // the last state write, the hooks the stop set off).
  assert.equal(stopTimeoutSec([s('db', 30_000), s('api', 40_000, { db: 'started' }), s('front', 50_000, { api: 'started' }), s('lone', 100_000)]), 140);
  assert.equal(stopTimeoutSec([s('a', 60_000, { b: 'started' }), s('b', 60_000, { a: 'started' })]), 140, 'a cycle (reported by the loader) ends');
  assert.equal(unitName('/srv/app'), 'tend-app');
  assert.equal(unitName('/srv/app', 'web.service'), 'web');
  assert.throws(() => unitName('/srv/app', 'a b'), /unit name/);
});

test('the unit parses as systemd reads it: a path with a space, %, $ and a quote', { skip: !hasAnalyze && 'no systemd-analyze here' }, (t) => {
  const dir = tempDir(t);
  const odd = join(dir, 'my app 100% $HOME "x"');
  mkdirSync(join(odd, 'services.d'), { recursive: true });
  const unit = systemdUnit({ tend: BUILT, nodeDir: '/opt/node/bin', dir: join(odd, 'services.d'), stateDir: join(odd, '.tend'), workingDir: odd, scope: 'system', notify: true, stopTimeoutSec: 90 });
  const file = join(dir, 'tend-odd.service');
  writeFileSync(file, unit);
  const r = spawnSync('systemd-analyze', ['verify', file], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stderr, '');
  assert.deepEqual(execArgs(field(unit, 'ExecStart')[0]!), [BUILT, '--state-dir', join(odd, '.tend'), 'up', join(odd, 'services.d')]);
});

test('tend startup: the unit runs tend as systemd would, with node outside systemd\'s PATH; --user --install writes it where systemctl --user looks', { timeout: 120_000 }, async (t) => {
  const { root } = specDir(t, { 'w.yaml': 'command: ["sleep", "1000"]\nstop_timeout: 2s\n' });
  const state = join(root, '.tend');
  // node where nvm puts it: not on systemd's PATH.
  const nodeDir = join(tempDir(t), 'nvm', 'versions', 'node', 'v20', 'bin');
  mkdirSync(nodeDir, { recursive: true });
  try {
    linkSync(process.execPath, join(nodeDir, 'node'));
  } catch {
    copyFileSync(process.execPath, join(nodeDir, 'node'));
  }
  const node = join(nodeDir, 'node');
  const env = { ...process.env };
  // As a user types it, not as `sudo npm test` runs it (that is the case below).
  delete env['TEND_STATE_DIR'];
  delete env['SUDO_USER'];
  const made = spawnSync(node, [BUILT, 'startup'], { cwd: root, env, encoding: 'utf8' });
  assert.equal(made.status, 0, made.stderr);
  const unit = made.stdout;
  assert.match(made.stderr, /to install it: tend startup --install/);
  assert.deepEqual(field(unit, 'Type'), [canNotify ? 'notify' : 'exec']);
  assert.deepEqual(field(unit, 'WorkingDirectory'), [root]);
  const root0 = process.getuid?.() === 0;
  assert.deepEqual(field(unit, 'User'), root0 ? [] : [userInfo().username], 'it runs as whoever asked (root: as root)');
  if (root0) {
    const viaSudo = spawnSync(node, [BUILT, 'startup'], { cwd: root, env: { ...env, SUDO_USER: 'deploy' }, encoding: 'utf8' });
    assert.deepEqual(field(viaSudo.stdout, 'User'), ['deploy'], '`sudo tend startup`: as the one who ran sudo');
  }
  assert.deepEqual(field(unit, 'WantedBy'), ['multi-user.target']);
  const args = execArgs(field(unit, 'ExecStart')[0]!);
  assert.deepEqual(args, [BUILT, '--state-dir', state, 'up', join(root, 'services.d')]);
  const path = execArgs(field(unit, 'Environment')[0]!)[0]!;
  assert.equal(path, `PATH=${nodeDir}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`);

  // As systemd starts it: nothing of this shell's environment, the unit's PATH, its directory.
  const receiverSocket = join(tempDir(t), 'notify');
  const heard = await startNotifyReceiver(t, receiverSocket);
  const daemon = spawn(args[0]!, args.slice(1), { cwd: field(unit, 'WorkingDirectory')[0]!, env: { PATH: path.slice('PATH='.length), NOTIFY_SOCKET: receiverSocket }, stdio: 'ignore' });
  const exited = new Promise<number | null>((resolve) => daemon.once('exit', (code) => resolve(code)));
  cleanup(t, () => {
    if (daemon.exitCode === null && daemon.signalCode === null) daemon.kill('SIGKILL');
    killMarkedGroups(state);
  });
  await waitFor(() => existsSync(join(state, 'tend.pid')), { what: 'the daemon up', timeoutMs: 30_000 });
  markedGroups(state);
  // tend's sh line execs `node` as found on the unit's PATH: the one that ran `tend startup`.
  assert.equal(readlinkSync(`/proc/${daemon.pid}/exe`), node);
  if (canNotify) {
    const ready = await waitFor(() => heard.find((m) => m.text.startsWith('READY=1')), { what: 'READY=1', timeoutMs: 30_000 });
    assert.equal(ready.pid, daemon.pid);
  }
  await waitFor(() => {
    const s = spawnSync(node, [BUILT, '--state-dir', state, 'status', 'w', '-o', 'json'], { encoding: 'utf8', env });
    return s.status === 0 && (JSON.parse(s.stdout) as { ready: number }).ready === 1;
  }, { what: 'w running under the unit', timeoutMs: 30_000 });
  // `systemctl stop`: SIGTERM to the main process (KillMode=mixed).
  daemon.kill('SIGTERM');
  assert.equal(await exited, 0);
  assert.deepEqual(markedGroups(state), [], 'its replicas stopped');
  assert.ok(!isAlive(daemon.pid!));

  // A unit of the user's own systemd, installed where systemctl --user reads units.
  const config = tempDir(t);
  const installed = spawnSync(node, [BUILT, 'startup', '--user', '--install', '--name', 'tend-test'], { cwd: root, env: { ...env, XDG_CONFIG_HOME: config }, encoding: 'utf8' });
  assert.equal(installed.status, 0, installed.stderr);
  const file = join(config, 'systemd', 'user', 'tend-test.service');
  assert.match(installed.stdout, new RegExp(`^wrote ${file}; now:\\n  systemctl --user daemon-reload\\n  systemctl --user enable --now tend-test\\n`));
  assert.equal(statSync(file).mode & 0o777, 0o644);
  const userUnit = readFileSync(file, 'utf8');
  assert.deepEqual(field(userUnit, 'WantedBy'), ['default.target']);
  assert.deepEqual(field(userUnit, 'User'), []);
  assert.equal(userUnit, spawnSync(node, [BUILT, 'startup', '--user'], { cwd: root, env, encoding: 'utf8' }).stdout, 'what it prints is what it installs');
});
