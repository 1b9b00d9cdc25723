// What the daemon knows about each replica log beyond the bytes in it, shared between the writer
// side (rotation, run starts) and the readers (`logs -f`) in the same process:
//   - how many times the file was rotated, so a follower that was at offset P in the file before
//     k rotations knows its unread bytes are now in `<path>.k` from P on (and not lost);
//   - where each run of the replica began (byte offset and generation), for the separator line;
//   - a per-path lock, so a follower never reads a file half-way through its copy and truncate.

export interface RunMark {
  /** The rotation count when the run began: the mark is in the generation with this number. */
  generation: number;
  /** Byte offset in that generation where the run's first output lands. */
  offset: number;
  /** Epoch ms when the run was started. */
  at: number;
}

interface Entry {
  rotations: number;
  runs: RunMark[];
  lock: Promise<void>;
}

/** Run marks kept per file: a follower only needs the recent ones. */
const MAX_RUN_MARKS = 64;

export class LogBook {
  private readonly entries = new Map<string, Entry>();

  private entry(path: string): Entry {
    let e = this.entries.get(path);
    if (!e) {
      e = { rotations: 0, runs: [], lock: Promise.resolve() };
      this.entries.set(path, e);
    }
    return e;
  }

  /** Rotations of `path` completed in this process (copied and truncated). */
  rotations(path: string): number {
    return this.entries.get(path)?.rotations ?? 0;
  }

  rotated(path: string): void {
    this.entry(path).rotations++;
  }

  markRun(path: string, offset: number, at: number): void {
    const e = this.entry(path);
    e.runs.push({ generation: e.rotations, offset, at });
    if (e.runs.length > MAX_RUN_MARKS) e.runs.shift();
  }

  runs(path: string): readonly RunMark[] {
    return this.entries.get(path)?.runs ?? [];
  }

  /** Runs `fn` while no other holder of `path`'s lock runs (rotation and follower reads). */
  async exclusive<T>(path: string, fn: () => Promise<T>): Promise<T> {
    const e = this.entry(path);
    const before = e.lock;
    let release!: () => void;
    e.lock = new Promise<void>((r) => (release = r));
    await before;
    try {
      return await fn();
    } finally {
      release();
    }
  }
}

/** The daemon's one book: rotation (runtime/) and the log API (api/) live in the same process. */
export const logBook = new LogBook();
