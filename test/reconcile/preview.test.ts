// `tend plan` table: one known-good world (web ×2, db ×1, all running) and one change per case,
// with the plan lines it must print; the lines come from the planner simulated to convergence.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { previewChanges } from '../../src/reconcile/preview.js';
import { inst } from '../helpers/world.js';
import type { SpecProblem } from '../../src/errors.js';
import type { LoadResult, ServiceSpec } from '../../src/spec/types.js';
import { service } from '../helpers/spec.js';

function base(): ServiceSpec[] {
  return [
    service('web', { replicas: 2, env: { LOG_LEVEL: 'info', PORT_NAME: 'x' }, hash: 'web-1' }),
    service('db', { hash: 'db-1' }),
  ];
}

function load(services: ServiceSpec[], problems: SpecProblem[] = [], files = new Map<string, string[]>()): LoadResult {
  return { services, problems, files, fingerprint: 'f' };
}

function edit(specs: ServiceSpec[], name: string, over: Partial<ServiceSpec>): ServiceSpec[] {
  return specs.map((s) => (s.name === name ? { ...s, ...over } : s));
}

const broken: SpecProblem = { file: '/specs/db.yaml', line: 3, column: 1, message: 'bad indentation', code: 'SPEC_PARSE' };

const cases: Record<string, { next: () => LoadResult; want: string[] }> = {
  'everything is the same; no changes': { next: () => load(base()), want: [] },
  'a new service starts every replica': {
    next: () => load([...base(), service('worker', { replicas: 2 })]),
    want: ['+ worker/0 start', '+ worker/1 start'],
  },
  'a new service with 0 replicas is listed once': {
    next: () => load([...base(), service('idle', { replicas: 0 })]),
    want: ['+ idle add (0 replicas)'],
  },
  'a removed service stops': { next: () => load(base().filter((s) => s.name !== 'db')), want: ['- db stop'] },
  'a service missing because its file is broken keeps its last good spec': {
    next: () => load(base().filter((s) => s.name !== 'db'), [broken], new Map([['/specs/db.yaml', ['db']]])),
    want: ['! db keeps its last good spec (/specs/db.yaml:3:1: bad indentation)'],
  },
  'replicas alone scales': { next: () => load(edit(base(), 'web', { replicas: 5 })), want: ['= web scale 2 → 5'] },
  'an env value changes: replace, naming the key and not the value': {
    next: () => load(edit(base(), 'web', { env: { LOG_LEVEL: 'debug', PORT_NAME: 'x' }, hash: 'web-2' })),
    want: ['~ web replace (env.LOG_LEVEL changed)'],
  },
  'command and a new env key: both named': {
    next: () => load(edit(base(), 'web', { command: ['node', 'y.js'], env: { LOG_LEVEL: 'info', PORT_NAME: 'x', NEW: '1' }, hash: 'web-2' })),
    want: ['~ web replace (command, env.NEW changed)'],
  },
  'cwd, env_file, ports and user are process-shaping': {
    next: () =>
      load(edit(base(), 'db', { cwd: '/elsewhere', envFiles: ['/specs/.env'], ports: { PORT: 5432 }, user: 'pg', hash: 'db-2' })),
    want: ['~ db replace (cwd, env_file, ports.PORT, user changed)'],
  },
  'a hash change with no visible field (an env file\'s contents) still replaces': {
    next: () => load(edit(base(), 'db', { hash: 'db-2' })),
    want: ['~ db replace (spec changed)'],
  },
  'replace and scale together: two lines': {
    next: () => load(edit(base(), 'web', { replicas: 3, command: ['node', 'y.js'], hash: 'web-2' })),
    want: ['~ web replace (command changed)', '= web scale 2 → 3'],
  },
  'live-only changes update without a restart': {
    next: () =>
      load(
        edit(base(), 'web', {
          restart: 'never',
          readiness: { check: { kind: 'tcp', host: '127.0.0.1', port: '8080' }, intervalMs: 1000, timeoutMs: 500, failureThreshold: 3, successThreshold: 1, startPeriodMs: 0 },
        }),
      ),
    want: ['~ web update (readiness, restart) — no restart'],
  },
  'object key order alone is no change': {
    next: () => load(edit(base(), 'web', { labels: {}, backoff: { maxMs: 30000, initialMs: 100, factor: 2, resetAfterMs: 60000 } })),
    want: [],
  },
};

const running = () => base().flatMap((s) => Array.from({ length: s.replicas }, (_, i) => inst(s, i, 'running')));

for (const [name, c] of Object.entries(cases)) {
  test(`plan preview: ${name}`, () => {
    const current = new Map(base().map((s) => [s.name, s]));
    assert.deepEqual(
      previewChanges(current, c.next(), running(), { now: 0 }).map((ch) => ch.text),
      c.want,
    );
  });
}

test('plan preview: a replica that is missing now will start, though no file changed', () => {
  const current = new Map(base().map((s) => [s.name, s]));
  const oneWebGone = running().filter((i) => !(i.service === 'web' && i.index === 1));
  assert.deepEqual(previewChanges(current, load(base()), oneWebGone, { now: 0 }).map((c) => c.text), ['+ web/1 start']);
});

test('plan preview against nothing lists every replica, sorted by service', () => {
  const changes = previewChanges(new Map(), load(base()), []);
  assert.deepEqual(
    changes.map((c) => [c.op, c.service, c.index, c.text]),
    [
      ['+', 'db', 0, '+ db/0 start'],
      ['+', 'web', 0, '+ web/0 start'],
      ['+', 'web', 1, '+ web/1 start'],
    ],
  );
});
