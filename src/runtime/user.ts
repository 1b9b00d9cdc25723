// Resolves a spec's `user:` (a name or a numeric uid) to what a replica runs as, from /etc/passwd
// and /etc/group. No `id` subprocess and no native module: the file formats are stable and simple.

import { readFileSync, statSync } from 'node:fs';

export interface UserIds {
  uid: number;
  gid: number;
  /** The name, home directory and shell passwd gives; absent for a uid with no entry. */
  name?: string;
  home?: string;
  shell?: string;
  /** Every group the user is in: its own first, then those /etc/group lists it as a member of
   *  (what initgroups gives a login, and systemd's User= a service). */
  groups: number[];
}

// Looks a user up by name or uid. A numeric uid with no passwd entry is allowed (containers often
// run arbitrary uids) and gets the group of the same number. Null when a name is unknown.
export function resolveUser(user: string, passwdPath = '/etc/passwd', groupPath = '/etc/group'): UserIds | null {
  const numeric = /^\d+$/.test(user) ? Number(user) : null;
  for (const line of readLines(passwdPath)) {
    // name:password:uid:gid:gecos:home:shell
    const f = line.split(':');
    if (f.length < 4) continue;
    if (numeric === null ? f[0] === user : Number(f[2]) === numeric) {
      const gid = Number(f[3]);
      return {
        uid: Number(f[2]),
        gid,
        name: f[0]!,
        ...(f[5] ? { home: f[5] } : {}),
        ...(f[6] ? { shell: f[6] } : {}),
        groups: groupsOf(f[0]!, gid, groupPath),
      };
    }
  }
  return numeric === null ? null : { uid: numeric, gid: numeric, groups: [numeric] };
}

function groupsOf(name: string, gid: number, groupPath: string): number[] {
  const groups = [gid];
  for (const line of readLines(groupPath)) {
    // name:password:gid:member,member
    const f = line.split(':');
    if (f.length < 4 || !f[3]!.split(',').includes(name)) continue;
    const g = Number(f[2]);
    if (Number.isInteger(g) && !groups.includes(g)) groups.push(g);
  }
  return groups;
}

function readLines(path: string): string[] {
  try {
    return readFileSync(path, 'utf8').split('\n');
  } catch {
    return []; // no such file: only numeric uids resolve
  }
}

/** The variables a login as this user has (as systemd's User=, su - and cron set them): HOME, USER,
 *  LOGNAME and SHELL. Without them a replica of `user: app` inherits tend's HOME, /root, and fails
 *  where a program keeps a cache or a config in the home directory (EACCES on /root/.npm). */
export function accountEnv(ids: UserIds): Record<string, string> {
  const env: Record<string, string> = {};
  if (ids.home !== undefined) env['HOME'] = ids.home;
  if (ids.name !== undefined) {
    env['USER'] = ids.name;
    env['LOGNAME'] = ids.name;
  }
  if (ids.shell !== undefined) env['SHELL'] = ids.shell;
  return env;
}

const known = new Map<string, UserIds | null>();
let knownStamp = '';

/** resolveUser against the system's files, read again only when /etc/passwd or /etc/group changes
 *  (two stats a call): every replica start and every exec probe run as a user asks, and a fleet of
 *  10,000 replicas read both files 10,000 times. */
export function lookupUser(user: string): UserIds | null {
  const stamp = ['/etc/passwd', '/etc/group'].map(fileStamp).join('|');
  if (stamp !== knownStamp) {
    known.clear();
    knownStamp = stamp;
  }
  let ids = known.get(user);
  if (ids === undefined) {
    ids = resolveUser(user);
    known.set(user, ids);
  }
  return ids;
}

function fileStamp(path: string): string {
  try {
    const st = statSync(path);
    return `${st.mtimeMs}:${st.size}:${st.ino}`;
  } catch {
    return 'none';
  }
}

/** accountEnv of `user`, for the environment of its replicas. Empty when tend is not root (the
 *  start is refused then) or the user is unknown (the start fails saying so). */
export function accountEnvOf(user: string): Record<string, string> {
  if (process.getuid?.() !== 0) return {};
  const ids = lookupUser(user);
  return ids === null ? {} : accountEnv(ids);
}
