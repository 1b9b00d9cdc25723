// Golden files for the exporters: the output for a directory, with machine-specific paths replaced
// by placeholders. `UPDATE_GOLDEN=1` rewrites them (review the diff before committing).

import assert from 'node:assert/strict';
import { existsSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../helpers/index.js';
import { loadDirectory } from '../../src/spec/load.js';
import type { ServiceSpec } from '../../src/spec/types.js';

export const GOLDEN = join(ROOT, 'test', 'export', 'golden');
export const DEMO = join(ROOT, 'services.d');
export const EVERY_FIELD = join(ROOT, 'test', 'export', 'fixtures', 'every-field');

/** Programs "found on PATH" in golden tests: the same on every machine. */
export const whichFixed = (program: string): string => `/usr/bin/${program}`;

/** The valid services of `dir`; fails the test on any problem. */
export async function servicesOf(dir: string): Promise<ServiceSpec[]> {
  const r = await loadDirectory(dir);
  assert.deepEqual(r.problems, []);
  return r.services;
}

/** Replaces the checkout's path, so golden files hold `<root>/services.d` wherever the tests run. */
export function portable(text: string): string {
  // Spec paths are resolved through symlinks, so the checkout may appear under its real path too.
  return text.split(realpathSync(ROOT)).join('<root>').split(ROOT).join('<root>');
}

/** Compares `actual` with the golden file `name` (or writes it with UPDATE_GOLDEN=1). */
export function assertGolden(name: string, actual: string): void {
  const path = join(GOLDEN, name);
  const text = portable(actual);
  if (process.env['UPDATE_GOLDEN'] === '1' || !existsSync(path)) {
    if (process.env['UPDATE_GOLDEN'] !== '1') assert.fail(`golden file ${name} is missing: run with UPDATE_GOLDEN=1 and review it`);
    writeFileSync(path, text);
    return;
  }
  assert.equal(text, readFileSync(path, 'utf8'), `output differs from golden file ${name} (UPDATE_GOLDEN=1 rewrites it)`);
}
