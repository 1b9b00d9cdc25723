// Shared test helpers: a temp directory per test, waiting on a condition with a deadline (never a
// fixed sleep), and killing by PID every process a test started, even when the test fails.

import { mkdtempSync, mkdirSync, readdirSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestContext } from 'node:test';
import { execFileSync } from 'node:child_process';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const FIXTURES = join(ROOT, 'test', 'fixtures');
export const FIXTURE_BIN = join(FIXTURES, 'bin');
export const NODE = process.execPath;
/** The built tend, as a user runs it (its bundle loads some modules differently from the sources). */
export const BUILT = join(ROOT, 'dist', 'bin', 'tend.js');

/** argv that runs a fixture script from test/fixtures/bin with this Node. */
export function fixture(name: string, ...args: (string | number)[]): string[] {
  return [NODE, join(FIXTURE_BIN, name), ...args.map(String)];
}

const cleanups = new WeakMap<TestContext, (() => unknown)[]>();

/** Undoes something after the test. The last registered runs first, as Go's t.Cleanup: a daemon
 *  started in a directory is killed before the directory is removed. node's t.after runs hooks in
 *  the order they were registered, and stops at the first one that throws; here every cleanup runs,
 *  and the first failure is reported once all have. (A full-disk test failed in CI when its unmount
 *  ran before the daemon was killed: the daemon put back the state directory removed under it, the
 *  removal failed with ENOTEMPTY, the hooks after it never killed the daemon, and the test file never
 *  exited.) */
export function cleanup(t: TestContext, undo: () => unknown): void {
  let stack = cleanups.get(t);
  if (stack === undefined) {
    const own: (() => unknown)[] = [];
    cleanups.set(t, own);
    t.after(async () => {
      const failures: unknown[] = [];
      for (let next = own.pop(); next !== undefined; next = own.pop()) {
        try {
          await next();
        } catch (err) {
          failures.push(err);
        }
      }
      if (failures.length === 1) throw failures[0];
      if (failures.length > 1) throw new AggregateError(failures, `${failures.length} cleanups failed`);
    });
    stack = own;
  }
  stack.push(undo);
}

/** Removes a directory tree after the test (see cleanup: after what was started in it is stopped). */
export function removeAfter(t: TestContext, dir: string): void {
  cleanup(t, () => rmSync(dir, { recursive: true, force: true, maxRetries: 3 }));
}

/** A fresh temporary directory, removed after the test. Short path: Unix sockets allow ~108 bytes. */
export function tempDir(t: TestContext, files: Record<string, string> = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'tend-'));
  writeFiles(dir, files);
  removeAfter(t, dir);
  return dir;
}

/** A tmpfs of `size` mounted in a fresh temporary directory; unmounted (lazily: a process still
 *  holding a file there lets it go when it exits) and removed after the test. Undefined, with the
 *  test skipped, where mounting needs a root this run does not have. */
export function smallTmpfs(t: TestContext, size: string, options = ''): string | undefined {
  const root = mkdtempSync(join(tmpdir(), 'tend-fs-'));
  const mnt = join(root, 'mnt');
  mkdirSync(mnt);
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}${options ? `,${options}` : ''}`, 'tmpfs', mnt], { stdio: 'pipe' });
  } catch (err) {
    rmSync(root, { recursive: true, force: true });
    t.skip(`cannot mount a small tmpfs here (${(err as Error).message.split('\n')[0]}): needs root`);
    return undefined;
  }
  removeAfter(t, root);
  cleanup(t, () => execFileSync('umount', ['-l', mnt], { stdio: 'pipe' }));
  return mnt;
}

export function writeFiles(dir: string, files: Record<string, string>): void {
  for (const [name, text] of Object.entries(files)) {
    const path = join(dir, name);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, text);
  }
}

export function readText(path: string): string {
  return readFileSync(path, 'utf8');
}

/** Polls `check` until it returns a truthy value or the deadline passes; returns that value. */
export async function waitFor<T>(
  check: () => T | Promise<T>,
  { timeoutMs = 5000, intervalMs = 10, what = 'condition' }: { timeoutMs?: number; intervalMs?: number; what?: string } = {},
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v) return v as NonNullable<T>;
      last = v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (last: ${describe(last)})`);
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

function describe(v: unknown): string {
  if (v instanceof Error) return v.message;
  try {
    return JSON.stringify(v);
  } catch {
    return String(v);
  }
}

/** A temp root with `services.d/` holding `files`, and where the state directory goes. */
export function specDir(t: TestContext, files: Record<string, string>): { root: string; dir: string; state: string } {
  const root = tempDir(t);
  const dir = join(root, 'services.d');
  mkdirSync(dir);
  writeFiles(dir, files);
  return { root, dir, state: join(root, 'state') };
}

/** State letter, parent and group of a pid from /proc/<pid>/stat, or null when it does not exist. */
export function procStat(pid: number): { state: string; ppid: number; pgid: number } | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const [state, ppid, pgid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { state: state!, ppid: Number(ppid), pgid: Number(pgid) };
  } catch {
    return null;
  }
}

/** State letter of a pid (R, S, T, Z, ...), or null when there is no such process. */
export function procState(pid: number): string | null {
  return procStat(pid)?.state ?? null;
}

/** Every pid in /proc. */
export function allPids(): number[] {
  return readdirSync('/proc').map(Number).filter(Number.isInteger);
}

/** A process counts as alive when it exists and is not a zombie (PID 1 here does not reap orphans). */
export function isAlive(pid: number): boolean {
  const s = procState(pid);
  return s !== null && s !== 'Z' && s !== 'X';
}

/** Records pids (and process groups) a test started; kills them all after the test, pass or fail. */
export function processReaper(t: TestContext): { track(pid: number | undefined, group?: boolean): void } {
  const pids = new Set<number>();
  const groups = new Set<number>();
  cleanup(t, () => {
    for (const g of groups) trySignal(-g, 'SIGKILL');
    for (const p of pids) trySignal(p, 'SIGKILL');
  });
  return {
    track(pid, group = false) {
      if (pid === undefined) return;
      (group ? groups : pids).add(pid);
    },
  };
}

function trySignal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    /* already gone */
  }
}

/** Live (not zombie) members of a process group, by one scan of /proc. */
export function liveGroupSize(pgid: number): number {
  return allPids().filter((pid) => {
    const st = procStat(pid);
    return st !== null && st.pgid === pgid && st.state !== 'Z' && st.state !== 'X';
  }).length;
}
