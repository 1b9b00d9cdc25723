// The bare limit: the least a Node supervisor can do. Spawns `sleep 1000` replicas detached, each
// with an O_APPEND log fd for stdout and stderr (as tend does), respawns one at once when it exits,
// and reads JSON commands on stdin: {"op":"scale","n":N} and {"op":"job","log":PATH,"argv":[...]}.
// SIGTERM: SIGTERM every group, wait for every exit, then exit.
// Usage: node bare-supervisor.mjs <logDir> <replicas>
import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

const [logDir, replicas] = [process.argv[2], Number(process.argv[3] ?? 0)];
mkdirSync(logDir, { recursive: true });
// Each replica gets the supervisor's environment plus its own index, as any supervisor must pass.
const baseEnv = { ...process.env };
const slots = new Map(); // index -> ChildProcess
let want = 0;
let stopping = false;
let pendingSpawns = 0;
const t0 = performance.now();
let reported = false;

function start(i) {
  const fd = openSync(join(logDir, `${i}.log`), 'a');
  const env = { ...baseEnv, REPLICA: String(i), REPLICAS: String(want) };
  const child = spawn('sleep', ['1000'], { env, detached: true, stdio: ['ignore', fd, fd] });
  closeSync(fd);
  slots.set(i, child);
  pendingSpawns++;
  child.once('spawn', () => {
    pendingSpawns--;
    if (!reported && pendingSpawns === 0 && slots.size >= want) {
      reported = true;
      process.stdout.write(`spawned ${(performance.now() - t0).toFixed(1)}\n`);
    }
  });
  child.once('error', () => pendingSpawns--);
  child.once('exit', () => {
    if (slots.get(i) !== child) return;
    slots.delete(i);
    if (stopping) {
      if (slots.size === 0) process.exit(0);
    } else if (i < want) {
      start(i);
    }
  });
}

function scale(n) {
  const old = want;
  want = n;
  for (let i = old; i < n; i++) start(i);
  for (const [i, c] of slots) if (i >= n) kill(c, 'SIGTERM');
}

function kill(child, sig) {
  try {
    process.kill(-child.pid, sig);
  } catch {
    /* gone */
  }
}

createInterface({ input: process.stdin }).on('line', (line) => {
  const cmd = JSON.parse(line);
  if (cmd.op === 'scale') scale(cmd.n);
  if (cmd.op === 'job') {
    const fd = openSync(cmd.log, 'a');
    spawn(cmd.argv[0], cmd.argv.slice(1), { env: baseEnv, detached: true, stdio: ['ignore', fd, fd] });
    closeSync(fd);
  }
});

process.on('SIGTERM', () => {
  stopping = true;
  if (slots.size === 0) process.exit(0);
  for (const c of slots.values()) kill(c, 'SIGTERM');
});

scale(replicas);
if (replicas === 0) process.stdout.write('spawned 0\n');
