// promtool (Debian's `prometheus` package) for the metrics and rules tests; .ci/run installs it.
import { spawnSync } from 'node:child_process';

/** Runs promtool with `args` (and `input` on stdin); fails clearly when it is not installed. */
export function promtool(args: string[], input?: string): { status: number | null; out: string } {
  const r = spawnSync('promtool', args, { input, encoding: 'utf8', timeout: 60_000 });
  if (r.error && (r.error as NodeJS.ErrnoException).code === 'ENOENT') {
    throw new Error('promtool is not installed: apt-get install prometheus (it provides promtool; .ci/run installs it)');
  }
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}
