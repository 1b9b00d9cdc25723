// The Prometheus rules shipped in the package: valid (promtool check rules), tested (promtool test
// rules), and written against metrics tend really exports.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../helpers/index.js';
import { promtool } from '../helpers/promtool.js';
import { TendMetrics } from '../../src/api/metrics.js';
import type { StatusReport } from '../../src/api/types.js';

const RULES = join(ROOT, 'rules', 'tend.rules.yml');

test('promtool check rules accepts rules/tend.rules.yml', () => {
  const r = promtool(['check', 'rules', RULES]);
  assert.equal(r.status, 0, r.out);
  assert.match(r.out, /SUCCESS: \d+ rules found/);
});

test('promtool test rules: every shipped alert fires, and stays quiet, where it should', () => {
  const r = promtool(['test', 'rules', join(ROOT, 'rules', 'tend.rules.test.yml')]);
  assert.equal(r.status, 0, r.out);
  const rules = readFileSync(RULES, 'utf8');
  const tests = readFileSync(join(ROOT, 'rules', 'tend.rules.test.yml'), 'utf8');
  for (const [, name] of rules.matchAll(/- alert: (\w+)/g)) assert.match(tests, new RegExp(`alertname: ${name}\\n`), `${name} has a unit test`);
});

test('the rules use only metric families tend exports', async () => {
  const m = new TendMetrics();
  m.hookRun('webhook', false);
  m.hookDropped(1);
  m.observeEvent({ ts: '', type: 'replica.restarting', service: 'web', replica: 0 });
  const status: StatusReport = {
    services: [{ name: 'web', file: '', replicas_desired: 1, ready: 1, state: 'running', waiting_for: null, blocked: null, restarts: 0, cpu: 1, memory: 1, started_at: null, hash: '', oneshot: false, held: false, replicas: [] }],
    errors: [],
    converged: true,
    source: '',
    pid: 1,
    alerts: [{ alert: 'crash_loop', service: 'web', replica: 0, since: '', summary: '' }],
  };
  const text = await m.render(status);
  const families = new Set([...text.matchAll(/^# TYPE (\S+) /gm)].map((x) => x[1]));
  const used = new Set([...readFileSync(RULES, 'utf8').matchAll(/\b(tend_[a-z_]+)/g)].map((x) => x[1]!));
  assert.ok(used.size >= 8);
  for (const name of used) assert.ok(families.has(name), `${name} is exported`);
});
