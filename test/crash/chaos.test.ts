// Chaos: 50 replicas, a random replica SIGKILLed every 100 ms, tend itself SIGKILLed twice and
// started again, and spec edits throughout. At the end exactly the desired replicas run, nothing of
// ours is left orphaned, tend has no unreaped child, and the event log is whole.
// Bounded to about 20 s here; `npm run chaos` runs it for longer (TEND_CHAOS_SECONDS).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir, waitFor } from '../helpers/index.js';
import { markedGroups, runningPids, startDaemon, zombieChildren, type DaemonProcess } from '../helpers/daemon.js';

const SECONDS = Number(process.env.TEND_CHAOS_SECONDS ?? 12);

// Seeded so that a failure can be replayed (TEND_CHAOS_SEED).
const seed = Number(process.env.TEND_CHAOS_SEED ?? Date.now() % 100000);
let state = seed;
const random = () => {
  state = (state * 1103515245 + 12345) % 2147483648;
  return state / 2147483648;
};

const service = (replicas: number, v: number) =>
  `command: ["sleep", "1000"]\nreplicas: ${replicas}\nenv: { V: "${v}" }\nbackoff: { initial: 0, max: 50ms }\nmax_restarts: 0\nstop_timeout: 1s\n`;

test(`chaos for ${SECONDS} s (seed ${seed}): converges to exactly the spec, no orphans, no zombies of tend`, { timeout: (SECONDS + 60) * 1000 }, async (t) => {
  const root = tempDir(t);
  const dir = join(root, 'services.d');
  const stateDir = join(root, 'state');
  mkdirSync(dir);
  const want = new Map<string, { replicas: number; v: number }>();
  for (let n = 0; n < 5; n++) want.set(`s${n}`, { replicas: 10, v: 1 });
  const write = (name: string) => writeFileSync(join(dir, `${name}.yaml`), service(want.get(name)!.replicas, want.get(name)!.v));
  for (const name of want.keys()) write(name);

  let daemon: DaemonProcess = await startDaemon(t, dir, stateDir);
  await daemon.converged((s) => runningPids(s).length === 50);

  const deadline = Date.now() + SECONDS * 1000;
  const tendKillsAt = [deadline - SECONDS * 1000 * 0.7, deadline - SECONDS * 1000 * 0.35];
  let kills = 0;
  let edits = 0;
  let tendKills = 0;
  while (Date.now() < deadline) {
    // A random replica of ours dies.
    const ours = markedGroups(stateDir);
    const victim = ours[Math.floor(random() * ours.length)];
    if (victim) {
      try {
        process.kill(victim, 'SIGKILL');
        kills++;
      } catch {
        /* already gone */
      }
    }
    // Every ~300 ms a spec edit: a scale or an env change (which rolls the service).
    if (random() < 0.33) {
      const name = `s${Math.floor(random() * 5)}`;
      const w = want.get(name)!;
      if (random() < 0.5) w.replicas = 5 + Math.floor(random() * 11);
      else w.v++;
      write(name);
      edits++;
    }
    // Twice: tend itself is SIGKILLed and started again on the same state directory.
    if (tendKills < tendKillsAt.length && Date.now() >= tendKillsAt[tendKills]!) {
      daemon.child.kill('SIGKILL');
      await daemon.exited;
      tendKills++;
      daemon = await startDaemon(t, dir, stateDir);
    }
    await new Promise((r) => setTimeout(r, 100));
  }

  const total = [...want.values()].reduce((n, w) => n + w.replicas, 0);
  // Converged to the final spec. An adopted replica's exit is seen by a 250 ms poll of /proc, so a
  // pid killed in the last moments may still be listed: wait until every listed pid is alive and
  // its environment (the V it was started with) can be read.
  const { final, envs } = await waitFor(
    async () => {
      const s = await daemon.status();
      const shaped = s.converged && runningPids(s).length === total &&
        s.services.every((svc) => svc.replicas_desired === want.get(svc.name)?.replicas && svc.ready === svc.replicas_desired);
      if (!shaped) return undefined;
      try {
        const envs = new Map(runningPids(s).map((pid) => [pid, readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0')]));
        return { final: s, envs };
      } catch {
        return undefined; // one of them just died
      }
    },
    { what: 'converged to the final spec', timeoutMs: 30_000, intervalMs: 50 },
  );
  t.diagnostic(`seed ${seed}: ${kills} replica kills, ${edits} edits, ${tendKills} tend kills; ${total} replicas at the end`);

  // Exactly the desired replicas, and each runs the final spec (its env V).
  for (const svc of final.services) {
    const spec = want.get(svc.name)!;
    for (const r of svc.replicas) assert.ok(envs.get(r.pid!)?.includes(`V=${spec.v}`), `${svc.name}/${r.index} runs V=${spec.v}`);
  }
  // No live process of ours beyond them: nothing orphaned by the kills of tend.
  await waitFor(() => markedGroups(stateDir).length === total, { what: 'no orphans', timeoutMs: 10_000 });
  assert.deepEqual(markedGroups(stateDir).sort((a, b) => a - b), runningPids(final));
  // tend reaps its own children.
  await waitFor(() => zombieChildren(daemon.pid).length === 0, { what: 'no zombie children of tend', timeoutMs: 5000 });

  // The event log is whole: every line is an event with a time and a type.
  const lines = readFileSync(join(stateDir, 'events.jsonl'), 'utf8').trim().split('\n');
  for (const line of lines) {
    const e = JSON.parse(line) as { ts: string; type: string };
    assert.ok(e.ts && e.type, line);
  }
  assert.ok(lines.some((l) => l.includes('"replica.adopted"')), 'the restarted tend adopted replicas');

  await daemon.api.shutdown();
  await daemon.exited;
  await waitFor(() => markedGroups(stateDir).length === 0, { what: 'all stopped', timeoutMs: 15_000 });
});
