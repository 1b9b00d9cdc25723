// Resolves a spec's `user:` (a name or a numeric uid) to the uid/gid a replica runs as, from
// /etc/passwd. No `id` subprocess and no native module: the file format is stable and simple.

import { readFileSync } from 'node:fs';

export interface UserIds {
  uid: number;
  gid: number;
  /** The home directory passwd gives; absent for a uid with no entry. */
  home?: string;
}

// Looks a user up by name or uid. A numeric uid with no passwd entry is allowed (containers often
// run arbitrary uids) and gets the group of the same number. Null when a name is unknown.
export function resolveUser(user: string, passwdPath = '/etc/passwd'): UserIds | null {
  const numeric = /^\d+$/.test(user) ? Number(user) : null;
  let text = '';
  try {
    text = readFileSync(passwdPath, 'utf8');
  } catch {
    /* no passwd file: only numeric uids resolve */
  }
  for (const line of text.split('\n')) {
    // name:password:uid:gid:gecos:home:shell
    const f = line.split(':');
    if (f.length < 4) continue;
    if (numeric === null ? f[0] === user : Number(f[2]) === numeric) {
      return { uid: Number(f[2]), gid: Number(f[3]), ...(f[5] ? { home: f[5] } : {}) };
    }
  }
  return numeric === null ? null : { uid: numeric, gid: numeric };
}
