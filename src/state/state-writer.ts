// Writes state.json, mostly off the event loop. At 5000 replicas the file is ~1.5 MB: written and
// synced in the loop, every coalesced write held up the replacement of a crashed replica.
//
// write(): the data is written and synced to a temp file on libuv's threads, then renamed over
// state.json from the loop itself, so that no rename can land after a newer one. One write at a
// time; a newer text asked for meanwhile replaces any older one still waiting.
// writeNow(): synchronous, for what must be on disk before tend acts on it (a spec load, a
// replica's READY); a background write of an older text that finishes after it is thrown away.
// close(): waits for the background write and refuses any later one (shutdown removes the file;
// neither a write in flight nor one asked for by a timer that fires afterwards may bring it back).

import { renameSync, rmSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { writeFileAtomic } from '../util/atomic-write.js';

export class StateWriter {
  private next?: string;
  private running?: Promise<void>;
  /** Counts synchronous writes: a background write taken before one is stale. */
  private generation = 0;
  private readonly tmp: string;
  private closed = false;

  constructor(
    private readonly path: string,
    private readonly onError: (err: unknown) => void,
  ) {
    this.tmp = join(dirname(path), `.${basename(path)}.tend-${process.pid}-bg.tmp`);
  }

  /** Writes `text` in the background, after the write in flight (a later call supersedes it). */
  write(text: string): void {
    if (this.closed) return;
    this.next = text;
    this.running ??= this.drain();
  }

  /** Writes `text` before returning; anything older still on its way is dropped. */
  writeNow(text: string): void {
    this.generation++;
    this.next = undefined;
    try {
      writeFileAtomic(this.path, text);
    } catch (err) {
      this.onError(err);
    }
  }

  /** Resolves once every background write asked for is done (or failed and was reported). */
  async flush(): Promise<void> {
    while (this.running) await this.running;
  }

  /** flush(), and no background write after it: the file is the caller's again. */
  async close(): Promise<void> {
    this.closed = true;
    await this.flush();
  }

  private async drain(): Promise<void> {
    try {
      while (this.next !== undefined) {
        const text = this.next;
        this.next = undefined;
        const generation = this.generation;
        try {
          await syncedFile(this.tmp, text);
          if (generation !== this.generation) {
            rmSync(this.tmp, { force: true }); // a synchronous write of newer state came first
            continue;
          }
          renameSync(this.tmp, this.path);
          await syncedFile(dirname(this.path));
        } catch (err) {
          rmSync(this.tmp, { force: true });
          this.onError(err);
        }
      }
    } finally {
      this.running = undefined;
    }
  }
}

/** Writes `data` to `path` (mode 0600) and fsyncs it; without data, fsyncs the directory `path`. */
async function syncedFile(path: string, data?: string): Promise<void> {
  const fh = await open(path, data === undefined ? 'r' : 'w', 0o600);
  try {
    if (data !== undefined) {
      await fh.chmod(0o600); // the umask does not apply to fchmod
      await fh.writeFile(data);
    }
    await fh.sync();
  } finally {
    await fh.close();
  }
}
