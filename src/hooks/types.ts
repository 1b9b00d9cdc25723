// What the hook runner reports about one run.

/** How one run of a hook ended. */
export type HookOutcome =
  | { ok: true; attempts: number }
  | { ok: false; attempts: number; reason: string; exitCode: number | null; output: string; timedOut: boolean };
