// The event history (DESIGN §7): every state change gets a monotonic id, is appended to
// events.jsonl, kept in a ring in memory, fanned out to live subscribers and to the daemon's log.
//
// Ids continue across restarts: the next id is read back from the last line of events.jsonl (or of
// its rotated file), so a client that resumes with `Last-Event-ID` after a daemon restart gets
// neither a gap nor a duplicate. History is served from the ring when it reaches back far enough,
// else from the files on disk; the ring is the authority for what it holds (the file may lag it
// by the writes still in flight).

import { closeSync, createReadStream, createWriteStream, fstatSync, openSync, readSync, renameSync, statSync, type WriteStream } from 'node:fs';
import { createInterface } from 'node:readline';
import type { EventBody, TendEvent } from './reconcile/events.js';

/** What the store adds to every event: its id and the time it was recorded. */

export interface EventLogOptions<R = TendEvent> {
  /** events.jsonl; omitted: memory only (tests, `tend plan`). */
  path?: string;
  /** Rotate when the file passes this size, keeping one previous file (`events.jsonl.1`). */
  maxBytes?: number;
  /** Events kept in memory for clients that connect later (at least this many, at most twice). */
  keep?: number;
  /** Also report each event here (the daemon's pino log). */
  onEvent?: (e: R) => void;
}

/** The events a history without `tail` or `since` holds (`tend events`, `GET /v1/events`). */
export const DEFAULT_EVENT_HISTORY = 1000;

/** How often a file that could not be written is tried again. */
const RETRY_MS = 1000;

/** How far back from the end of events.jsonl the last id is looked for at start-up. */
const LAST_ID_WINDOW = 1024 * 1024;

/** The store of the typed events (src/reconcile/events.ts): numbered, stamped, kept, served. */
export class EventLog {
  private readonly ring: TendEvent[] = [];
  private readonly listeners = new Set<(e: TendEvent) => void>();
  private stream?: WriteStream;
  /** Streams of rotated files still writing their last events. */
  private readonly ending = new Set<Promise<void>>();
  private bytes = 0;
  private nextId: number;
  /** The last event known to be in the file (its write succeeded). */
  private written: number;
  /** While the file cannot be written (a full disk): when to try it again. */
  private retryAt = 0;
  private readonly maxBytes: number;
  private readonly keep: number;

  constructor(private readonly opts: EventLogOptions<TendEvent> = {}) {
    this.maxBytes = opts.maxBytes ?? 10 * 1024 * 1024;
    this.keep = opts.keep ?? 2000;
    this.nextId = opts.path ? lastIdOnDisk(opts.path) + 1 : 1;
    this.written = this.nextId - 1;
    if (opts.path) this.open(opts.path);
  }

  /** Records an event; `id` and `ts` are added here, so every event is numbered and stamped by one
   *  clock. Fields that are undefined or null do not apply and are left out. */
  emit(event: EventBody): TendEvent {
    const e = { id: this.nextId++, ts: new Date().toISOString() } as TendEvent;
    for (const [k, v] of Object.entries(event)) {
      if (v !== undefined && v !== null && k !== 'id' && k !== 'ts') (e as Record<string, unknown>)[k] = v;
    }
    this.ring.push(e);
    // Trimmed back to `keep` once it holds twice as many: one splice per `keep` events. Trimmed on
    // every event, it moved the whole ring each time (stopping 5000 replicas spent 170 ms here).
    if (this.ring.length >= 2 * this.keep) this.ring.splice(0, this.ring.length - this.keep);
    // The file was given up (a write failed: a full disk): tried again at most once a second, with
    // the events it missed first, from memory. It was given up for good, and a restart then
    // numbered events from what the file held: ids already seen, given to other events.
    if (!this.stream && this.opts.path && Date.now() >= this.retryAt) {
      this.retryAt = Date.now() + RETRY_MS;
      this.open(this.opts.path);
      for (const missed of this.ring) if ((missed.id ?? 0) > this.written && missed !== e) this.write(missed);
    }
    if (this.stream) {
      this.write(e);
      if (this.bytes > this.maxBytes && this.opts.path) this.rotate(this.opts.path);
    }
    this.opts.onEvent?.(e);
    for (const l of this.listeners) {
      try {
        l(e);
      } catch {
        // A broken subscriber (a closed client) must not stop the others or the caller.
      }
    }
    return e;
  }

  private write(e: TendEvent): void {
    const stream = this.stream;
    if (!stream) return;
    const line = JSON.stringify(e) + '\n';
    this.bytes += Buffer.byteLength(line);
    const id = e.id ?? 0;
    stream.write(line, (err) => {
      if (!err) this.written = Math.max(this.written, id);
    });
  }

  /** The id the last recorded event got (0 before the first ever). */
  get lastId(): number {
    return this.nextId - 1;
  }

  /** The last `limit` events held in memory, oldest first. */
  recent(limit: number): TendEvent[] {
    return limit <= 0 ? [] : this.ring.slice(-limit);
  }

  /** Past events, oldest first: those with an id above `since` (all when undefined), at most the
   *  last `limit` of them. Reads events.jsonl and its rotated file when memory does not reach back
   *  far enough; a torn or foreign line is skipped. */
  async history(limit: number, since?: number): Promise<TendEvent[]> {
    if (!(limit > 0)) return [];
    const first = this.ring[0]?.id;
    const fromRing = () => this.ring.filter((e) => since === undefined || (e.id ?? 0) > since).slice(-limit);
    const ringReaches = first === undefined ? false : since !== undefined ? first <= since + 1 : this.ring.length >= limit;
    if (!this.opts.path || ringReaches || (first === undefined && since !== undefined && since >= this.lastId)) {
      return fromRing();
    }
    // Events that left the ring may still be on their way to the file: wait for them to land.
    await this.flushed();
    // Those from `first` on, the ring has, and has complete.
    const kept = await readEventFiles(this.opts.path, limit, since, first);
    for (const e of fromRing()) kept.push(e);
    return kept.items();
  }

  /** Resolves once every event emitted so far has been handed to the file (or its write failed). */
  private async flushed(): Promise<void> {
    const s = this.stream;
    const pending = [...this.ending];
    if (s && s.writableLength > 0) pending.push(new Promise<void>((resolve) => s.write('', () => resolve())));
    await Promise.all(pending);
  }

  subscribe(listener: (e: TendEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async close(): Promise<void> {
    // What a full disk kept out of the file goes in now, if it can.
    if (!this.stream && this.opts.path) {
      this.open(this.opts.path);
      for (const missed of this.ring) if ((missed.id ?? 0) > this.written) this.write(missed);
    }
    const s = this.stream;
    this.stream = undefined;
    if (s) await new Promise<void>((resolve) => s.end(resolve));
    // A file rotated just before close may still be flushing its last events; a daemon started
    // next reads its last id from there.
    await Promise.all([...this.ending]);
  }

  /** events.jsonl was removed with the state directory (state/state-dir-keeper.ts): later events
   *  go to a new file. Ids go on from where they were. */
  reopen(): void {
    const path = this.opts.path;
    if (!path) return;
    const old = this.stream;
    this.stream = undefined;
    if (old) {
      old.on('error', () => undefined);
      old.end();
    }
    this.open(path);
  }

  private open(path: string): void {
    // Opened here, synchronously: a stream that opened its file later would write to whatever the
    // path names by then, and a rotation during a burst would rename a file not yet created.
    let fd: number;
    let torn = false;
    try {
      fd = openSync(path, 'a+');
      this.bytes = fstatSync(fd).size;
      // A line cut short (a full disk, a crash mid-write) is ended first, or the next event would
      // be glued to it and unreadable.
      if (this.bytes > 0) {
        const last = Buffer.alloc(1);
        readSync(fd, last, 0, 1, this.bytes - 1);
        torn = last[0] !== 0x0a;
      }
    } catch {
      return; // no state dir: events stay in memory
    }
    const stream = createWriteStream(path, { fd });
    this.stream = stream;
    // A full disk or a removed state dir must not bring the daemon down: events stay in memory,
    // and the file is tried again (emit).
    stream.on('error', () => {
      if (this.stream === stream) this.stream = undefined;
      this.retryAt = Date.now() + RETRY_MS;
    });
    if (torn) stream.write('\n');
  }

  private rotate(path: string): void {
    const old = this.stream;
    this.stream = undefined;
    if (old) {
      const ended: Promise<void> = new Promise<void>((resolve) => {
        old.once('error', () => resolve());
        old.end(() => resolve());
      }).finally(() => this.ending.delete(ended));
      this.ending.add(ended);
    }
    try {
      renameSync(path, `${path}.1`);
    } catch {
      // Keep appending to the same file rather than lose events.
    }
    this.open(path);
  }
}

/** The highest id in the last lines of `path`, else of `path.1`; 0 when neither has one. Runs once,
 *  at start-up, on at most LAST_ID_WINDOW bytes of each file. */
export function lastIdOnDisk(path: string): number {
  for (const file of [path, `${path}.1`]) {
    const id = lastIdIn(file);
    if (id > 0) return id;
  }
  return 0;
}

function lastIdIn(file: string): number {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch {
    return 0;
  }
  try {
    const size = statSync(file).size;
    const length = Math.min(size, LAST_ID_WINDOW);
    const buf = Buffer.alloc(length);
    readSync(fd, buf, 0, length, size - length);
    let best = 0;
    for (const line of buf.toString('utf8').split('\n')) {
      const m = /^\{"id":(\d+),/.exec(line);
      if (m) best = Math.max(best, Number(m[1]));
    }
    return best;
  } catch {
    return 0;
  } finally {
    closeSync(fd);
  }
}

/** The events in `path`'s rotated file and then `path` with an id above `since` (all when
 *  undefined) and below `before`, the last `limit` of them; a torn or foreign line is skipped.
 *  Read by the daemon for history that left its memory, and by `tend events` when no daemon runs. */
export async function readEventFiles(path: string, limit: number, since?: number, before?: number): Promise<{ push(e: TendEvent): void; items(): TendEvent[] }> {
  const kept = new Tail<TendEvent>(limit);
  // Ids only grow through the files: one not above the last is a line written again after a
  // failed write (a full disk), already kept.
  let lastId = 0;
  for (const file of [`${path}.1`, path]) {
    await readLines(file, (line) => {
      let e: TendEvent;
      try {
        e = JSON.parse(line) as TendEvent;
      } catch {
        return;
      }
      if (e === null || typeof e !== 'object' || typeof e.type !== 'string') return;
      const id = (e as { id?: unknown }).id;
      if (typeof id !== 'number') {
        // Written by a tend before ids: older than any numbered event.
        if (since === undefined) kept.push(e);
        return;
      }
      if (id <= lastId) return;
      lastId = id;
      if (since !== undefined && id <= since) return;
      if (before !== undefined && id >= before) return;
      kept.push(e);
    });
  }
  return kept;
}

async function readLines(file: string, onLine: (line: string) => void): Promise<void> {
  const input = createReadStream(file, { encoding: 'utf8' });
  const done = new Promise<void>((resolve) => input.once('error', () => resolve()));
  const lines = createInterface({ input, crlfDelay: Infinity });
  await Promise.race([
    (async () => {
      for await (const line of lines) if (line !== '') onLine(line);
    })().catch(() => undefined),
    done,
  ]);
}

/** The last `size` items pushed, in a fixed ring (a million-line file costs `size` slots, not a million). */
class Tail<T> {
  private readonly buf: T[] = [];
  private start = 0;
  constructor(private readonly size: number) {}
  push(item: T): void {
    if (this.buf.length < this.size) this.buf.push(item);
    else {
      this.buf[this.start] = item;
      this.start = (this.start + 1) % this.size;
    }
  }
  items(): T[] {
    return [...this.buf.slice(this.start), ...this.buf.slice(0, this.start)];
  }
}
