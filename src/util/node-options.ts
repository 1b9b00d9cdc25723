// NODE_OPTIONS is the services', not tend's.
//
// A shell that runs Node services exports NODE_OPTIONS for them: `--require ./tracing.js` as
// OpenTelemetry's instructions have it (relative to the service's directory), `--inspect`, `--require
// dotenv/config`. Node reads it before any JavaScript runs, so tend's own Node loaded it too: run
// from another directory, every tend command died with "Cannot find module './tracing.js'"; with
// `--inspect` the daemon held port 9229 for its whole life, and the replica meant to be debugged
// was told "address already in use"; `--require dotenv/config` read the project's .env into tend.
// So `tend` (the sh line at the top of dist/bin/tend.js, scripts/bundle-cli.mjs) moves the variable
// aside before it starts Node, and puts `TEND_NODE_OPTIONS` in its place (options for tend's own
// Node: `--max-old-space-size`, `--inspect` to debug tend); the CLI puts the caller's back before
// anything reads the environment, so replicas, probes and hook commands get it as exported. tend
// starts its own Node processes (the detached daemon, the hook host) the same way.

/** Where the launcher keeps the caller's NODE_OPTIONS while tend's own Node starts. */
export const CALLER_NODE_OPTIONS_VAR = 'TEND_CALLER_NODE_OPTIONS';
/** Options for tend's own Node, in place of NODE_OPTIONS. */
export const OWN_NODE_OPTIONS_VAR = 'TEND_NODE_OPTIONS';

/** Puts NODE_OPTIONS back as the caller exported it, after the launcher (or nodeOptionsAside)
 *  started this process with it moved aside. */
export function restoreCallerNodeOptions(env: NodeJS.ProcessEnv = process.env): void {
  const caller = env[CALLER_NODE_OPTIONS_VAR];
  if (caller !== undefined) {
    delete env[CALLER_NODE_OPTIONS_VAR];
    env['NODE_OPTIONS'] = caller;
  } else if (env[OWN_NODE_OPTIONS_VAR] && env['NODE_OPTIONS'] === env[OWN_NODE_OPTIONS_VAR]) {
    delete env['NODE_OPTIONS'];
  }
}

/** The environment to start another of tend's own Node processes with, as the launcher starts
 *  tend: the caller's NODE_OPTIONS moved aside, for that process to put back, and `own` (tend's
 *  options, TEND_NODE_OPTIONS by default) in its place. */
export function nodeOptionsAside(env: NodeJS.ProcessEnv = process.env, own: string | undefined = env[OWN_NODE_OPTIONS_VAR]): NodeJS.ProcessEnv {
  const { NODE_OPTIONS: caller, ...rest } = env;
  const out: NodeJS.ProcessEnv = rest;
  if (caller) out[CALLER_NODE_OPTIONS_VAR] = caller;
  else if (caller !== undefined) out['NODE_OPTIONS'] = caller;
  if (own) out['NODE_OPTIONS'] = own;
  return out;
}
