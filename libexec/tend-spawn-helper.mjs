// tend's spawn helper (plain JavaScript, run by node as is, from the source tree and the package
// alike; started by src/runtime/spawn-helper.ts): a small process that forks replicas for the
// daemon. Two costs of spawning from the daemon itself are why (issue 13):
// - fork copies the parent's page tables, and the daemon's heap is large; this process's is not;
// - Node reaps children by calling waitpid() once per live child on every SIGCHLD (libuv), so
//   each exit cost the daemon a sweep of every replica: stopping 5000 was quadratic.
// And it lets the daemon plan the next replica while this one forks and creates log files.
//
// stdin (from tend), JSON lines: {"id":N,"argv":[…],"cwd":"…","env":{…},"log":"…","uid":U,"gid":G}
//                                ("nofile":N, a soft open-files limit, is for the compiled helper:
//                                Node cannot set a child's limits, and tend sends it only there)
//                                {"kill":PGID,"pid":P,"start":TICKS,"sigs":["SIGTERM","SIGCONT"]}
// stdout (to tend), JSON lines:  {"id":N,"pid":P,"start":TICKS,"offset":BYTES}
//                                {"id":N,"err":"ECODE","msg":"…","stage":"log"|"spawn"}
//                                {"exit":P,"code":C,"signal":S,"empty":true}   (empty: see groupEmpty)
//                                {"killErr":PGID,"err":"ECODE","msg":"…"}
// A replica is detached (its own session and group), its stdout and stderr one O_APPEND descriptor
// on its log; `offset` is the log's size before the fork (where the run's output starts), `start`
// the replica's start time (field 22 of /proc/P/stat: with the pid, its identity). Nothing here
// decides anything. The helper exits when its stdin closes (tend is gone); replicas outlive tend
// and its helper alike, and a later tend adopts them.
//
// It signals a replica's group only when tend asks (a stop), as the leader's parent: while the
// leader is not reaped (alive, or a zombie) its group id cannot have been reused, so no look at
// /proc is needed, and the signals' cost (each wakes a process that then runs its exit) falls on
// the helpers, side by side, not on the daemon: stopping 5000 replicas kept the daemon busy 1.4 s,
// 40% of it inside kill().

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
/** State and start time of a process (fields 3 and 22 of /proc/P/stat), or undefined if none. */
function statOf(pid) {
  let fd;
  try {
    fd = openSync(`/proc/${pid}/stat`, 'r');
    const text = statBuf.toString('latin1', 0, readSync(fd, statBuf, 0, statBuf.length, 0));
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return { state: fields[0], start: Number(fields[19]) };
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

function startTimeOf(pid) {
  return statOf(pid)?.start ?? 0;
}

/** Children forked here and not reaped yet (Node reaps a child just before its 'exit' event). */
const unreaped = new Set();

// A stop asked by tend: the signals, in order, to the replica's group. A leader already reaped
// leaves its group id free for reuse: then, as tend itself does, no signal if a live process with
// that pid has another start time (the group we started is gone).
function signalGroup(req) {
  if (!unreaped.has(req.pid)) {
    const st = statOf(req.kill);
    if (st && st.state !== 'Z' && st.state !== 'X' && st.start !== req.start) return;
  }
  for (const sig of req.sigs) {
    try {
      process.kill(-req.kill, sig);
    } catch (err) {
      if (err?.code === 'ESRCH') continue;
      reply({ killErr: req.kill, err: err?.code ?? 'UNKNOWN', msg: String(err?.message ?? err) });
      return;
    }
  }
}

/** Whether nobody is left in the group of a replica just reaped (it leads its own). Told with its
 *  exit, so that a stop waiting for the group ends without the daemon asking the kernel itself
 *  (15–47 ms of the daemon's time in profiles of `tend down` at 5000). Nothing can join a group that
 *  is empty. */
function groupEmpty(pid) {
  try {
    process.kill(-pid, 0);
    return false;
  } catch (err) {
    return err?.code === 'ESRCH';
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
  unreaped.add(pid);
  // Read before this loop turns: the child cannot have been reaped yet, so the pid is still its own.
  reply({ id: req.id, pid, start: startTimeOf(pid), offset });
  child.once('exit', (code, signal) => {
    unreaped.delete(pid);
    reply({ exit: pid, code, signal, ...(groupEmpty(pid) ? { empty: true } : {}) });
  });
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
  // Signals at once, not behind forks that wait for a log file: tend asks for a stop only of a
  // replica whose fork it has heard of, so its spawn is not in the queue.
  if (req.kill !== undefined) return signalGroup(req);
  queue.push(req);
  pump();
});
lines.on('close', () => process.exit(0));
reply({ ready: true });
