// %(ENV_X)s of a supervisord program, written so that it keeps supervisord's meaning under tend.
// supervisord expands it once, when it loads the file, from its own environment: the program's
// environment= never feeds it. tend expands ${X} when it starts a replica: in an env value against
// the entries above it (then tend's own environment), in command and cwd against the replica's
// final environment (docs/spec.md, "Each replica's environment is built in this order"). So where
// the program's env also sets X, a plain ${X} would be the program's own X
// (environment=HOME="/app",SECRET_PATH="%(ENV_HOME)s/secret" gave /app/secret, not /root/secret).
// Two ways keep supervisord's meaning, without changing what the program sees otherwise:
//   - an env entry that uses ${X} is written before X: when it is expanded, X is still tend's;
//   - where that cannot be (command and directory, or entries that use each other), env starts
//     with SUPERVISORD_ENV_X: ${X}, expanded before any entry sets X, and the reference becomes
//     ${SUPERVISORD_ENV_X} (the program sees that one variable more).
// Pure: names in, a plan out.

/** How one reference was written: as ${X} (nothing sets X, or its entry comes first), or through a bridge. */
export type EnvRefWay = { kind: 'plain' } | { kind: 'ordered'; before: string } | { kind: 'bridged'; bridge: string };

export interface EnvRefPlan {
  /** The env keys in the order to write them: bridges first, then the entries. */
  order: string[];
  /** Bridge variable → the X it holds. */
  bridges: Map<string, string>;
  /** How reference `name` in `where` (an env key, or "command", "directory") is written. */
  way(where: string, name: string): EnvRefWay;
}

export const BRIDGE_PREFIX = 'SUPERVISORD_ENV_';

/**
 * Plans the env of one program. `entries` are its env keys in the order supervisord gives them
 * (the [supervisord] environment first) with the variables each value uses through %(ENV_X)s;
 * `fieldRefs` are those used by command and directory.
 */
export function planEnvRefs(entries: readonly { key: string; refs: readonly string[] }[], fieldRefs: readonly { where: string; name: string }[]): EnvRefPlan {
  const keys = new Set(entries.map((e) => e.key));
  const refsOf = new Map(entries.map((e) => [e.key, e.refs.filter((x) => x !== e.key && keys.has(x))]));
  // Stable topological order: an entry is placed once every entry that uses it is placed. A cycle
  // (A uses B, B uses A) is broken by placing its first entry: the uses left unsatisfied are bridged.
  const order: string[] = [];
  const left = entries.map((e) => e.key);
  while (left.length > 0) {
    const ready = left.findIndex((x) => !left.some((k) => k !== x && refsOf.get(k)!.includes(x)));
    order.push(...left.splice(ready < 0 ? 0 : ready, 1));
  }
  const position = new Map(order.map((k, i) => [k, i]));
  const bridges = new Map<string, string>();
  const bridgeOf = new Map<string, string>();
  const bridge = (x: string): string => {
    let name = bridgeOf.get(x);
    if (name === undefined) {
      name = `${BRIDGE_PREFIX}${x}`;
      while (keys.has(name) || bridges.has(name)) name += '_';
      bridgeOf.set(x, name);
      bridges.set(name, x);
    }
    return name;
  };
  const ways = new Map<string, EnvRefWay>();
  for (const [k, refs] of refsOf) {
    for (const x of refs) ways.set(`${k}\0${x}`, position.get(k)! < position.get(x)! ? { kind: 'ordered', before: x } : { kind: 'bridged', bridge: bridge(x) });
  }
  for (const { where, name } of fieldRefs) if (keys.has(name)) ways.set(`${where}\0${name}`, { kind: 'bridged', bridge: bridge(name) });
  return {
    order: [...bridges.keys(), ...order],
    bridges,
    way: (where, name) => ways.get(`${where}\0${name}`) ?? { kind: 'plain' },
  };
}
