// What a replica's descendants leave orphaned (a daemonising child, `(worker &)` in a script) goes to
// the compiled spawn helper, which reaps it (PR_SET_CHILD_SUBREAPER). It went to init: where init
// does not reap, each stayed a zombie for good. That is tend as a container's PID 1 (Node, which
// reaps only its own children): under `unshare --pid`, a script starting `(sleep 0.05 &)` in a loop
// left ~5 zombies a second, without end. The JavaScript helper (no C compiler) cannot do this.

import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { NATIVE_HELPER } from '../../src/runtime/spawn-helper.js';
import { startDaemon } from '../helpers/daemon.js';
import { BUILT, cleanup, NODE, procStat, specDir, waitFor, writeFiles } from '../helpers/index.js';

const native = existsSync(NATIVE_HELPER);
const canUnsharePid = native && spawnSync('unshare', ['-p', '-f', '--mount-proc', 'true']).status === 0;

test('an orphan of a replica is the spawn helper\'s child, not init\'s', { skip: !native && 'no compiled spawn helper' }, async (t) => {
  const { dir, state } = specDir(t, { 'o.yaml': 'command: ["sh", "-c", "(sleep 1000 & echo orphan $!); exec sleep 1000"]\nstop_timeout: 2s\n' });
  const d = await startDaemon(t, dir, state);
  const s = await d.converged((r) => r.services[0]?.ready === 1);
  const replica = s.services[0]!.replicas[0]!.pid!;
  const log = join(state, 'logs', 'o', '0.log');
  const orphan = await waitFor(() => Number(/orphan (\d+)/.exec(existsSync(log) ? readFileSync(log, 'utf8') : '')?.[1]) || undefined, { what: 'the orphan\'s pid in the log' });
  const helper = procStat(replica)!.ppid;
  assert.equal(procStat(orphan)?.ppid, helper, 'reparented to the helper that started its replica');
  process.kill(orphan, 'SIGKILL');
  await waitFor(() => procStat(orphan) === null, { what: 'the orphan reaped (gone, not a zombie)' });
});

test('tend as the PID 1 of a pid namespace (a container): orphans of a replica do not pile up as zombies', { skip: !canUnsharePid && 'unshare --pid not permitted here, or no compiled helper', timeout: 120_000 }, async (t) => {
  const { root, dir } = specDir(t, {});
  writeFiles(dir, { 'z.yaml': 'command: ["sh", "-c", "while :; do (sleep 0.05 &); echo tick; sleep 0.05; done"]\nstop_timeout: 2s\n' });
  const state = join(root, 'state');
  const tend = spawn('unshare', ['-p', '-f', '--mount-proc', NODE, BUILT, '--state-dir', state, 'up', dir], { stdio: 'ignore' });
  // SIGKILL of the namespace's PID 1 ends every process in it.
  const pid1 = () => spawnSync('pgrep', ['-P', String(tend.pid)], { encoding: 'utf8' }).stdout.trim().split('\n').map(Number).find((p) => p > 0);
  cleanup(t, () => {
    const p = pid1();
    if (p) process.kill(p, 'SIGKILL');
    tend.kill('SIGKILL');
  });
  const log = join(state, 'logs', 'z', '0.log');
  await waitFor(() => existsSync(log) && (readFileSync(log, 'utf8').match(/tick/g)?.length ?? 0) >= 40, { what: '40 orphans made', timeoutMs: 60_000 });
  const inside = pid1()!;
  // Zombies in the namespace: children of its PID 1 (init's) or of anything else there.
  const zombies = spawnSync('ps', ['-eo', 'pid=,ppid=,stat=,args='], { encoding: 'utf8' }).stdout.split('\n').filter((l) => /\sZ\S*\s+\[sleep\]/.test(l));
  const ours = zombies.filter((l) => {
    const ppid = Number(l.trim().split(/\s+/)[1]);
    return ppid === inside || procStat(ppid)?.ppid === inside;
  });
  assert.ok(ours.length <= 1, `zombies left in the namespace:\n${ours.join('\n')}`);
});
