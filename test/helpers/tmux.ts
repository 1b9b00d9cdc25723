// Tests that need a real terminal run the built tend in a tmux pane of their own tmux server.

import { execFileSync } from 'node:child_process';
import type { TestContext } from 'node:test';
import { cleanup } from './index.js';

export const hasTmux = (() => {
  try {
    execFileSync('tmux', ['-V']);
    return true;
  } catch {
    return false;
  }
})();

/** A tmux server of this test's own (its socket name is unique to the run), killed after the test;
 *  returns a function that runs a tmux command on it and gives its output. */
export function tmuxServer(t: TestContext, name: string): (...args: string[]) => string {
  const server = `tend-${name}-${process.pid}-${Date.now()}`;
  const tmux = (...args: string[]) => execFileSync('tmux', ['-L', server, ...args], { encoding: 'utf8' });
  cleanup(t, () => {
    try {
      tmux('kill-server');
    } catch {
      /* already gone */
    }
  });
  return tmux;
}
