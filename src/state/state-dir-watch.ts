// Notices when the state directory is removed under the running daemon: `git clean -xdf` in the
// checkout that holds the default ./.tend, an `rm -rf .tend` to start afresh. Without its socket,
// pid file and id, every command took the daemon for gone, and `tend up -d` started a second one
// beside it, with a copy of every replica (test/crash/state-dir-removed.test.ts).
//
// One inotify watch on the directory that holds it, not on the state directory itself: that one
// changes at every event written and every state save, its parent seldom.

import { existsSync, watch, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';

export class StateDirWatch {
  #watcher?: FSWatcher;
  #closed = false;

  /** `onRemoved` runs once the directory is gone; watch again with start() once it is back. */
  constructor(
    private readonly dir: string,
    private readonly onRemoved: () => void,
  ) {}

  start(): void {
    if (this.#closed) return;
    this.#watcher?.close();
    const name = basename(this.dir);
    try {
      // A name of null (an overflowing queue) or the parent's own removal: look.
      // Not persistent: the daemon's sockets keep it alive; this must not once they are closed.
      this.#watcher = watch(dirname(this.dir), { persistent: false }, (_type, changed) => {
        if (changed === null || changed === name || !existsSync(dirname(this.dir))) this.#look();
      });
      this.#watcher.on('error', () => this.#look());
    } catch {
      // The parent is gone already, or no watch is left to have (ENOSPC): look now only.
      this.#watcher = undefined;
    }
    this.#look();
  }

  #look(): void {
    if (this.#closed || existsSync(this.dir)) return;
    this.#watcher?.close();
    this.#watcher = undefined;
    this.onRemoved();
  }

  close(): void {
    this.#closed = true;
    this.#watcher?.close();
    this.#watcher = undefined;
  }
}
