// `tend logs -f api | grep -m1 listening`: grep exits at its first match, but the writer of a pipe
// learns that its reader is gone only when it next writes (EPIPE), and a quiet service may never
// write again: the script hung for ever, where `tail -f app.log | grep -m1 listening` ends. tail
// notices by polling its stdout for POLLERR, which Node cannot do (libuv will not poll a write-only
// pipe). So while a follower writes into a pipe, coreutils' own `tail -f /dev/null` runs on the same
// stdout, writing nothing: it dies of SIGPIPE within its one-second poll once the reader is gone,
// and the follower ends with it, as at an EPIPE. A tail that cannot do this (busybox), or none at
// all, changes nothing: the next write still ends the command.

import { spawn } from 'node:child_process';
import { fstatSync } from 'node:fs';

/** Calls `gone` once the reader of stdout, a pipe, has gone away. Returns a stop function. */
export function whenReaderGone(gone: () => void, fd = 1): () => void {
  let pipe = false;
  try {
    pipe = fstatSync(fd).isFIFO();
  } catch {
    /* closed: nothing to watch */
  }
  if (!pipe) return () => {};
  const watcher = spawn('tail', ['-f', '/dev/null'], { stdio: ['ignore', fd, 'ignore'] });
  watcher.on('error', () => {}); // no tail here
  watcher.on('exit', (_code, signal) => {
    process.off('exit', stop);
    if (signal === 'SIGPIPE') gone();
  });
  watcher.unref();
  // It is this process's child, and goes with it: killed at exit (by its pid).
  const stop = () => {
    if (watcher.exitCode === null && watcher.signalCode === null) watcher.kill();
  };
  process.on('exit', stop);
  return stop;
}
