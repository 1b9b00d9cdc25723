#!/usr/bin/env node
// Runs every test file under test/ with node's own test runner and tsx as the TypeScript loader.
// Node 20's `--test` does not expand globs, so the files are listed here. Usage:
//   node scripts/run-tests.mjs [substring ...]   only files whose path contains one of the substrings
// Files under test/scale/ start tens of thousands of processes and take many minutes on a 2-core
// machine; they run only when named (`npm run test:scale`), not in `npm test`.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

function walk(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (name === 'fixtures' || name === 'node_modules') return [];
    return statSync(path).isDirectory() ? walk(path) : path.endsWith('.test.ts') ? [path] : [];
  });
}

const filters = process.argv.slice(2);
const files = walk('test')
  .filter((f) => (filters.length === 0 ? !f.startsWith(join('test', 'scale')) : filters.some((s) => f.includes(s))))
  .sort();
if (files.length === 0) {
  console.error('no test files matched');
  process.exit(1);
}
const concurrency = process.env.TEND_TEST_CONCURRENCY ?? '2';
const r = spawnSync(
  process.execPath,
  ['--import', 'tsx', '--test', `--test-concurrency=${concurrency}`, '--test-reporter=spec', ...files],
  { stdio: 'inherit' },
);
process.exit(r.status ?? 1);
