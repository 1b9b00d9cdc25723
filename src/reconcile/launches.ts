// The resolved launch of each live replica (its argv, cwd, environment and expanded probes), kept
// for exec probes, `tend inspect` and a live probe change, which must see the environment the
// replica was started with (its nonce, its notify token).
//
// A launch's environment is the daemon's whole environment plus a few variables of the replica's
// own. Kept as is, every replica held its own copy of every inherited variable: 3 KB of property
// table each, 16 MB of a 44 MB heap at 5000 replicas (a heap snapshot, bench/FINDINGS.md §8). So
// only what differs from the base environment is stored, and the rest is put back when read.

import type { ReplicaLaunch } from '../spec/types.js';

interface Kept extends Omit<ReplicaLaunch, 'env'> {
  /** The variables whose value is not the base environment's, in the launch's order. */
  own: Record<string, string>;
}

export class LaunchStore {
  private readonly kept = new Map<string, Kept>();
  /** The daemon's base environment for replicas, its unset variables left out. */
  readonly base: Record<string, string>;

  constructor(base: Record<string, string | undefined>) {
    this.base = Object.create(null) as Record<string, string>;
    for (const [k, v] of Object.entries(base)) if (v !== undefined) this.base[k] = v;
  }

  set(id: string, launch: ReplicaLaunch): void {
    const { env, ...rest } = launch;
    // Object.create(null): a user's variable may be named `__proto__`.
    const own: Record<string, string> = Object.create(null);
    for (const k of Object.keys(env)) if (this.base[k] !== env[k]) own[k] = env[k]!;
    this.kept.set(id, { ...rest, own });
  }

  /** The launch as it was set: the same variables, values and order. */
  get(id: string): ReplicaLaunch | undefined {
    const k = this.kept.get(id);
    if (!k) return undefined;
    const { own, ...rest } = k;
    // A base variable keeps its place when the replica overrides it, as in expandReplica's Map.
    const env: Record<string, string> = {};
    for (const [name, value] of Object.entries(this.base)) Object.defineProperty(env, name, { value, enumerable: true, writable: true, configurable: true });
    for (const name of Object.keys(own)) Object.defineProperty(env, name, { value: own[name], enumerable: true, writable: true, configurable: true });
    return { ...rest, env };
  }

  delete(id: string): void {
    this.kept.delete(id);
  }
}
