// The launch store keeps only what a replica's environment adds to the daemon's, and gives back
// the launch as it was: the same variables, values and order, whatever the names (`__proto__`).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { LaunchStore } from '../../src/reconcile/launches.js';
import { expandReplica } from '../../src/spec/expand.js';
import type { ReplicaLaunch } from '../../src/spec/types.js';
import { spec } from '../helpers/world.js';

const name = fc.oneof(fc.constantFrom('__proto__', 'constructor', 'PATH', 'HOME', 'toString'), fc.stringMatching(/^[A-Z_][A-Z0-9_]{0,6}$/));
const vars = fc.uniqueArray(fc.tuple(name, fc.string({ maxLength: 8 })), { selector: ([k]) => k, maxLength: 12 });

test('a launch comes back with the same environment, in the same order', () => {
  fc.assert(
    fc.property(vars, vars, (baseVars, replicaVars) => {
      const base: Record<string, string | undefined> = Object.fromEntries(baseVars);
      const store = new LaunchStore(base);
      // As expandReplica builds it: the base in its order, then the replica's overrides and additions.
      const env = new Map<string, string>(baseVars);
      for (const [k, v] of replicaVars) env.set(k, v);
      const launch: ReplicaLaunch = { service: 's', index: 3, argv: ['a', 'b'], cwd: '/x', env: Object.fromEntries(env) };
      store.set('s-3', launch);
      const back = store.get('s-3');
      assert.ok(back);
      assert.deepEqual(Object.entries(back.env), [...env]);
      assert.deepEqual({ ...back, env: undefined }, { ...launch, env: undefined });
    }),
  );
});

test('a replica of a real spec keeps only its own variables; the base is shared', () => {
  const base = { ...process.env, TEND_STATE_DIR: '/state', UNSET: undefined };
  const store = new LaunchStore(base);
  const s = spec('web', { env: { PORT: '8080', HOME: '/srv/web' }, ports: { HTTP: 9000 } });
  const launch = expandReplica(s, 2, store.base);
  launch.env['TEND_REPLICA_NONCE'] = 'n-1';
  store.set('web-2', launch);
  const back = store.get('web-2');
  assert.deepEqual(back, launch);
  assert.equal('UNSET' in back!.env, false, 'an unset base variable stays unset');
  const own = (store as unknown as { kept: Map<string, { own: Record<string, string> }> }).kept.get('web-2')!.own;
  assert.deepEqual(Object.keys(own).sort(), ['HOME', 'HTTP', 'PORT', 'PWD', 'TEND_REPLICA', 'TEND_REPLICAS', 'TEND_REPLICA_NONCE', 'TEND_SERVICE'].filter((k) => (k !== 'HOME' || process.env['HOME'] !== '/srv/web') && (k !== 'PWD' || process.env['PWD'] !== launch.cwd)).sort());
  store.delete('web-2');
  assert.equal(store.get('web-2'), undefined);
});
