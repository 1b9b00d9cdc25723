// `on:` and `alerts:` in a service spec: valid forms normalise; bad input gets file:line:col errors.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { loadSpecs } from '../helpers/spec.js';
import { serviceSchema } from '../../src/spec/schema.js';
import { HOOK_KEYS, ALERT_NAMES, HOOKABLE_EVENT_TYPES, selectorOf } from '../../src/spec/hook-events.js';
import { EVENT_CATALOGUE } from '../../src/reconcile/events.js';
import { sleepService, startSupervisor } from '../helpers/supervisor.js';
import { specDir } from '../helpers/index.js';

const BASE = 'command: [node, server.js]\n';

test('every event type tend emits can be hooked by its full name (events.md passes them all to hooks); `restarted` covers `tend restart`', () => {
  assert.deepEqual([...HOOKABLE_EVENT_TYPES].sort(), Object.keys(EVENT_CATALOGUE).sort());
  assert.deepEqual(selectorOf('restarted')?.types, ['replica.restarting', 'service.restarting']);
});

test('the schema accepts exactly the names of the hook-name table', () => {
  const props = (serviceSchema().properties as Record<string, { properties: Record<string, unknown> }>);
  assert.deepEqual(Object.keys(props.on!.properties).sort(), [...HOOK_KEYS].sort());
  assert.deepEqual(Object.keys(props.alerts!.properties).sort(), [...ALERT_NAMES].sort());
});

test('on: and alerts: normalise: argv and string commands, cwd against the file, webhooks with defaults, alert rules', async (t) => {
  const { dir, result, problems } = await loadSpecs(t, {
    'web.yaml': `${BASE}on:
  failed:
    - command: ["./page.sh", "--urgent"]
      cwd: ops
      timeout: 3s
    - url: \${SLACK_WEBHOOK_URL}
  restarted: { command: "logger -t tend restarted" }
  crash_loop: [ { url: "https://hooks.example/tend", retries: 1, headers: { Authorization: "Bearer \${TOKEN}" } } ]
alerts:
  restart_rate: { max: 5, window: 10m }
  cpu_high: { above: 90%, for: 5m }
  memory_high: { above: 512Mi, for: 1m }
  unhealthy_for: 2m
  watchdog_stale: false
`,
  });
  assert.deepEqual(problems, []);
  const web = result.services[0]!;
  assert.equal(web.hooks!.length, 4);
  const [page, slack, logger, crash] = web.hooks!;
  assert.deepEqual(page!.action, { kind: 'command', command: ['./page.sh', '--urgent'], cwd: join(dir, 'ops'), timeoutMs: 3000 });
  assert.deepEqual(page!.services, ['web']);
  assert.deepEqual(slack!.action, { kind: 'webhook', url: '${SLACK_WEBHOOK_URL}', headers: {}, timeoutMs: 5000, retries: 3, retryDelayMs: 500 });
  assert.deepEqual(logger!.action, { kind: 'command', command: ['/bin/sh', '-c', 'logger -t tend restarted'], cwd: dir, timeoutMs: 10_000 });
  assert.deepEqual(logger!.selector.types, ['replica.restarting', 'service.restarting']);
  assert.deepEqual(crash!.selector, { types: ['alert.firing', 'alert.resolved'], alert: 'crash_loop' });
  assert.deepEqual(web.alerts, {
    restart_rate: { max: 5, windowMs: 600_000 },
    cpu_high: { percent: 90, forMs: 300_000 },
    memory_high: { bytes: 512 * 1024 * 1024, forMs: 60_000 },
    unhealthy_for: { forMs: 120_000 },
    watchdog_stale: false,
  });
});

const cases: Record<string, { yaml: string; expect: string }> = {
  'an unknown event name': { yaml: 'on:\n  faild: [ { command: ["true"] } ]\n', expect: 'web.yaml:3:3: unknown key "faild" in on, did you mean "failed"?' },
  'a hook without command or url': { yaml: 'on:\n  failed:\n    - timeout: 5s\n', expect: 'web.yaml:4:7: on.failed[0] needs a "command" (argv) or a "url" (webhook)' },
  'a hook with both command and url': { yaml: 'on:\n  failed: [ { command: ["true"], url: "http://x" } ]\n', expect: 'web.yaml:3:13: on.failed[0] has both "command" and "url"; a hook is one or the other' },
  'a url that is not http(s)': { yaml: 'on:\n  failed: [ { url: "ftp://example.com/x" } ]\n', expect: 'web.yaml:3:20: on.failed[0].url must be an http:// or https:// URL, got "ftp://example.com/x"' },
  'a url without a scheme': { yaml: 'on:\n  failed: [ { url: "hooks.example/tend" } ]\n', expect: 'web.yaml:3:20: on.failed[0].url must be an http:// or https:// URL, got "hooks.example/tend"' },
  'a services filter in a service file': { yaml: 'on:\n  failed: [ { command: ["true"], services: [api] } ]\n', expect: '^web.yaml:3:34: unknown key "services" in on.failed\\[0\\]' },
  'a timeout that is not a duration': { yaml: 'on:\n  failed: [ { command: ["true"], timeout: soon } ]\n', expect: '^web.yaml:3:43: on.failed\\[0\\].timeout must be a duration' },
  'a cpu threshold without a unit': { yaml: 'alerts:\n  cpu_high: { above: 90, for: 5m }\n', expect: 'web.yaml:3:22: alerts.cpu_high.above must be a percentage with its unit, like 90% (100% = one core), got 90' },
  'a memory threshold without a unit': { yaml: 'alerts:\n  memory_high: { above: 400, for: 5m }\n', expect: 'web.yaml:3:25: alerts.memory_high.above must be a size with its unit, like 512Mi or 2G, got 400' },
  'a threshold without a duration': { yaml: 'alerts:\n  cpu_high: { above: 90% }\n', expect: 'web.yaml:3:3: alerts.cpu_high needs "for" (e.g. { above: 90%, for: 5m })' },
  'a restart rate without max': { yaml: 'alerts:\n  restart_rate: { window: 5m }\n', expect: 'web.yaml:3:3: alerts.restart_rate needs "max" (e.g. { max: 5, window: 10m })' },
  'an unknown alert': { yaml: 'alerts:\n  crashloop: true\n', expect: 'web.yaml:3:3: unknown key "crashloop" in alerts, did you mean "crash_loop"?' },
};

for (const [name, c] of Object.entries(cases)) {
  test(`invalid on:/alerts:: ${name}`, async (t) => {
    const { result, problems } = await loadSpecs(t, { 'web.yaml': BASE + c.yaml });
    const found = problems.some((p) => (c.expect.startsWith('^') ? new RegExp(c.expect).test(p) : p === c.expect));
    assert.ok(found, `expected ${c.expect}\n got:\n  ${problems.join('\n  ')}`);
    assert.equal(result.services.length, 0);
  });
}

test('a bad on: in a running service\'s file is reported and the running replica is untouched; fixing it applies live, without a restart', async (t) => {
  const { dir, state } = specDir(t, { 'web.yaml': sleepService() });
  const s = await startSupervisor(t, dir, state);
  const before = await s.waitReady('web', 1);
  writeFileSync(join(dir, 'web.yaml'), sleepService('on:\n  failed: [ { url: "ftp://nope" } ]\n'));
  const problem = await s.waitFor(() => s.sup.controller.specProblems.find((p) => /url must be an http/.test(p.message)), 'problem reported');
  assert.equal(problem.line, 4);
  assert.deepEqual(s.pids('web'), before);
  writeFileSync(join(dir, 'web.yaml'), sleepService('on:\n  failed: [ { url: "https://hooks.example/tend" } ]\n'));
  await s.waitFor(() => s.sup.controller.desiredState.services.get('web')?.hooks?.length === 1, 'hooks in force');
  assert.deepEqual(s.pids('web'), before, 'no restart');
});
