// Runtime test helpers: a runtime closed after the test, launches of fixtures, and waiting for a
// line in a replica's log.

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { TestContext } from 'node:test';

import { ProcessRuntime, type ProcessRuntimeOptions } from '../../src/runtime/process-runtime.js';
import type { ExitStatus, ProcessHandle, StartRequest } from '../../src/runtime/types.js';
import type { ReplicaLaunch } from '../../src/spec/types.js';
import { cleanup, processReaper, readText, waitFor } from '../helpers/index.js';

export function launch(argv: string[], cwd: string, env: Record<string, string> = {}): ReplicaLaunch {
  return { service: 'svc', index: 0, argv, cwd, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env } };
}

export interface Harness {
  rt: ProcessRuntime;
  /** Starts a replica that must start; tracks its group for killing after the test. */
  start(req: StartRequest): Promise<{ handle: ProcessHandle; exited: Promise<ExitStatus> }>;
  track(pid: number): void;
}

export function harness(t: TestContext, options: ProcessRuntimeOptions = {}): Harness {
  // `TEND_TEST_RUNTIME=helper` (set by process-runtime-helper.test.ts) or `node-helper` (by
  // process-runtime-node-helper.test.ts): the same tests, every replica forked by the compiled
  // spawn helpers or by node's. Read here, not when this module loads: those files import this one
  // before they set the variable.
  const mode = process.env['TEND_TEST_RUNTIME'];
  const rt = new ProcessRuntime(
    mode === 'helper' || mode === 'node-helper' ? { ...options, helper: true, waitForHelper: true, helperKind: mode === 'node-helper' ? 'node' : 'auto' } : options,
  );
  const reaper = processReaper(t);
  cleanup(t, () => rt.close());
  return {
    rt,
    track: (pid) => reaper.track(pid),
    async start(req) {
      let onExit!: (s: ExitStatus) => void;
      const exited = new Promise<ExitStatus>((r) => (onExit = r));
      const res = await rt.start(req, onExit);
      if (!res.ok) throw new Error(`start failed: ${res.reason}`);
      reaper.track(res.handle.pgid, true);
      return { handle: res.handle, exited };
    },
  };
}

/** Waits until the log holds `text`; returns the log's content. */
export function waitForLog(file: string, text: string | RegExp, timeoutMs = 5000): Promise<string> {
  return waitFor(
    () => {
      if (!existsSync(file)) return '';
      const s = readText(file);
      return (typeof text === 'string' ? s.includes(text) : text.test(s)) ? s : '';
    },
    { timeoutMs, what: `${String(text)} in ${file}` },
  );
}

export function logIn(dir: string, name = 'svc/0.log'): string {
  return join(dir, 'logs', name);
}
