// The probe runners of every live replica, by instance id. The controller creates them when a
// replica starts (or is adopted), updates them on a live spec change and stops them when it stops;
// verdicts come back through `onVerdict` and are folded like every other observation.

import { ProbeRunner } from '../health/probe-runner.js';
import type { ProbeState } from '../health/types.js';
import type { ProbeSpec, ReplicaLaunch } from '../spec/types.js';
import { IDENTITY_VARS, SUPERVISOR_ID_VAR, TRANSIENT_VAR, transientMark } from '../state/orphans.js';

type Kind = 'readiness' | 'liveness';

interface Entry {
  readiness?: ProbeRunner;
  liveness?: ProbeRunner;
}

export class ProbeSet {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly onVerdict: (id: string, kind: Kind, state: ProbeState, prev: ProbeState) => void) {}

  /** Makes the runners of `id` match `launch` (create, update or stop them). */
  sync(id: string, launch: ReplicaLaunch, user: string | undefined, startedAt: number): void {
    let entry = this.entries.get(id);
    if (!entry) {
      if (!launch.readiness && !launch.liveness) return;
      entry = {};
      this.entries.set(id, entry);
    }
    for (const kind of ['readiness', 'liveness'] as const) {
      const spec: ProbeSpec | undefined = launch[kind];
      const runner = entry[kind];
      if (!spec) {
        runner?.stop();
        delete entry[kind];
      } else if (runner) {
        runner.update(spec);
      } else {
        const r = new ProbeRunner(spec, probeContext(launch, user), (state, prev) => this.onVerdict(id, kind, state, prev));
        entry[kind] = r;
        r.start(startedAt);
      }
    }
  }

  has(id: string): boolean {
    return this.entries.has(id);
  }

  stop(id: string): void {
    const entry = this.entries.get(id);
    if (!entry) return;
    entry.readiness?.stop();
    entry.liveness?.stop();
    this.entries.delete(id);
  }

  stopAll(): void {
    for (const id of [...this.entries.keys()]) this.stop(id);
  }
}

/** Where an exec probe runs: the replica's cwd and environment without tend's identity variables
 *  (a probe is never mistaken for the replica by a later tend), marked as this daemon's transient
 *  run instead (a later tend kills it if this one died), as the replica's user. */
function probeContext(launch: ReplicaLaunch, user: string | undefined): { cwd: string; env: Record<string, string>; user?: string } {
  const env = { ...launch.env };
  const token = env[SUPERVISOR_ID_VAR];
  for (const v of IDENTITY_VARS) delete env[v];
  if (token !== undefined) env[TRANSIENT_VAR] = transientMark(token);
  return { cwd: launch.cwd, env, ...(user !== undefined ? { user } : {}) };
}
