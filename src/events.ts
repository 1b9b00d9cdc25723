// The event history (DESIGN §7): every state change, appended to events.jsonl, kept in a ring in
// memory for `GET /v1/events`, fanned out to live subscribers and to the daemon's log.

import { createWriteStream, renameSync, statSync, type WriteStream } from 'node:fs';
import type { EventBody, TendEvent } from './reconcile/events.js';

export interface EventLogOptions {
  /** events.jsonl; omitted: memory only (tests, `tend plan`). */
  path?: string;
  /** Rotate when the file passes this size, keeping one previous file (`events.jsonl.1`). */
  maxBytes?: number;
  /** Events kept in memory for clients that connect later. */
  keep?: number;
  /** Also report each event here (the daemon's pino log). */
  onEvent?: (e: TendEvent) => void;
}

export class EventLog {
  private readonly ring: TendEvent[] = [];
  private readonly listeners = new Set<(e: TendEvent) => void>();
  private stream?: WriteStream;
  private bytes = 0;
  private readonly maxBytes: number;
  private readonly keep: number;

  constructor(private readonly opts: EventLogOptions = {}) {
    this.maxBytes = opts.maxBytes ?? 10 * 1024 * 1024;
    this.keep = opts.keep ?? 2000;
    if (opts.path) this.open(opts.path);
  }

  /** Records an event; `ts` is added here so every event is stamped by one clock. */
  emit(event: EventBody): TendEvent {
    const e = { ts: new Date().toISOString(), ...event } as TendEvent;
    this.ring.push(e);
    if (this.ring.length > this.keep) this.ring.splice(0, this.ring.length - this.keep);
    if (this.stream) {
      const line = JSON.stringify(e) + '\n';
      this.bytes += Buffer.byteLength(line);
      this.stream.write(line);
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

  recent(limit: number): TendEvent[] {
    return this.ring.slice(-limit);
  }

  subscribe(listener: (e: TendEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async close(): Promise<void> {
    const s = this.stream;
    this.stream = undefined;
    if (s) await new Promise<void>((resolve) => s.end(resolve));
  }

  private open(path: string): void {
    try {
      this.bytes = statSync(path).size;
    } catch {
      this.bytes = 0;
    }
    this.stream = createWriteStream(path, { flags: 'a' });
    // A full disk or a removed state dir must not bring the daemon down: events stay in memory.
    this.stream.on('error', () => {
      this.stream = undefined;
    });
  }

  private rotate(path: string): void {
    const old = this.stream;
    this.stream = undefined;
    old?.end();
    try {
      renameSync(path, `${path}.1`);
    } catch {
      // Keep appending to the same file rather than lose events.
    }
    this.open(path);
  }
}
