// Notices when the state directory is removed under the running daemon (`git clean -xdf` in the
// checkout that holds the default ./.tend, an `rm -rf .tend` to start afresh), or when its path
// comes to lead elsewhere: the default `.tend` of a shell in `/srv/app/current`, when a deploy
// renames `current` over to the next release. Without its socket, pid file and id, every command
// took the daemon for gone, and `tend up -d` started a second one beside it, with a copy of every
// replica (test/crash/state-dir-removed.test.ts).
//
// One inotify watch on the directory that holds it, not on the state directory itself: that one
// changes at every event written and every state save, its parent seldom. And one on the directory
// holding each symlink on the way to it (src/util/path-links.ts), for a release switch.

import { existsSync, statSync, watch, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';
import { linksAbove } from '../util/path-links.js';

/** Why the state directory must be put back. */
export type StateDirLoss = 'removed' | 'moved';

export class StateDirWatch {
  #watchers: FSWatcher[] = [];
  #closed = false;
  /** The directory the path led to when watching started (`dev:ino`). */
  #id?: string;

  /** `onLost` runs once the path no longer leads to the directory it led to at start(); watch
   *  again with start() once it is put back. */
  constructor(
    private readonly dir: string,
    private readonly onLost: (why: StateDirLoss) => void,
  ) {}

  start(): void {
    if (this.#closed) return;
    this.#unwatch();
    this.#id = idOf(this.dir);
    for (const place of [this.dir, ...linksAbove(this.dir)]) {
      const name = basename(place);
      try {
        // A name of null (an overflowing queue) or the parent's own removal: look.
        // Not persistent: the daemon's sockets keep it alive; this must not once they are closed.
        const w = watch(dirname(place), { persistent: false }, (_type, changed) => {
          if (changed === null || changed === name || !existsSync(dirname(place))) this.#look();
        });
        w.on('error', () => this.#look());
        this.#watchers.push(w);
      } catch {
        // The parent is gone already, or no watch is left to have (ENOSPC): look now only.
      }
    }
    this.#look();
  }

  #look(): void {
    if (this.#closed) return;
    const now = idOf(this.dir);
    if (now !== undefined && now === this.#id) return;
    this.#unwatch();
    this.onLost(now === undefined ? 'removed' : 'moved');
  }

  #unwatch(): void {
    for (const w of this.#watchers) w.close();
    this.#watchers = [];
  }

  close(): void {
    this.#closed = true;
    this.#unwatch();
  }
}

function idOf(path: string): string | undefined {
  try {
    const st = statSync(path, { bigint: true });
    return st.isDirectory() ? `${st.dev}:${st.ino}` : undefined;
  } catch {
    return undefined;
  }
}
