// The symlinks on the way to a path: renaming one moves what the path leads to. A release switched
// by renaming a link (`current -> releases/42`) is invisible to a watch on anything below it (the
// watch keeps the old release), so the watchers of services.d and of the state directory also watch
// the directory holding each such link, for renames.

import { lstatSync } from 'node:fs';
import { dirname } from 'node:path';

/** The ancestors of the absolute `path` that are symlinks now, nearest first
 *  (`/srv/app/current` for `/srv/app/current/services.d`). */
export function linksAbove(path: string): string[] {
  const links: string[] = [];
  for (let p = dirname(path); dirname(p) !== p; p = dirname(p)) {
    try {
      if (lstatSync(p).isSymbolicLink()) links.push(p);
    } catch {
      // Not there (or not a directory on the way): nothing to watch for it.
    }
  }
  return links;
}
