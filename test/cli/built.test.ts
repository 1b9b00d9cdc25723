// The built `tend` as a user runs it from a project: dist/bin/tend.js loads one bundle,
// dist/bin/tend.cjs, from the code cache the build wrote (scripts/bundle-cli.mjs), so everything it
// finds beside itself is checked here from the user's side: the code cache, the detached daemon (it
// runs the bundle again), the hook host (a second entry), the spawn helpers (libexec/, found from
// the bundle: the compiled one), the logs.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { StatusReport } from '../../src/api/types.js';
import { killMarkedGroups, markedGroups, runningPids } from '../helpers/daemon.js';
import { cleanup, NODE, procStat, tempDir, waitFor } from '../helpers/index.js';
import { sameProcess } from '../../src/runtime/proc.js';
import { PID_NAME, readPidFile } from '../../src/state/pid-file.js';
import { WRAPPER } from '../../src/util/code-cache.js';

const CLI = join(import.meta.dirname, '..', '..', 'dist', 'bin', 'tend.js');

test('the built tend runs a project: a detached daemon, a hook through the hook host, a restart through a spawn helper, logs, down', async (t) => {
  assert.ok(existsSync(CLI), 'npm run build made dist/bin/tend.js');
  const root = tempDir(t, {
    'services.d/web.yaml': 'command: ["sh", "-c", "echo hello from $TEND_REPLICA; exec sleep 1000"]\nreplicas: 2\n',
    'tend.yaml': 'on:\n  spec.loaded:\n    - command: ["sh", "-c", "echo $TEND_EVENT_TYPE >> hook.out"]\n',
  });
  const state = join(root, '.tend');
  // The project's own .tend, whatever the caller's shell exports.
  const env = { ...process.env };
  delete env['TEND_STATE_DIR'];
  const tend = (...args: string[]) => spawnSync(NODE, [CLI, ...args], { cwd: root, encoding: 'utf8', timeout: 60_000, env });
  let daemonProc: { pid: number; startTime: number } | undefined;
  cleanup(t, () => {
    tend('down');
    // Whatever the test left: the daemon (by pid and start time) if down did not stop it, and
    // every replica group carrying its token.
    if (daemonProc && sameProcess(daemonProc)) process.kill(daemonProc.pid, 'SIGKILL');
    killMarkedGroups(state);
  });

  const up = tend('up', '-d', '--wait');
  assert.equal(up.status, 0, up.stderr);
  markedGroups(state); // remembers the daemon's token for the cleanup
  daemonProc = readPidFile(join(state, PID_NAME));
  assert.ok(daemonProc, 'the daemon wrote its pid file');
  const daemon = daemonProc.pid;
  // The build ran a daemon once to write the cache; this one was loaded from it.
  assert.match(readFileSync(join(state, 'tend.log'), 'utf8'), /"codeCache":"used"/);
  const status = (): StatusReport => JSON.parse(tend('status', '-o', 'json').stdout) as StatusReport;
  assert.equal(runningPids(status(), 'web').length, 2);

  await waitFor(() => existsSync(join(root, 'hook.out')) && readFileSync(join(root, 'hook.out'), 'utf8').includes('spec.loaded'), { what: 'the spec.loaded hook', timeoutMs: 30_000 });

  // The helpers are up by now: a replica killed is forked again by one of them.
  const [victim] = runningPids(status(), 'web');
  process.kill(victim!, 'SIGKILL');
  const fresh = await waitFor(() => {
    const pids = runningPids(status(), 'web');
    return pids.length === 2 && !pids.includes(victim!) ? pids : undefined;
  }, { what: 'the replica running again', timeoutMs: 30_000 });
  const parents = fresh.map((pid) => procStat(pid)?.ppid);
  const helper = parents.find((ppid) => ppid !== undefined && ppid !== daemon);
  assert.ok(helper !== undefined, `a replica forked by a spawn helper (parents ${parents.join(', ')}, daemon ${daemon})`);
  // The compiled helper when the build could make it (scripts/build-native.mjs), else node's.
  const native = join(import.meta.dirname, '..', '..', 'libexec', 'tend-spawn-helper');
  if (existsSync(native)) assert.equal(readlinkSync(`/proc/${helper}/exe`), native);
  else assert.match(readFileSync(`/proc/${helper}/cmdline`, 'utf8'), /tend-spawn-helper\.mjs/);

  const logs = tend('logs', 'web');
  assert.equal(logs.status, 0, logs.stderr);
  assert.match(logs.stdout, /hello from 0/);
  assert.match(logs.stdout, /hello from 1/);

  const down = tend('down');
  assert.equal(down.status, 0, down.stderr);
  assert.deepEqual(markedGroups(state), [], 'no replica left');
});

test('the built bundle is ASCII only: V8 keeps the source of a daemon for as long as it runs, two bytes a character if one is not', () => {
  const bundle = readFileSync(join(import.meta.dirname, '..', '..', 'dist', 'bin', 'tend.cjs'));
  const at = bundle.findIndex((byte) => byte > 0x7f);
  assert.equal(at, -1, `a byte over 0x7f at ${at}: ${bundle.subarray(Math.max(0, at - 40), at + 10).toString('utf8')}`);
});

test('dist/bin is CommonJS (Node starts it without its ES module loader), and the bundle is written wrapped as the loader takes it', () => {
  const bin = join(import.meta.dirname, '..', '..', 'dist', 'bin');
  assert.deepEqual(JSON.parse(readFileSync(join(bin, 'package.json'), 'utf8')), { type: 'commonjs' });
  const bundle = readFileSync(join(bin, 'tend.cjs'), 'latin1');
  assert.ok(bundle.startsWith(`${WRAPPER}\n`), 'the wrapper in place of the #! line');
  assert.ok(bundle.endsWith('\n})\n'));
  // The hook host, CommonJS too, runs (it waits for its first request on the IPC channel).
  const host = spawnSync(NODE, ['-e', `require(${JSON.stringify(join(bin, 'host.js'))})`], { encoding: 'utf8', timeout: 20_000 });
  assert.equal(host.status, 0, host.stderr);
});
