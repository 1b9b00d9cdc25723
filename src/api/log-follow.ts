// Reading replicas' log files for `GET /v1/logs`: the history (every generation, oldest first, each
// line stamped from the time index), then, when following, new lines as the child appends them.
//
// Children write the files directly and rotation is copy-and-truncate, so the follower polls the
// size. The rotator counts rotations in the log book, under the file's lock: a follower that was at
// offset P when the file was rotated k times finds its unread bytes in `<log>.k` from P on, then
// reads `<log>.(k-1)` … `<log>.1` whole, then the live file from 0. No line is lost or repeated
// however the rotations fall between two polls (as long as fewer than max_files happened). A file
// that shrank without a recorded rotation (truncated by someone else) is read again from 0.

import { open, stat } from 'node:fs/promises';
import { StringDecoder } from 'node:string_decoder';
import { logBook, type LogBook, type RunMark } from '../runtime/log-book.js';
import { generationPath, readIndex, type IndexRecord } from '../runtime/log-index.js';

const CHUNK = 64 * 1024;
/** Bytes of the live file read per poll under the lock: a rotation waits for at most this. */
const MAX_READ_PER_POLL = 4 * 1024 * 1024;
/** Rotated generations looked for beyond `.1` (max_files is rarely above a handful). */
const MAX_GENERATIONS = 1000;

/** One line of a replica's output, or (run) the start of a new run of the replica. */
export interface LogRecord {
  /** Epoch ms: when tend saw the line in the file (an upper bound; see docs/logs.md). */
  at: number;
  text: string;
  run?: true;
}

/** Where a follower resumes after the history: a byte offset in the live file, and the rotation
 *  count that offset belongs to. */
export interface FollowPoint {
  position: number;
  rotations: number;
}

// ---- history -------------------------------------------------------------------------------

export interface HistoryOptions {
  /** Only the last `tail` lines (across generations). */
  tail?: number;
  since?: number;
  until?: number;
  book?: LogBook;
}

/** Rotated generations of `path` that exist, oldest first, then the live file (0). */
async function generations(path: string): Promise<number[]> {
  const gens: number[] = [0];
  for (let n = 1; n <= MAX_GENERATIONS; n++) {
    if (!(await exists(generationPath(path, n)))) break;
    gens.unshift(n);
  }
  return gens;
}

/** A replica's past output in time order, and where a follower should carry on. */
export async function readHistory(path: string, opts: HistoryOptions = {}): Promise<{ records: AsyncGenerator<LogRecord>; end: FollowPoint }> {
  const book = opts.book ?? logBook;
  const rotations = book.rotations(path);
  const gens = await generations(path);
  const liveSize = (await statOrNull(path))?.size ?? 0;
  const start = opts.tail === undefined ? { gen: gens[0] ?? 0, offset: 0 } : await tailStart(path, gens, opts.tail);
  const end: FollowPoint = { position: liveSize, rotations };
  async function* records(): AsyncGenerator<LogRecord> {
    let last = 0;
    for (const gen of gens) {
      if (gen > start.gen) continue; // older than where the tail starts (gens run oldest = highest first)
      const file = generationPath(path, gen);
      const limit = gen === 0 ? liveSize : Infinity;
      // With a tail, the lines are counted (as `docker compose logs --tail` counts them): a run mark
      // where the tail starts would come before every line shown, and is left out.
      const from = gen === start.gen ? start.offset : 0;
      for await (const r of readGeneration(file, from, limit, opts.tail !== undefined && gen === start.gen)) {
        // Stamps never go backwards within a replica, whatever an index says.
        last = Math.max(last, r.at);
        const rec = { ...r, at: last };
        if (opts.since !== undefined && rec.at < opts.since) continue;
        if (opts.until !== undefined && rec.at > opts.until) return;
        yield rec;
      }
    }
  }
  return { records: records(), end };
}

/** The lines of one generation from byte `from` to `limit`, stamped from its index; run marks
 *  from the index become run records at their place (past `from` only, when `afterFrom`). */
async function* readGeneration(file: string, from: number, limit: number, afterFrom = false): AsyncGenerator<LogRecord> {
  const st = await statOrNull(file);
  if (!st) return;
  const index = readIndex(file);
  const times = index.filter((r) => r.kind === 't');
  const runs = index.filter((r) => r.kind === 'r' && (afterFrom ? r.offset > from : r.offset >= from));
  // Bytes no index record covers yet (the last second's, or from before tend kept one): the
  // file's modification time is when the last of them was written.
  const fallback = st.mtimeMs;
  let ti = 0;
  const timeAt = (endOffset: number) => {
    while (ti < times.length && (times[ti] as IndexRecord).offset < endOffset) ti++;
    return ti < times.length ? (times[ti] as IndexRecord).at : Math.round(fallback);
  };
  let fh;
  try {
    fh = await open(file, 'r');
  } catch {
    return;
  }
  try {
    const end = Math.min(limit, st.size);
    const buf = Buffer.alloc(CHUNK);
    let pos = from;
    let lineStart = from;
    let pending: Buffer[] = [];
    let ri = 0;
    const decoder = new StringDecoder('utf8');
    while (pos < end) {
      const { bytesRead } = await fh.read(buf, 0, Math.min(CHUNK, end - pos), pos);
      if (bytesRead === 0) break;
      let i0 = 0;
      for (let i = 0; i < bytesRead; i++) {
        if (buf[i] !== 0x0a) continue;
        const lineEnd = pos + i + 1;
        while (ri < runs.length && (runs[ri] as IndexRecord).offset <= lineStart) {
          yield { at: (runs[ri] as IndexRecord).at, text: '', run: true };
          ri++;
        }
        pending.push(Buffer.from(buf.subarray(i0, i)));
        const text = decoder.write(Buffer.concat(pending)) + decoder.end();
        pending = [];
        yield { at: timeAt(lineEnd), text };
        i0 = i + 1;
        lineStart = lineEnd;
      }
      if (i0 < bytesRead) pending.push(Buffer.from(buf.subarray(i0, bytesRead)));
      pos += bytesRead;
    }
    while (ri < runs.length && (runs[ri] as IndexRecord).offset <= lineStart) {
      yield { at: (runs[ri] as IndexRecord).at, text: '', run: true };
      ri++;
    }
    // A final line without its newline yet still counts as a line.
    if (pending.length > 0) yield { at: timeAt(end), text: decoder.write(Buffer.concat(pending)) + decoder.end() };
    for (; ri < runs.length; ri++) yield { at: (runs[ri] as IndexRecord).at, text: '', run: true };
  } finally {
    await fh.close();
  }
}

/** Where the last `lines` lines begin: a generation and a byte offset in it. */
async function tailStart(path: string, gens: number[], lines: number): Promise<{ gen: number; offset: number }> {
  let wanted = lines;
  // Newest first: the live file, then .1, .2, …
  for (const gen of [...gens].reverse()) {
    const { offset, found } = await tailIn(generationPath(path, gen), wanted);
    if (found >= wanted || gen === gens[0]) return { gen, offset };
    wanted -= found;
  }
  return { gen: 0, offset: 0 };
}

/** Byte offset where the last `lines` lines of a file begin, and how many lines it found. */
async function tailIn(path: string, lines: number): Promise<{ offset: number; found: number }> {
  let fh;
  try {
    fh = await open(path, 'r');
  } catch {
    return { offset: 0, found: 0 };
  }
  try {
    const { size } = await fh.stat();
    if (lines <= 0) return { offset: size, found: 0 };
    const buf = Buffer.alloc(CHUNK);
    let end = size;
    // A final line without its newline yet still counts as a line.
    let newlines = 0;
    let skipFinal = true;
    while (end > 0) {
      const start = Math.max(0, end - CHUNK);
      const { bytesRead } = await fh.read(buf, 0, end - start, start);
      for (let i = bytesRead - 1; i >= 0; i--) {
        if (buf[i] !== 0x0a) {
          skipFinal = false;
          continue;
        }
        if (skipFinal && start + i === size - 1) continue; // the newline that ends the last line
        newlines++;
        if (newlines === lines) return { offset: start + i + 1, found: lines };
      }
      end = start;
    }
    return { offset: 0, found: size > 0 ? newlines + 1 : 0 };
  } finally {
    await fh.close();
  }
}

/** Byte offset where the last `lines` lines of a file begin (0 when it has fewer, or is missing). */
export async function tailOffset(path: string, lines: number): Promise<number> {
  return (await tailIn(path, lines)).offset;
}

// ---- following -----------------------------------------------------------------------------

/** Follows one file from a point, handing complete lines (stamped when read) and run marks to
 *  `onRecords`, which may wait for the reader to drain. Not re-entrant: `poll` calls are
 *  serialised by the caller. */
export class FileFollower {
  private position: number;
  private rotations: number;
  private inode: number | undefined;
  private partial = '';
  private decoder = new StringDecoder('utf8');
  private readonly book: LogBook;
  /** Run marks already handed over (they are recorded once and never change). */
  private runsSeen: number;

  constructor(
    readonly path: string,
    start: FollowPoint | number,
    private readonly onRecords: (records: LogRecord[]) => Promise<void>,
    opts: { book?: LogBook; now?: () => number } = {},
  ) {
    this.book = opts.book ?? logBook;
    this.now = opts.now ?? Date.now;
    const point = typeof start === 'number' ? { position: start, rotations: this.book.rotations(path) } : start;
    this.position = point.position;
    this.rotations = point.rotations;
    // Marks at or before the starting point belong to the history already shown.
    this.runsSeen = this.book.runs(path).filter((m) => before(m, point)).length;
  }

  private readonly now: () => number;

  /** Reads whatever was appended (or rotated away) since the last poll. */
  async poll(): Promise<void> {
    // Under the file's lock the bytes are only read into memory; they are handed over (which may
    // wait for a slow client) after it is released, so rotation never waits for a reader.
    const pieces = await this.book.exclusive(this.path, () => this.read());
    const at = this.now();
    const out: LogRecord[] = [];
    for (const p of pieces) {
      if (p.run) {
        // The end of the previous run: what it wrote without a newline is all there will be.
        const rest = this.partial + this.decoder.end();
        this.partial = '';
        this.decoder = new StringDecoder('utf8');
        if (rest !== '') out.push({ at, text: rest });
        out.push({ at: p.run.at, text: '', run: true });
        continue;
      }
      if (p.restart) {
        await this.flushInto(out, at);
        this.decoder = new StringDecoder('utf8');
        continue;
      }
      const parts = (this.partial + this.decoder.write(p.bytes as Buffer)).split('\n');
      this.partial = parts.pop() ?? '';
      for (const text of parts) out.push({ at, text });
    }
    if (out.length > 0) await this.onRecords(out);
  }

  /** Hands over a last line that has no newline yet (at the end of a one-shot read). */
  async flush(): Promise<void> {
    const out: LogRecord[] = [];
    await this.flushInto(out, this.now());
    if (out.length > 0) await this.onRecords(out);
  }

  private async flushInto(out: LogRecord[], at: number): Promise<void> {
    const rest = this.partial + this.decoder.end();
    this.partial = '';
    this.decoder = new StringDecoder('utf8');
    if (rest !== '') out.push({ at, text: rest });
  }

  // Collects, in order, the bytes to hand over and the run marks between them.
  private async read(): Promise<Piece[]> {
    const pieces: Piece[] = [];
    const st = await statOrNull(this.path);
    if (!st) return pieces; // not created yet, or between a delete and its re-creation
    const replaced = this.inode !== undefined && st.ino !== this.inode;
    this.inode = st.ino;
    const rotations = this.book.rotations(this.path);
    const marks = this.book.runs(this.path);
    if (replaced) {
      pieces.push({ restart: true });
      this.position = 0;
      this.rotations = rotations;
    } else if (rotations > this.rotations) {
      // Rotated k times since the last poll: the rest of our generation is in `.k`, the ones
      // after it in `.k-1` … `.1`, each complete (copied before the truncate, under the lock).
      for (let k = rotations - this.rotations; k >= 1; k--) {
        await this.readSpan(pieces, generationPath(this.path, k), Infinity, marks);
        this.position = 0;
        this.rotations++;
      }
    } else if (st.size < this.position) {
      // Truncated by someone else: what was read of an unfinished line is all there will be.
      pieces.push({ restart: true });
      this.position = 0;
    }
    await this.readSpan(pieces, this.path, Math.min(st.size, this.position + MAX_READ_PER_POLL), marks);
    return pieces;
  }

  // Reads `file` from this.position to `end` (or its size), splitting at run marks of the
  // generation being read.
  private async readSpan(pieces: Piece[], file: string, end: number, marks: readonly RunMark[]): Promise<void> {
    let fh;
    try {
      fh = await open(file, 'r');
    } catch {
      return; // a generation dropped by max_files: those bytes are gone
    }
    try {
      const size = Math.min(end, (await fh.stat()).size);
      for (;;) {
        const mark = marks[this.runsSeen];
        const markHere = mark !== undefined && mark.generation === this.rotations;
        const stopAt = markHere ? Math.min(size, Math.max(mark.offset, this.position)) : size;
        while (this.position < stopAt) {
          const buf = Buffer.allocUnsafe(Math.min(CHUNK, stopAt - this.position));
          const { bytesRead } = await fh.read(buf, 0, buf.length, this.position);
          if (bytesRead === 0) return;
          this.position += bytesRead;
          pieces.push({ bytes: buf.subarray(0, bytesRead) });
        }
        if (markHere && mark.offset <= this.position) {
          pieces.push({ run: mark });
          this.runsSeen++;
          continue;
        }
        if (mark !== undefined && mark.generation < this.rotations) {
          this.runsSeen++; // a mark in a generation we passed without seeing it: skip it
          continue;
        }
        return;
      }
    } finally {
      await fh.close();
    }
  }
}

interface Piece {
  bytes?: Buffer;
  run?: RunMark;
  restart?: true;
}

function before(mark: RunMark, point: FollowPoint): boolean {
  return mark.generation < point.rotations || (mark.generation === point.rotations && mark.offset <= point.position);
}

async function statOrNull(path: string) {
  try {
    return await stat(path);
  } catch {
    return null;
  }
}

async function exists(path: string): Promise<boolean> {
  return (await statOrNull(path)) !== null;
}
