// tend SIGKILLed while an exec probe and a hook command run, each hung (a `curl` with no timeout of
// its own against the server it checks). The daemon that started them kills each at its timeout;
// dead, it no longer does, and they ran for ever, a new one at every crash. The next daemon on the
// state directory now kills them (src/state/orphans.ts TRANSIENT_VAR), and not its own.

import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { readSupervisorId } from '../../src/state/orphans.js';
import { cleanup, isAlive, specDir, waitFor, writeFiles } from '../helpers/index.js';
import { runCli, upDetached } from '../cli/run-cli.js';
import type { StatusReport } from '../../src/api/types.js';

/** Group leaders marked as a transient run of this state directory's daemons: pid → the daemon. */
function transient(token: string): Map<number, number> {
  const found = new Map<number, number>();
  for (const name of readdirSync('/proc')) {
    const pid = Number(name);
    if (!Number.isInteger(pid)) continue;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (fields[0] === 'Z' || Number(fields[2]) !== pid) continue; // not a live group leader
      const mark = readFileSync(`/proc/${pid}/environ`, 'latin1').split('\0').find((v) => v.startsWith(`TEND_TRANSIENT_OF=${token}:`));
      if (mark !== undefined) found.set(pid, Number(mark.slice(mark.lastIndexOf(':') + 1)));
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

test('tend killed while a probe and a hook command hang: the next daemon kills them, and keeps its own', { timeout: 120_000 }, async (t) => {
  const { root } = specDir(t, {
    'w.yaml': 'command: ["sleep", "1000"]\nliveness: { exec: ["sleep", "1000"], interval: 1s, timeout: 60s }\nstop_timeout: 2s\n',
  });
  writeFiles(root, { 'tend.yaml': 'on:\n  spec.loaded:\n    - command: ["sleep", "1000"]\n      timeout: 60s\n' });
  const { daemon, state } = await upDetached(t, root);
  const token = readSupervisorId(state)!;
  cleanup(t, () => {
    for (const pid of transient(token).keys()) {
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
  });
  const status = async () => JSON.parse((await runCli(root, ['status', '-o', 'json'])).stdout) as StatusReport;
  const replica = (await status()).services[0]!.replicas[0]!.pid!;
  // The hook command and the first probe, both hung.
  const left = await waitFor(() => {
    const now = transient(token);
    return now.size >= 2 ? now : undefined;
  }, { what: 'the probe and the hook command running', timeoutMs: 30_000 });
  assert.ok([...left.values()].every((by) => by === daemon), 'marked with the daemon that ran them');

  process.kill(daemon, 'SIGKILL');
  await waitFor(() => !isAlive(daemon), { what: 'the daemon gone' });
  for (const pid of left.keys()) assert.ok(isAlive(pid), `${pid} runs on with nobody to end it`);

  const { daemon: second } = await upDetached(t, root);
  await waitFor(() => [...left.keys()].every((pid) => !isAlive(pid)), { what: 'the dead daemon\'s probe and hook command killed', timeoutMs: 30_000 });
  assert.equal((await status()).services[0]!.replicas[0]!.pid, replica, 'the replica itself was adopted, not stopped');
  // The new daemon's own probe runs, and is not taken for one of the dead daemon's.
  const own = await waitFor(() => [...transient(token).entries()].find(([, by]) => by === second), { what: 'the new daemon\'s probe', timeoutMs: 30_000 });
  assert.ok(isAlive(own[0]));
  const log = readFileSync(join(state, 'tend.log'), 'utf8');
  for (const pid of left.keys()) assert.match(log, new RegExp(`killed process group ${pid}, an exec probe or hook command of the tend \\(pid ${daemon}\\) that died while it ran`));
  assert.equal((await runCli(root, ['down'])).code, 0);
});
