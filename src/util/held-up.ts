// tend's timers judge other processes: a probe must answer within its timeout, a replica must send
// a heartbeat within its watchdog period. Those judgments must not count time in which tend itself
// did not run: stopped (Ctrl-Z on a foreground `tend up`, SIGSTOP, a debugger), frozen with its VM
// or container, or held up by its own work. The other side ran on meanwhile, and what it sent waits
// in a socket or a pipe that tend reads only after its timers: a Node process continued after a
// stop gets EINTR from epoll_wait and runs its due timers first. Before this, a 3 s stop made every
// replica that had sent heartbeats all along "stale", and every probe that had answered meanwhile
// "timed out", the moment tend went on; each was restarted (test/crash/paused.test.ts).

/** A timer at least this late says tend was held up (a busy loop's timers run a few ms late). */
export const HELD_UP_MS = 50;

/** The longest second look a late Deadline takes: what arrived meanwhile is read within a turn of
 *  the loop, and a helper process continued at the same time forwards it within milliseconds. */
const SECOND_LOOK_MS = 1000;

/** How many ms a timer due at `dueAt` (performance.now()) ran late when that says tend was held
 *  up; 0 when it ran on time. */
export function heldUpFor(dueAt: number, now: number = performance.now()): number {
  const late = now - dueAt;
  return late >= HELD_UP_MS ? late : 0;
}

/**
 * A timeout on another process's answer: `expire` runs `ms` after it is made, as with setTimeout,
 * unless tend was held up when the time came. Then the answer may be waiting to be read, so it
 * looks again after min(ms, 1 s), by when it has been read (and the owner has cancelled this), and
 * expires only then. The process it waits for had its `ms` all the same: it ran meanwhile.
 */
export class Deadline {
  #timer: NodeJS.Timeout;
  readonly #due: number;
  readonly #ms: number;
  readonly #expire: () => void;

  constructor(ms: number, expire: () => void) {
    this.#ms = ms;
    this.#expire = expire;
    this.#due = performance.now() + ms;
    this.#timer = setTimeout(this.#check, ms);
  }

  readonly #check = (): void => {
    if (heldUpFor(this.#due) === 0) return this.#expire();
    this.#timer = setTimeout(this.#expire, Math.min(this.#ms, SECOND_LOOK_MS));
  };

  cancel(): void {
    clearTimeout(this.#timer);
  }
}
