// The minimal loop: the least any supervisor must do, as the floor tend is measured against (issue
// 13). `child_process.spawn` with stdio ignored and no environment of its own (the child inherits
// this process's environment as Node passes it by default; nothing is copied per child), no log
// file, not detached, respawned at once on exit. No state, no API, no checks.
// Commands on stdin, one JSON a line: {"op":"scale","n":N}. SIGTERM: SIGTERM every child, wait for
// every exit, then exit.
// Usage: node minimal-supervisor.mjs <replicas>
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

const slots = new Map(); // index -> ChildProcess
let want = 0;
let stopping = false;
let pending = 0;
let reported = false;
const t0 = performance.now();

function start(i) {
  const child = spawn('sleep', ['1000'], { stdio: 'ignore' });
  slots.set(i, child);
  pending++;
  child.once('spawn', () => {
    pending--;
    if (!reported && pending === 0 && slots.size >= want) {
      reported = true;
      process.stdout.write(`spawned ${(performance.now() - t0).toFixed(1)}\n`);
    }
  });
  child.once('error', () => pending--);
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
  for (const [i, c] of slots) if (i >= n) c.kill('SIGTERM');
}

createInterface({ input: process.stdin }).on('line', (line) => {
  const cmd = JSON.parse(line);
  if (cmd.op === 'scale') scale(cmd.n);
});

process.on('SIGTERM', () => {
  stopping = true;
  if (slots.size === 0) process.exit(0);
  for (const c of slots.values()) c.kill('SIGTERM');
});

scale(Number(process.argv[2] ?? 0));
if (want === 0) process.stdout.write('spawned 0\n');
