// The log writers a process has, so that it exits only once they have written what they hold.
//
// A daemon's log lines are written asynchronously (log/daemon-log.ts never blocks on its log), and
// a stop writes its last ones in a burst: at process.exit, lines queued behind a write in flight
// were lost (the last line, "all services stopped; bye", in 2 stops of 5). No dependency here: the
// command line imports this for every verb, and the logger (pino) only for the daemon.

/** A writer that calls back once what it holds is written, or at once if it cannot write now;
 *  and that can make one synchronous attempt at exit, where that cannot block. */
export interface Drainable {
  flush(cb: () => void): void;
  flushSync(): void;
}

const writers = new Set<Drainable>();

export function registerLogWriter(w: Drainable): void {
  // What is still queued at an exit that did not wait (drainLogs): one last synchronous attempt.
  if (writers.size === 0) process.once('exit', () => writers.forEach((each) => each.flushSync()));
  writers.add(w);
}

/** Resolves once every registered writer has written what it holds, or after `withinMs`: a log on
 *  a pipe whose reader stopped reading must not keep tend from exiting. */
export function drainLogs(withinMs: number): Promise<void> {
  if (writers.size === 0) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, withinMs);
    let left = writers.size;
    for (const w of writers) {
      w.flush(() => {
        if (--left === 0) {
          clearTimeout(timer);
          resolve();
        }
      });
    }
  });
}
