// tend's clock for lengths of time: the wall clock's reading when tend started, moved on by the
// monotonic clock since. A wait (a back-off, a probe's interval, `stop_timeout`, a restart window)
// is a length of time, and must not move when the wall clock is stepped: by NTP correcting a
// clock, a VM restored from a snapshot, a board without a real-time clock that learns the time
// after boot, `date -s`. On Date.now(), a step back of an hour held every restart and every probe
// for that hour and made stop_timeout an hour longer, and a step forward cut a graceful stop short
// with SIGKILL (test/crash/clock-step.test.ts). Times shown to people are wall times (wallTime).

/** The wall clock's reading at performance.now() === 0, as first read. */
const anchor = Date.now() - performance.now();

/** Milliseconds since the epoch, as the wall clock read at start, then monotonic: never stepped. */
export function steadyNow(): number {
  return anchor + performance.now();
}

/** The wall clock's time now of a moment given in steadyNow's terms (they part after a step). */
export function wallTime(steady: number): number {
  return steady + (Date.now() - steadyNow());
}
