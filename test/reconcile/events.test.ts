// The event union and its documentation cannot drift: docs/events.md is generated from it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { EVENT_CATALOGUE, eventsMarkdown } from '../../src/reconcile/events.js';
import { ROOT } from '../helpers/index.js';

test('docs/events.md is generated from the event union (npm run docs:events)', () => {
  assert.equal(readFileSync(join(ROOT, 'docs', 'events.md'), 'utf8'), eventsMarkdown());
});

test('every event type emitted anywhere in src/ is in the catalogue', () => {
  const out = execFileSync('grep', ['-rhoE', "type: '[a-z]+\\.[a-z.]+'", join(ROOT, 'src')], { encoding: 'utf8' });
  const used = new Set(out.split('\n').filter(Boolean).map((l) => l.slice(7, -1)));
  for (const type of used) assert.ok(type in EVENT_CATALOGUE, `${type} is emitted but not documented`);
});
