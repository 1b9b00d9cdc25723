// docs/import.md carries each format's mapping table generated from the converters: it must be
// what `npm run docs:import` would write now, so the docs never drift from what import reports.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { withMappingTables } from '../../src/import/docs.js';
import { CONVERTERS } from '../../src/import/index.js';
import { FORMATS } from '../../src/import/types.js';
import { ROOT } from '../helpers/index.js';

test('docs/import.md has the current mapping tables (run npm run docs:import)', () => {
  const doc = readFileSync(join(ROOT, 'docs', 'import.md'), 'utf8');
  assert.equal(doc, withMappingTables(doc), 'docs/import.md is stale: run npm run docs:import');
  for (const f of FORMATS) assert.ok(doc.includes(`\`--from ${f}\``), f);
});

test('every mapping row has a unique key, and says why when it is not a plain conversion', () => {
  for (const f of FORMATS) {
    const keys = CONVERTERS[f].mapping.map((r) => r.key);
    assert.deepEqual(keys.filter((k, i) => keys.indexOf(k) !== i), [], `${f}: duplicate keys`);
    for (const r of CONVERTERS[f].mapping) {
      if (r.outcome !== 'converted') assert.ok(r.note.length > 10, `${f} ${r.key}: says how or why`);
      if (r.outcome === 'dropped') assert.equal(r.to, '', `${f} ${r.key}: a dropped field goes nowhere`);
      else assert.ok(r.to.length > 0, `${f} ${r.key}: says what it becomes`);
    }
  }
});

test('docs/cli.md documents tend import', () => {
  const cli = readFileSync(join(ROOT, 'docs', 'cli.md'), 'utf8');
  assert.match(cli, /^## import$/m);
});

test('the completion scripts offer import and its options', () => {
  const bash = readFileSync(join(ROOT, 'completions', 'tend.bash'), 'utf8');
  const zsh = readFileSync(join(ROOT, 'completions', '_tend'), 'utf8');
  assert.match(bash, / import events /);
  assert.match(bash, /import\) opts="--from -o --output --dry-run --force --strict --report --env"/);
  assert.match(zsh, /'import:convert /);
  assert.match(zsh, /--from\[source format\]:format:\(process-compose supervisord pm2 procfile zinit\)/);
});
