// NODE_EXTRA_CA_CERTS moved aside for tend's own Node processes and put back for what they start
// (src/util/deferred-ca.ts); test/cli/launcher.test.ts checks the same from the user's side.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFERRED_CA_VAR, deferExtraCa, restoreExtraCa } from '../../src/util/deferred-ca.js';
import { helperEnv } from '../../src/runtime/spawn-helper.js';
import { cleanup } from '../helpers/index.js';

test('deferExtraCa moves the variable aside and restoreExtraCa puts it back; an unset or empty one is left as it is', () => {
  const cases: [NodeJS.ProcessEnv, NodeJS.ProcessEnv][] = [
    [{ PATH: '/bin', NODE_EXTRA_CA_CERTS: '/ca.pem' }, { PATH: '/bin', [DEFERRED_CA_VAR]: '/ca.pem' }],
    [{ PATH: '/bin', NODE_EXTRA_CA_CERTS: '' }, { PATH: '/bin', NODE_EXTRA_CA_CERTS: '' }],
    [{ PATH: '/bin' }, { PATH: '/bin' }],
  ];
  for (const [exported, moved] of cases) {
    const env = deferExtraCa(exported);
    assert.deepEqual(env, moved);
    restoreExtraCa(env);
    assert.deepEqual(env, exported);
  }
});

test("tend's own helpers start without NODE_OPTIONS or NODE_EXTRA_CA_CERTS (they make no TLS connection)", (t) => {
  const saved = { ...process.env };
  cleanup(t, () => {
    for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
    Object.assign(process.env, saved);
  });
  Object.assign(process.env, { NODE_OPTIONS: '--require /x.js', NODE_EXTRA_CA_CERTS: '/ca.pem', TEND_KEPT: '1' });
  const env = helperEnv();
  assert.equal(env['NODE_OPTIONS'], undefined);
  assert.equal(env['NODE_EXTRA_CA_CERTS'], undefined);
  assert.equal(env['TEND_KEPT'], '1');
});
