// tend's spawn helper (plain JavaScript, run by node as is, from the source tree and the package
// alike; started by src/runtime/spawn-helper.ts): a small process that forks replicas for the
// daemon. Two costs of spawning from the daemon itself are why (issue 13):
// - fork copies the parent's page tables, and the daemon's heap is large; this process's is not;
// - Node reaps children by calling waitpid() once per live child on every SIGCHLD (libuv), so
//   each exit cost the daemon a sweep of every replica: stopping 5000 was quadratic.
// And it lets the daemon plan the next replica while this one forks and creates log files.
//
// stdin (from tend), JSON lines: {"id":N,"argv":[…],"cwd":"…","env":{…},"log":"…","uid":U,"gid":G}
// stdout (to tend), JSON lines:  {"id":N,"pid":P,"start":TICKS,"offset":BYTES}
//                                {"id":N,"err":"ECODE","msg":"…","stage":"log"|"spawn"}
//                                {"exit":P,"code":C,"signal":S}
// A replica is detached (its own session and group), its stdout and stderr one O_APPEND descriptor
// on its log; `offset` is the log's size before the fork (where the run's output starts), `start`
// the replica's start time (field 22 of /proc/P/stat: with the pid, its identity). Nothing here
// decides anything. The helper exits when its stdin closes (tend is gone) and never signals a
// replica: replicas outlive tend and its helper alike, and a later tend adopts them.

import { spawn } from 'node:child_process';
import { closeSync, constants, fstat, fstatSync, mkdirSync, open, openSync, readSync } from 'node:fs';
import { dirname } from 'node:path';
import { createInterface } from 'node:readline';

// Log files opened ahead of their fork, at most: creating a file can wait for the disk, and the
// forks go on meanwhile; a few at a time keep the descriptors this process holds few.
const OPENS_AT_ONCE = 16;

// Replies are batched per turn of the loop: one write for many lines.
const out = [];
let flushing = false;
function reply(obj) {
  out.push(JSON.stringify(obj));
  if (flushing) return;
  flushing = true;
  setImmediate(() => {
    flushing = false;
    process.stdout.write(out.splice(0).join('\n') + '\n');
  });
}

const statBuf = Buffer.allocUnsafe(4096);
function startTimeOf(pid) {
  let fd;
  try {
    fd = openSync(`/proc/${pid}/stat`, 'r');
    const text = statBuf.toString('latin1', 0, readSync(fd, statBuf, 0, statBuf.length, 0));
    return Number(text.slice(text.lastIndexOf(')') + 2).split(' ')[19]);
  } catch {
    return 0;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

const madeDirs = new Set();
function openLog(path, retried = false) {
  const dir = dirname(path);
  if (!madeDirs.has(dir)) {
    mkdirSync(dir, { recursive: true });
    madeDirs.add(dir);
  }
  return new Promise((resolve, reject) =>
    open(path, 'a', (err, fd) => {
      if (!err) return resolve(fd);
      if (err.code !== 'ENOENT' || retried) return reject(err);
      madeDirs.delete(dir); // removed since: create it again, once
      openLog(path, true).then(resolve, reject);
    }),
  );
}

function sizeOf(fd) {
  return new Promise((resolve, reject) => fstat(fd, (err, st) => (err ? reject(err) : resolve(st.size))));
}

const failed = (req, stage, err) => reply({ id: req.id, err: err?.code ?? 'UNKNOWN', msg: String(err?.message ?? err), stage });

// Forks in the order asked; the opens of the next requests run on libuv's threads meanwhile.
const queue = [];
let running = 0;
function pump() {
  while (running < OPENS_AT_ONCE && queue.length > 0) {
    const req = queue.shift();
    running++;
    prepare(req).finally(() => {
      running--;
      pump();
    });
  }
}

// A log that exists already (a restart) opens at once, without a trip through libuv's threads:
// those trips were most of a restart's latency here. Only creating a file can wait for the disk.
function openExisting(path) {
  try {
    const fd = openSync(path, constants.O_WRONLY | constants.O_APPEND);
    return { fd, offset: fstatSync(fd).size };
  } catch {
    return undefined;
  }
}

async function prepare(req) {
  const existing = openExisting(req.log);
  if (existing) return fork(req, existing.fd, existing.offset);
  let fd;
  let offset;
  try {
    fd = await openLog(req.log);
    offset = await sizeOf(fd);
  } catch (err) {
    if (fd !== undefined) closeSync(fd);
    return failed(req, 'log', err);
  }
  fork(req, fd, offset);
}

function fork(req, fd, offset) {
  let child;
  try {
    child = spawn(req.argv[0], req.argv.slice(1), {
      cwd: req.cwd,
      env: req.env,
      detached: true,
      stdio: ['ignore', fd, fd],
      uid: req.uid,
      gid: req.gid,
    });
  } catch (err) {
    return failed(req, 'spawn', err);
  } finally {
    closeSync(fd);
  }
  const pid = child.pid;
  if (pid === undefined) {
    child.once('error', (err) => failed(req, 'spawn', err));
    return;
  }
  child.on('error', () => {});
  // Read before this loop turns: the child cannot have been reaped yet, so the pid is still its own.
  reply({ id: req.id, pid, start: startTimeOf(pid), offset });
  child.once('exit', (code, signal) => reply({ exit: pid, code, signal }));
  child.unref(); // this process lives as long as its stdin, not as long as its children
}

// Ctrl-C in tend's terminal, a SIGTERM to tend's group: tend decides; this process goes with its stdin.
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(sig, () => {});
process.stdout.on('error', () => process.exit(0)); // tend is gone
const lines = createInterface({ input: process.stdin });
lines.on('line', (line) => {
  let req;
  try {
    req = JSON.parse(line);
  } catch {
    return;
  }
  queue.push(req);
  pump();
});
lines.on('close', () => process.exit(0));
reply({ ready: true });
