// The SourceReader over the real file system (the only file access of an import's converters).

import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, sep } from 'node:path';
import { fromWorkingDir } from '../util/working-dir.js';
import type { SourceReader } from './types.js';

// fnmatch as Python's glob uses it: `*`, `?`, `[...]`, `[!...]`; dotfiles only when asked for.
function globPart(part: string): RegExp {
  let re = '';
  for (let i = 0; i < part.length; i++) {
    const c = part[i]!;
    if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const end = part.indexOf(']', i + 2);
      if (end < 0) re += '\\[';
      else {
        let set = part.slice(i + 1, end);
        if (set.startsWith('!')) set = `^${set.slice(1)}`;
        re += `[${set.replace(/\\/g, '\\\\')}]`;
        i = end;
      }
    } else re += c.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

export const fsReader: SourceReader = {
  readText(path) {
    try {
      return readFileSync(path, 'utf8');
    } catch {
      return undefined;
    }
  },
  isDirectory(path) {
    try {
      return statSync(path).isDirectory();
    } catch {
      return false;
    }
  },
  list(dir) {
    try {
      return readdirSync(dir).sort().map((n) => join(dir, n));
    } catch {
      return [];
    }
  },
  glob(pattern) {
    const abs = fromWorkingDir(pattern);
    const parts = abs.split(sep).filter((p) => p !== '');
    let found: string[] = [sep];
    for (const part of parts) {
      const next: string[] = [];
      for (const base of found) {
        if (!/[*?[]/.test(part)) {
          next.push(join(base, part));
          continue;
        }
        const re = globPart(part);
        let names: string[] = [];
        try {
          names = readdirSync(base);
        } catch {
          /* not a directory */
        }
        for (const n of names.sort()) if (re.test(n) && (part.startsWith('.') || !n.startsWith('.'))) next.push(join(base, n));
      }
      found = next;
    }
    return found.filter((p) => {
      try {
        statSync(p);
        return true;
      } catch {
        return false;
      }
    });
  },
};
