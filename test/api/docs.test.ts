// docs/cli.md's "Control API" table against the server: one row per route of the router's table
// (src/api/server.ts), none twice, and the /metrics row naming exactly the metrics tend registers.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { API_ROUTES } from '../../src/api/server.js';
import { PromMetrics } from '../../src/api/prom-metrics.js';
import { ROOT } from '../helpers/index.js';

// The rows of the table under "## Control API": [route as written, the rest of the row].
function controlApiRows(): [string, string][] {
  const doc = readFileSync(join(ROOT, 'docs', 'cli.md'), 'utf8');
  const section = doc.slice(doc.indexOf('## Control API'));
  const end = section.indexOf('\n## ', 4);
  return [...(end < 0 ? section : section.slice(0, end)).matchAll(/^\| `((?:GET|POST|PUT|DELETE) [^`]+)` \| (.*)$/gm)].map((m) => [m[1]!, m[2]!]);
}

// `POST /v1/services/:name/{restart,pause}?x=` → the routes it stands for, without the query.
function routesOf(written: string): string[] {
  const bare = written.replace(/[?#].*$/, '');
  const brace = /\{([^}]*)\}/.exec(bare);
  return brace ? brace[1]!.split(',').map((w) => bare.replace(brace[0], w)) : [bare];
}

test('the Control API table of docs/cli.md lists every route the server answers, each once', () => {
  const documented = controlApiRows().flatMap(([route]) => routesOf(route));
  const twice = documented.filter((r, i) => documented.indexOf(r) !== i);
  assert.deepEqual(twice, [], 'routes with two rows');
  assert.deepEqual(API_ROUTES.filter((r) => !documented.includes(r)), [], 'routes missing from docs/cli.md');
  assert.deepEqual(documented.filter((r) => !API_ROUTES.includes(r)), [], 'documented routes the server does not have');
});

test('the /metrics row names every metric tend registers, by its exported name, and no other', () => {
  const row = controlApiRows().find(([route]) => route === 'GET /metrics')?.[1] ?? '';
  // Names in backquotes; tend_process_* / tend_nodejs_* stand for prom-client's default families.
  const named = [...row.matchAll(/`(tend_[a-z_]+?)(?:\{[^}]*\})?`/g)].map((m) => m[1]!).filter((n) => !n.endsWith('_'));
  const registered = new PromMetrics(() => 0, () => undefined).registry.getMetricsAsArray().map((m) => m.name);
  assert.deepEqual(registered.filter((n) => !named.includes(n)), [], 'registered but not in the row');
  assert.deepEqual(named.filter((n) => !registered.includes(n)), [], 'in the row but not registered');
});
