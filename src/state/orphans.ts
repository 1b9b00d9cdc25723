// Finding our replicas without the state file (it was lost, corrupt, or written a moment before a
// spawn). Identity must be something no user sets by accident: an exported TEND_STATE_DIR in a
// caller's shell once made tend stop the caller (`timeout 30 tend up -d` got SIGTERM). So every
// replica carries two variables of tend's own:
//   TEND_SUPERVISOR_ID   a random token per state directory (the file `id` in it, mode 0600);
//   TEND_REPLICA_NONCE   a random nonce per spawn, recorded with the replica in state.json;
// besides TEND_SERVICE, TEND_REPLICA and TEND_SPEC_HASH, which say which slot and spec it runs.
// A replica's descendants inherit its environment (a `setsid` child, a daemonising grandchild), so a
// nonce may be carried by several group leaders: the replica is the one state.json recorded, or,
// without a record, the oldest; the others are never adopted as replicas.

import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { createFileWith } from '../util/create-file.js';
import { join } from 'node:path';

import { randomBytesPooled } from '../util/random.js';
import { readProcStat } from '../runtime/proc.js';

export const SUPERVISOR_ID_VAR = 'TEND_SUPERVISOR_ID';
export const NONCE_VAR = 'TEND_REPLICA_NONCE';
export const SPEC_HASH_VAR = 'TEND_SPEC_HASH';
/** Still set in every replica's environment (a replica running `tend status` finds its daemon),
 *  but never used to recognise one. */
export const STATE_DIR_VAR = 'TEND_STATE_DIR';
/** The variables that make a process look like a replica: stripped from probes and hooks. */
export const IDENTITY_VARS = [SUPERVISOR_ID_VAR, NONCE_VAR] as const;
/** What an exec probe and a hook command carry instead: `<token>:<daemon pid>`. Each runs in a
 *  group of its own and is killed at its timeout by the daemon that ran it; when that daemon dies
 *  (SIGKILL, OOM), nothing would end a hung one (a `curl` with no timeout of its own, against the
 *  very server it checks), so the next daemon on the state directory kills them (daemon.ts). */
export const TRANSIENT_VAR = 'TEND_TRANSIENT_OF';

/** The value of TRANSIENT_VAR for what this daemon runs. */
export function transientMark(token: string): string {
  return `${token}:${process.pid}`;
}

const ID_NAME = 'id';

/** The state directory's token, created on first use (exclusively, so two daemons agree). */
export function supervisorId(stateDir: string): string {
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  const path = join(stateDir, ID_NAME);
  const existing = readId(path);
  if (existing) return existing;
  const token = randomBytes(16).toString('hex');
  try {
    createFileWith(path, `${token}\n`);
    return token;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    return readId(path) ?? token;
  }
}

/** Writes `token` back as the state directory's id after the directory was removed under the
 *  running daemon (daemon.ts). Throws when another daemon made an id of its own meanwhile. */
export function restoreSupervisorId(stateDir: string, token: string): void {
  const path = join(stateDir, ID_NAME);
  try {
    createFileWith(path, `${token}\n`);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    if (readId(path) !== token) throw new Error(`${path} names another supervisor: a second daemon started on this state directory`);
  }
}

/** The token without creating it (test helpers, `tend down` cleaning up after a dead daemon). */
export function readSupervisorId(stateDir: string): string | undefined {
  return readId(join(stateDir, ID_NAME));
}

function readId(path: string): string | undefined {
  try {
    const t = readFileSync(path, 'utf8').trim();
    return /^[0-9a-f]{32}$/.test(t) ? t : undefined;
  } catch {
    return undefined;
  }
}

/** A fresh nonce for one spawn. */
export function newNonce(): string {
  return randomBytesPooled(8).toString('hex');
}

export interface MarkedGroup {
  pgid: number;
  startTime: number;
  nonce?: string;
  service?: string;
  index?: number;
  hash?: string;
  /** notify (DESIGN §9): its TEND_NOTIFY_TOKEN, so that a replica the state file missed keeps its
   *  session (its datagram socket path and stream token) when adopted by its environment. */
  notifyToken?: string;
}

/** Live group leaders (pid === pgid) whose environment carries this state directory's token. */
export function findMarkedGroups(token: string): MarkedGroup[] {
  return scanMarked(token).groups;
}

/** A probe's or hook command's group, left by a daemon other than this one. */
export interface TransientGroup {
  pgid: number;
  startTime: number;
  /** The daemon that ran it. */
  by: number;
}

/** One pass over /proc: the replicas' groups (findMarkedGroups) and the transient groups (a probe, a
 *  hook command) that another daemon on this state directory ran. */
export function scanMarked(token: string): { groups: MarkedGroup[]; transient: TransientGroup[] } {
  const marker = `${SUPERVISOR_ID_VAR}=${token}`;
  const transientPrefix = `${TRANSIENT_VAR}=${token}:`;
  const found: MarkedGroup[] = [];
  const transient: TransientGroup[] = [];
  for (const name of readdirSync('/proc')) {
    const pid = Number(name);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    const stat = readProcStat(pid);
    if (!stat || stat.pgid !== pid || stat.state === 'Z' || stat.state === 'X') continue;
    let env: string[];
    try {
      env = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
    } catch {
      continue; // gone, or not ours to read
    }
    if (!env.includes(marker)) {
      const by = Number(env.find((e) => e.startsWith(transientPrefix))?.slice(transientPrefix.length));
      if (Number.isInteger(by) && by > 0 && by !== process.pid) transient.push({ pgid: pid, startTime: stat.startTime, by });
      continue;
    }
    const get = (key: string) => env.find((e) => e.startsWith(`${key}=`))?.slice(key.length + 1);
    const index = Number(get('TEND_REPLICA'));
    const group: MarkedGroup = { pgid: pid, startTime: stat.startTime };
    const nonce = get(NONCE_VAR);
    const service = get('TEND_SERVICE');
    const hash = get(SPEC_HASH_VAR);
    if (nonce) group.nonce = nonce;
    if (service) group.service = service;
    if (get('TEND_REPLICA') !== undefined && Number.isInteger(index)) group.index = index;
    if (hash) group.hash = hash;
    const notifyToken = get('TEND_NOTIFY_TOKEN');
    if (notifyToken) group.notifyToken = notifyToken;
    found.push(group);
  }
  return { groups: found, transient };
}

/** Kills the groups of probes and hook commands that a daemon which died left running: nothing else
 *  would end a hung one. Each is checked by its start time first (its pid may have been reused). */
export function killTransient(groups: readonly TransientGroup[], log: { warn(msg: string): void }): void {
  for (const g of groups) {
    if (readProcStat(g.pgid)?.startTime !== g.startTime) continue;
    try {
      process.kill(-g.pgid, 'SIGKILL');
      log.warn(`killed process group ${g.pgid}, an exec probe or hook command of the tend (pid ${g.by}) that died while it ran`);
    } catch {
      // gone meanwhile
    }
  }
}

/** Group leaders other than `except` carrying a replica's spawn nonce: its descendants that left
 *  its group. One /proc scan; used only for services with `stop_escaped: kill`. */
export function findEscaped(nonce: string, except: number): { pgid: number; startTime: number }[] {
  const marker = `${NONCE_VAR}=${nonce}`;
  const found: { pgid: number; startTime: number }[] = [];
  for (const name of readdirSync('/proc')) {
    const pid = Number(name);
    if (!Number.isInteger(pid) || pid === except || pid === process.pid) continue;
    const stat = readProcStat(pid);
    if (!stat || stat.pgid !== pid || stat.state === 'Z' || stat.state === 'X') continue;
    try {
      if (readFileSync(`/proc/${pid}/environ`, 'latin1').split('\0').includes(marker)) found.push({ pgid: pid, startTime: stat.startTime });
    } catch {
      /* gone */
    }
  }
  return found;
}

/** Splits marked groups into one candidate replica per nonce (the oldest leader) and the rest
 *  (descendants that left the replica's group: never replicas). */
export function oldestPerNonce(groups: MarkedGroup[]): { candidates: MarkedGroup[]; escaped: MarkedGroup[] } {
  const byNonce = new Map<string, MarkedGroup[]>();
  const candidates: MarkedGroup[] = [];
  for (const g of groups) {
    if (g.nonce === undefined) {
      candidates.push(g);
      continue;
    }
    const list = byNonce.get(g.nonce);
    if (list) list.push(g);
    else byNonce.set(g.nonce, [g]);
  }
  const escaped: MarkedGroup[] = [];
  for (const list of byNonce.values()) {
    list.sort((a, b) => a.startTime - b.startTime || a.pgid - b.pgid);
    candidates.push(list[0]!);
    escaped.push(...list.slice(1));
  }
  return { candidates, escaped };
}
