// What `tend logs -f` already printed, so that it can follow on after the daemon went away and came
// back (a crash, a restart mid-deploy) without a gap or a repeat. The replicas write their files
// all along; the new daemon is asked for the history from a little before the last line printed,
// and what it sends again is recognised by content, replica by replica, in order. By content: the
// stamps of a file's last second are not in its index yet, and a new daemon stamps those lines with
// the file's modification time (docs/logs.md), so stamps alone would repeat or drop them.
//
// A run of repeats must start with a line stamped no later than the last one printed of its replica:
// whatever that replica wrote after the daemon went away is stamped later (by the new daemon), so a
// new line that reads like the last printed one (`tick`, `heartbeat`) is never taken for a repeat.
// The price is a repeat, never a loss: a replica whose lines in the slack were all unstamped.
//
// Pure: the command feeds it the lines it prints and the lines the resumed stream brings.

import type { LogLine } from '../api/log-stream.js';

/** Lines remembered per replica: more than a second's output of a busy replica. */
const REMEMBERED = 2000;
/** How far before the last printed stamp the resumed history starts. */
export const RESUME_SLACK_MS = 2000;
/** A line's stamp from the index and from a follow differ by up to a check window (100 ms). */
const STAMP_TOLERANCE_MS = 250;

interface Aligning {
  /** What was printed, oldest first, when the stream was resumed. */
  printed: string[];
  /** Positions in `printed` just after a run that equals every line held so far. */
  ends: number[];
  held: LogLine[];
  /** How many of `held` are repeats if the run of repeats ends there (it reached the last line
   *  printed), while a longer run is still possible (`tick`, `tick`, `tick`). */
  repeats?: number;
}

export class PrintedLines {
  private readonly recent = new Map<string, string[]>();
  /** The latest stamp printed, of any replica, and of each. */
  private lastStamp: number | undefined;
  private readonly lastOf = new Map<string, number>();
  /** Replicas still being lined up with what was printed, after resume(). */
  private aligning = new Map<string, Aligning>();

  /** Where a resumed stream should start (`since`, epoch ms); undefined: nothing printed yet. */
  resumeFrom(): number | undefined {
    return this.lastStamp === undefined ? undefined : this.lastStamp - RESUME_SLACK_MS;
  }

  /** A stream starts again: the lines it brings are checked against what was printed. */
  resume(): void {
    this.aligning = new Map([...this.recent].map(([key, all]) => {
      const printed = all.slice(-REMEMBERED);
      return [key, { printed, ends: range(printed.length + 1), held: [] }];
    }));
  }

  /** The lines of `l` to print now (none while it may still be a repeat; held ones once it is
   *  not), each remembered as printed. */
  take(l: LogLine): LogLine[] {
    const key = `${l.service}/${l.replica}`;
    const a = this.aligning.get(key);
    if (a === undefined) return this.printed(key, [l]);
    const text = lineText(l);
    const stamp = Date.parse(l.ts);
    if (a.held.length === 0 && !(stamp <= (this.lastOf.get(key) ?? Number.NEGATIVE_INFINITY))) {
      // Stamped after the last line printed of this replica: written since, not a repeat.
      this.aligning.delete(key);
      return this.printed(key, [l]);
    }
    const n = a.printed.length;
    const ends = a.ends.filter((p) => p < n && a.printed[p] === text).map((p) => p + 1);
    // What was held and this line end where the printed lines ended, and this line is about as
    // late as the last one printed: a run of repeats, unless a longer one goes on.
    const reachesEnd = ends.includes(n) && stamp >= (this.lastOf.get(key) ?? 0) - STAMP_TOLERANCE_MS;
    const open = ends.filter((p) => p < n);
    if (open.length === 0) {
      this.aligning.delete(key);
      if (reachesEnd) return [];
      // Past the longest run of repeats (or none: a rotation, a history that differs): printed.
      return this.printed(key, [...a.held.slice(a.repeats ?? 0), l]);
    }
    a.ends = open;
    a.held.push(l);
    if (reachesEnd) a.repeats = a.held.length;
    return [];
  }

  /** The end of a stream: whatever is still held is printed (better twice than not at all). */
  flush(): LogLine[] {
    const out: LogLine[] = [];
    for (const [key, a] of this.aligning) out.push(...this.printed(key, a.held.slice(a.repeats ?? 0)));
    this.aligning.clear();
    return out;
  }

  private printed(key: string, lines: LogLine[]): LogLine[] {
    let recent = this.recent.get(key);
    if (recent === undefined) this.recent.set(key, (recent = []));
    for (const l of lines) {
      recent.push(lineText(l));
      const stamp = Date.parse(l.ts);
      if (Number.isNaN(stamp)) continue;
      if (this.lastStamp === undefined || stamp > this.lastStamp) this.lastStamp = stamp;
      if (stamp > (this.lastOf.get(key) ?? Number.NEGATIVE_INFINITY)) this.lastOf.set(key, stamp);
    }
    // Cut back now and then, not at every line (a splice a line made a busy follow quadratic).
    if (recent.length > 2 * REMEMBERED) recent.splice(0, recent.length - REMEMBERED);
    return lines;
  }
}

function lineText(l: LogLine): string {
  return l.run ? `\0run ${l.ts}` : l.line;
}

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}
