// tend.yaml: parsed and validated like a spec file, and checked by `tend validate tend.yaml`.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { parseConfig, configPath } from '../../src/hooks/config.js';
import { tempDir } from '../helpers/index.js';
import { runCli } from '../cli/run-cli.js';

const at = (text: string) => parseConfig(text, '/srv/app/tend.yaml', 'tend.yaml').problems.map((p) => `${p.file}:${p.line}:${p.column}: ${p.message}`);

test('tend.yaml lives beside the services directory (as given, so a switched symlink keeps it), or at $TEND_CONFIG', () => {
  assert.equal(configPath('/srv/app/services.d', {}), '/srv/app/tend.yaml');
  assert.equal(configPath('/srv/app/services.d/', {}), '/srv/app/tend.yaml');
  assert.equal(configPath('/srv/app/services.d', { TEND_CONFIG: '/etc/tend/tend.yaml' }), '/etc/tend/tend.yaml');
});

test('a valid tend.yaml: hooks with services filters and cwd against its directory, alert defaults, limits', () => {
  const r = parseConfig('on:\n  failed:\n    - url: "${SLACK}"\n      services: [web]\n  spec.invalid: { command: ["./notify.sh"] }\nalerts:\n  restart_rate: { max: 3, window: 5m }\nhooks: { concurrency: 2, queue_size: 50 }\n', '/srv/app/tend.yaml');
  assert.deepEqual(r.problems, []);
  const c = r.config!;
  assert.deepEqual(c.hooks.map((h) => [h.on, h.services, h.action.kind]), [['failed', ['web'], 'webhook'], ['spec.invalid', undefined, 'command']]);
  assert.equal(c.hooks[1]!.action.kind === 'command' && c.hooks[1]!.action.cwd, '/srv/app');
  assert.deepEqual(c.alerts, { restart_rate: { max: 3, windowMs: 300_000 } });
  assert.equal(c.concurrency, 2);
  assert.equal(c.queueSize, 50);
  assert.deepEqual(parseConfig('', '/x/tend.yaml').config!.hooks, [], 'an empty file is no hooks');
});

test('bad tend.yaml input: every problem with file:line:col', () => {
  assert.deepEqual(at('hook:\n  x: 1\n'), ['tend.yaml:1:1: unknown key "hook", did you mean "hooks"?']);
  assert.deepEqual(at('on:\n  failed: [ { services: [web] } ]\n'), ['tend.yaml:2:13: on.failed[0] needs a "command" (argv) or a "url" (webhook)']);
  assert.deepEqual(at('on:\n  failed: [ { url: "file:///etc/passwd" } ]\n'), ['tend.yaml:2:20: on.failed[0].url must be an http:// or https:// URL, got "file:///etc/passwd"']);
  assert.deepEqual(at('alerts:\n  memory_high: { above: 100, for: 1m }\n'), ['tend.yaml:2:25: alerts.memory_high.above must be a size with its unit, like 512Mi or 2G, got 100']);
  assert.deepEqual(at('hooks: { concurrency: 0 }\n'), ['tend.yaml:1:23: hooks.concurrency must be a whole number from 1 to 256, got 0']);
  assert.deepEqual(at('on: [failed]\n'), ['tend.yaml:1:5: on must be a mapping of event name to hooks, got a list']);
  assert.match(at('on:\n  failed: [\n')[0]!, /^tend\.yaml:\d+:\d+: YAML: /);
});

test('tend validate tend.yaml checks it as daemon-wide config', async (t) => {
  const dir = tempDir(t, { 'tend.yaml': 'on:\n  failed: [ { command: ["true"] } ]\n', 'bad/tend.yaml': 'alerts:\n  cpu_high: { above: 90, for: 1m }\n' });
  const good = await runCli(dir, ['validate', 'tend.yaml']);
  assert.equal(good.code, 0, good.stderr);
  assert.equal(good.stdout, 'tend.yaml: OK\n');
  const bad = await runCli(dir, ['validate', join('bad', 'tend.yaml')]);
  assert.equal(bad.code, 1);
  assert.equal(bad.stdout, 'bad/tend.yaml:2:22: alerts.cpu_high.above must be a percentage with its unit, like 90% (100% = one core), got 90\n');
});
