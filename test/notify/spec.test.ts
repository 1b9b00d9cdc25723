// The notify fields of a spec: normalised values, and bad input reported at file:line:col.

import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { stableHash } from '../../src/spec/hash.js';
import { loadSpecs } from '../helpers/spec.js';

const BASE = 'command: [node, server.js]\n';

test('notify, readiness.notify, watchdog, events and metadata are normalised', async (t) => {
  const { result, problems } = await loadSpecs(t, {
    'web.yaml':
      BASE +
      [
        'notify: systemd',
        'readiness: { notify: true, timeout: 2m }',
        'watchdog: 30s',
        'events:',
        '  progress: { type: object, required: [done] }',
        '  done: true',
        'metadata: { region: eu, shards: [1, 2] }',
      ].join('\n'),
    'plain.yaml': BASE + 'readiness: { notify: true }\n',
  });
  assert.deepEqual(problems, []);
  const web = result.services.find((s) => s.name === 'web')!;
  assert.equal(web.readiness, undefined, 'no probe: READY is the signal');
  assert.deepEqual(web.notify, {
    systemd: true,
    readyTimeoutMs: 120_000,
    watchdogMs: 30_000,
    events: { progress: { type: 'object', required: ['done'] }, done: true },
    metadata: { region: 'eu', shards: [1, 2] },
  });
  const plain = result.services.find((s) => s.name === 'plain')!;
  assert.deepEqual(plain.notify, { systemd: false, readyTimeoutMs: 90_000, events: {} });
});

test('a spec without notify fields keeps the hash it had; metadata and watchdog are process-shaping, events are not', async (t) => {
  const { result } = await loadSpecs(t, {
    'plain.yaml': BASE,
    'meta.yaml': BASE + 'metadata: { a: 1 }\n',
    'dog.yaml': BASE + 'watchdog: 10s\n',
    'sd.yaml': BASE + 'notify: systemd\n',
    'ev.yaml': BASE + 'events: { x: true }\n',
    'ready.yaml': BASE + 'readiness: { notify: true }\n',
  });
  const hash = (name: string) => result.services.find((s) => s.name === name)!.hash;
  const plain = result.services.find((s) => s.name === 'plain')!;
  // The hash as computed before notify existed (state files written by older tends stay valid).
  assert.equal(plain.hash, stableHash({ command: plain.command, cwd: plain.cwd, env: plain.env, ports: plain.ports, user: null }));
  for (const changed of ['meta', 'dog', 'sd']) assert.notEqual(hash(changed), plain.hash, changed);
  for (const same of ['ev', 'ready']) assert.equal(hash(same), plain.hash, same);
});

const cases: Record<string, { yaml: string; expect: string }> = {
  'notify must be systemd': { yaml: 'notify: sd\n', expect: 'web.yaml:2:9: notify must be one of "systemd", got "sd"' },
  'a watchdog of zero': { yaml: 'watchdog: 0\n', expect: 'web.yaml:2:11: watchdog must be longer than 0, got 0' },
  'a watchdog that is not a duration': { yaml: 'watchdog: soon\n', expect: 'web.yaml:2:11: watchdog must be' },
  'probe settings that do not apply to notify': { yaml: 'readiness:\n  notify: true\n  interval: 1s\n', expect: 'web.yaml:4:3: readiness.interval does not apply to notify: true' },
  'notify and a check together': { yaml: 'readiness: { notify: true, exec: [ok] }\n', expect: 'web.yaml:2:1: readiness must have only one of exec, http, tcp or notify, got exec and notify' },
  'liveness by notify': { yaml: 'liveness: { notify: true }\n', expect: 'web.yaml:2:13: liveness cannot be notify: true; to restart a replica whose heartbeats stop, use watchdog: <duration>' },
  'an event schema that is not a schema': { yaml: 'events:\n  progress: { type: nonsense }\n', expect: 'web.yaml:3:13: events.progress is not a valid JSON Schema: ' },
  'an event schema that is a number': { yaml: 'events:\n  progress: 3\n', expect: 'web.yaml:3:13: events.progress must be' },
  'an event name with spaces': { yaml: 'events:\n  "two words": true\n', expect: 'web.yaml:3:3: ' },
  'metadata too large': { yaml: `metadata: { blob: "${'x'.repeat(40_000)}" }\n`, expect: 'web.yaml:2:11: metadata is 40011 bytes as JSON; at most 32768 fit in TEND_METADATA' },
};

for (const [name, c] of Object.entries(cases)) {
  test(`invalid: ${name}`, async (t) => {
    const { problems } = await loadSpecs(t, { 'web.yaml': BASE + c.yaml });
    assert.ok(
      problems.some((p) => p.startsWith(c.expect)),
      `expected a problem starting with ${JSON.stringify(c.expect)}, got ${JSON.stringify(problems)}`,
    );
  });
}
