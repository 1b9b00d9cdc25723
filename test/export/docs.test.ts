// The conversion matrix in docs/export.md is generated from the exporters' rules, and the reports
// only ever speak through those rules: so the page, the code and the report cannot disagree.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { exportK8s, K8S_RULES } from '../../src/export/k8s.js';
import { renderMatrix, withMatrix } from '../../src/export/matrix.js';
import { exportNomad, NOMAD_RULES } from '../../src/export/nomad.js';
import type { ConversionReport, Rule } from '../../src/export/report.js';
import { ROOT } from '../helpers/index.js';
import { DEMO, EVERY_FIELD, servicesOf, whichFixed } from './golden.js';

const DOC = join(ROOT, 'docs', 'export.md');

test('docs/export.md holds the conversion matrix the code generates (npm run docs:export)', () => {
  const doc = readFileSync(DOC, 'utf8');
  assert.ok(doc.includes(renderMatrix()), 'docs/export.md is out of date: run npm run docs:export');
  assert.equal(withMatrix(doc), doc);
});

function assertFromRules(report: ConversionReport, rules: Record<string, Rule>): Set<Rule> {
  const used = new Set<Rule>();
  for (const row of report.rows) {
    const rule = Object.values(rules).find((r) => r.how === row.how && r.status === row.status && (r.field === row.field || r.alsoFor?.includes(row.field)));
    assert.ok(rule, `${report.target}: row ${row.service} ${row.field} ${row.status} "${row.how}" comes from no rule`);
    used.add(rule);
  }
  return used;
}

test('every report row is one of the documented rules', async () => {
  const usedNomad = new Set<Rule>();
  const usedK8s = new Set<Rule>();
  for (const dir of [DEMO, EVERY_FIELD]) {
    const services = await servicesOf(dir);
    for (const driver of ['raw_exec', 'exec'] as const) {
      for (const r of assertFromRules(exportNomad(services, { jobId: 'x', driver, which: whichFixed }).report, NOMAD_RULES)) usedNomad.add(r);
    }
    const images = new Map(services.map((s) => [s.name, 'img']));
    for (const r of assertFromRules(exportK8s(services, { images }).report, K8S_RULES)) usedK8s.add(r);
  }
  // The two corpora exercise most rules (the rest are covered by their own tests).
  assert.ok(usedNomad.size >= Object.keys(NOMAD_RULES).length * 0.7, `nomad: ${usedNomad.size} of ${Object.keys(NOMAD_RULES).length} rules used`);
  assert.ok(usedK8s.size >= Object.keys(K8S_RULES).length * 0.7, `k8s: ${usedK8s.size} of ${Object.keys(K8S_RULES).length} rules used`);
});

test('docs/cli.md documents tend export and the completion scripts offer it', () => {
  const cli = readFileSync(join(ROOT, 'docs', 'cli.md'), 'utf8');
  assert.match(cli, /^## export$/m);
  for (const flag of ['--strict', '--report', '--image', '--driver', '-o']) assert.ok(cli.includes(flag), `docs/cli.md mentions ${flag}`);
  assert.match(readFileSync(join(ROOT, 'completions', 'tend.bash'), 'utf8'), /\bexport\b.*--strict/);
  assert.match(readFileSync(join(ROOT, 'completions', '_tend'), 'utf8'), /'export:/);
});
