// Why a verb that acts on processes (pause, resume, kill) has nothing to act on: said by the
// daemon to any API client and checked by the CLI before it acts on any of several targets, in
// the same words. Before, `tend kill web` on a service `tend stop` had stopped printed "signalled
// web" and did nothing.

/** The verbs that need a process, and how a message names what they would do. */
export type ProcessVerb = 'pause' | 'resume' | 'kill';
const DOING: Record<ProcessVerb, string> = { pause: 'pause', resume: 'resume', kill: 'signal' };

/** The part of a replica this needs: its state, and whether a process of it runs. */
export interface ReplicaLife {
  state: string;
  live: boolean;
}

/** Why `target` (a service, or `svc/N`) has no process for `verb`, or undefined when it has one. */
export function noProcess(verb: ProcessVerb, target: string, service: string, held: boolean, replicas: readonly ReplicaLife[]): string | undefined {
  if (replicas.some((r) => r.live)) return undefined;
  const states = new Set(replicas.map((r) => r.state));
  const why = held
    ? `it is stopped (\`tend stop\`); \`tend start ${service}\` starts it`
    : replicas.length === 0
      ? 'it has no replicas'
      : states.has('failed')
        ? `it failed; \`tend restart ${service}\` starts it again`
        : states.has('completed')
          ? 'it completed (a oneshot job)'
          : states.has('backoff')
            ? 'it is waiting to be restarted (back-off)'
            : states.has('pending')
              ? 'it has not started yet'
              : 'it has no process now';
  return `${target} has no running process to ${DOING[verb]}: ${why}`;
}
