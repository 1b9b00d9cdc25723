// Replica log files: where they live, and rotation by copy-and-truncate. Children hold their log
// open with O_APPEND, so tend cannot rename the file under them (they would keep writing to the
// renamed one); it copies the content away and truncates the live file, and the child's next write
// lands at the new end of file, i.e. at offset 0.

import { copyFile, open, rename, stat, truncate, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { logBook, type LogBook } from './log-book.js';
import { appendRecords, generationPath, indexPath } from './log-index.js';

// `<logDir>/<service>/<index>.log` (DESIGN §4).
export function logPath(logDir: string, service: string, index: number): string {
  return join(logDir, service, `${index}.log`);
}

/** Rotations in progress, by path: two overlapping rotations of one file would lose a generation. */
const inFlight = new Map<string, Promise<boolean>>();

// Rotates `path` when it has reached maxSizeBytes: x.log.1 → x.log.2 … (keeping maxFiles rotated
// files, dropping older ones), x.log copied to x.log.1, then x.log truncated. True when rotated.
// The time index (`x.log.idx`) moves with its log, and the rotation is counted in the log book
// (under the file's lock), so a follower knows where its unread bytes went.
export function rotateIfNeeded(path: string, maxSizeBytes: number, maxFiles: number, book: LogBook = logBook): Promise<boolean> {
  const running = inFlight.get(path);
  if (running !== undefined) return running;
  const p = book.exclusive(path, () => rotate(path, maxSizeBytes, maxFiles, book)).finally(() => inFlight.delete(path));
  inFlight.set(path, p);
  return p;
}

async function rotate(path: string, maxSizeBytes: number, maxFiles: number, book: LogBook): Promise<boolean> {
  if (maxSizeBytes <= 0) return false;
  const size = await sizeOf(path);
  if (size === null || size < maxSizeBytes) return false;
  if (maxFiles <= 0) {
    await truncate(path, 0);
    await unlinkIfExists(indexPath(path));
    book.rotated(path);
    return true;
  }
  for (const file of [generationPath(path, maxFiles), indexPath(generationPath(path, maxFiles))]) await unlinkIfExists(file);
  for (let i = maxFiles - 1; i >= 1; i--) {
    await renameIfExists(generationPath(path, i), generationPath(path, i + 1));
    await renameIfExists(indexPath(generationPath(path, i)), indexPath(generationPath(path, i + 1)));
  }
  const rotated = generationPath(path, 1);
  await copyFile(path, rotated);
  const copied = await catchUp(path, rotated);
  // Copy-and-truncate's known loss window: bytes the child writes between the last catch-up read
  // and this truncate are lost. catchUp shrinks that window from the whole copy to a few syscalls.
  await truncate(path, 0);
  book.rotated(path);
  // Everything in the copy was written by now; the live file's index starts afresh.
  appendRecords(path, [{ kind: 't', offset: copied, at: Date.now() }]);
  await renameIfExists(indexPath(path), indexPath(rotated));
  return true;
}

// Appends to `rotated` whatever the child wrote to `path` while it was being copied, until a pass
// finds nothing new (bounded, so a child writing flat out cannot keep us here). Returns the size
// of the copy.
async function catchUp(path: string, rotated: string): Promise<number> {
  const src = await open(path, 'r');
  const dst = await open(rotated, 'a');
  try {
    let copied = (await dst.stat()).size;
    const chunk = Buffer.allocUnsafe(1 << 16);
    for (let pass = 0; pass < 8; pass++) {
      const end = (await src.stat()).size;
      if (end <= copied) return copied;
      while (copied < end) {
        const { bytesRead } = await src.read(chunk, 0, Math.min(chunk.length, end - copied), copied);
        if (bytesRead === 0) return copied;
        await dst.write(chunk, 0, bytesRead);
        copied += bytesRead;
      }
    }
    return copied;
  } finally {
    await src.close();
    await dst.close();
  }
}

async function sizeOf(path: string): Promise<number | null> {
  try {
    return (await stat(path)).size;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

async function unlinkIfExists(path: string): Promise<void> {
  try {
    await unlink(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}

async function renameIfExists(from: string, to: string): Promise<void> {
  try {
    await rename(from, to);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}
