// Reading replicas' log files for `GET /v1/logs`: the last N lines, then (when following) new lines
// as the child appends them. Children write the files directly and rotation is copy-and-truncate,
// so the reader polls the size: a file that shrank was truncated (read again from 0), a file with a
// new inode was replaced, a missing file has not been created yet.

import { open } from 'node:fs/promises';
import { StringDecoder } from 'node:string_decoder';

const CHUNK = 64 * 1024;

/** Byte offset where the last `lines` lines of a file begin (0 when it has fewer, or is missing). */
export async function tailOffset(path: string, lines: number): Promise<number> {
  let fh;
  try {
    fh = await open(path, 'r');
  } catch {
    return 0;
  }
  try {
    const { size } = await fh.stat();
    if (lines <= 0) return size;
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
        if (newlines === lines) return start + i + 1;
      }
      end = start;
    }
    return 0;
  } finally {
    await fh.close();
  }
}

/** Follows one file from an offset, handing complete lines to `onLines` (which may wait for the
 *  reader to drain). Not re-entrant: `poll` calls are serialised by the caller. */
export class FileFollower {
  private position: number;
  private inode: number | undefined;
  private partial = '';
  private decoder = new StringDecoder('utf8');

  constructor(
    readonly path: string,
    start: number,
    private readonly onLines: (lines: string[]) => Promise<void>,
  ) {
    this.position = start;
  }

  /** Reads whatever was appended since the last poll. */
  async poll(): Promise<void> {
    let fh;
    try {
      fh = await open(this.path, 'r');
    } catch {
      return; // not created yet, or between a delete and its re-creation
    }
    try {
      const st = await fh.stat();
      const replaced = this.inode !== undefined && st.ino !== this.inode;
      this.inode = st.ino;
      if (replaced || st.size < this.position) await this.restart();
      const buf = Buffer.alloc(CHUNK);
      while (this.position < st.size) {
        const { bytesRead } = await fh.read(buf, 0, Math.min(CHUNK, st.size - this.position), this.position);
        if (bytesRead === 0) break;
        this.position += bytesRead;
        await this.emit(this.decoder.write(buf.subarray(0, bytesRead)));
      }
    } finally {
      await fh.close();
    }
  }

  /** Hands over a last line that has no newline yet (at the end of a one-shot read). */
  async flush(): Promise<void> {
    const rest = this.partial + this.decoder.end();
    this.partial = '';
    if (rest !== '') await this.onLines([rest]);
  }

  // The file was truncated or replaced: what was read of an unfinished line is all there will be.
  private async restart(): Promise<void> {
    await this.flush();
    this.decoder = new StringDecoder('utf8');
    this.position = 0;
  }

  private async emit(text: string): Promise<void> {
    const parts = (this.partial + text).split('\n');
    this.partial = parts.pop() ?? '';
    if (parts.length > 0) await this.onLines(parts);
  }
}
