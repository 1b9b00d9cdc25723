// NODE_EXTRA_CA_CERTS, put off past tend's own start.
//
// Node 20 reads the file that NODE_EXTRA_CA_CERTS names, and with it all its ~140 bundled root
// certificates, before any JavaScript runs: ~30 ms at every start of a Node process
// (nodejs/node#40524; later Nodes load them when TLS is first used, nodejs/node#59856). tend's own
// processes never check a certificate: the API is plain HTTP on a unix socket or 127.0.0.1, an
// https probe does not verify (as the kubelet's does not), and webhooks run in the hook host, which
// gets the variable. So `tend` (the sh line at the top of dist/bin/tend.js, written by
// scripts/bundle-cli.mjs) moves the variable aside before it starts Node, and the CLI puts it back
// before anything reads the environment: replicas, hook commands and the hook host see the
// environment the user exported, and tend starts ~30 ms sooner.

/** Where the launcher keeps NODE_EXTRA_CA_CERTS while tend's own Node starts. */
export const DEFERRED_CA_VAR = 'TEND_DEFERRED_NODE_EXTRA_CA_CERTS';

/** Puts NODE_EXTRA_CA_CERTS back as the user exported it, if the launcher moved it aside. */
export function restoreExtraCa(env: NodeJS.ProcessEnv = process.env): void {
  const file = env[DEFERRED_CA_VAR];
  if (file === undefined) return;
  delete env[DEFERRED_CA_VAR];
  env['NODE_EXTRA_CA_CERTS'] = file;
}

/** The environment for another tend CLI process (the detached daemon): the variable moved aside,
 *  as the launcher does, for that process to put back. */
export function deferExtraCa(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const { NODE_EXTRA_CA_CERTS: file, ...rest } = env;
  return file === undefined || file === '' ? env : { ...rest, [DEFERRED_CA_VAR]: file };
}
