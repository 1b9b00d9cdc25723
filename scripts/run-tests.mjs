#!/usr/bin/env node
// Runs every test file under test/ with node's own test runner and tsx as the TypeScript loader.
// Node 20's `--test` does not expand globs, so the files are listed here. Usage:
//   node scripts/run-tests.mjs [substring ...]   only files whose path contains one of the substrings
// Files under test/scale/ start tens of thousands of processes and take many minutes on a 2-core
// machine; they run only when named (`npm run test:scale`), not in `npm test`.
import { readdirSync, readFileSync, statSync } from 'node:fs';
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
// Every process this run starts inherits this mark (unless a test gives one an environment of its
// own): the leak check below finds them by it, and never touches another run's processes.
const run = `${process.pid}-${Date.now()}`;
// --test-force-exit: a test file whose cleanup left a process behind still ends (node waits for its
// children otherwise, and a run once hung until CI's limit); the leak is then found and named below.
const r = spawnSync(
  process.execPath,
  ['--import', 'tsx', '--test', '--test-force-exit', `--test-concurrency=${concurrency}`, '--test-reporter=spec', ...files],
  { stdio: 'inherit', env: { ...process.env, TEND_TEST_RUN: run } },
);
const leaked = leftBehind(run);
if (leaked.length > 0) {
  console.error(`\n${leaked.length} process(es) started by the tests outlived them:`);
  for (const { pid, cmdline } of leaked) {
    console.error(`  ${pid} ${cmdline}`);
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* gone meanwhile */
    }
  }
  process.exit(1);
}
process.exit(r.status ?? 1);

/** Live processes (not zombies) that carry this run's mark in their environment: what a test started
 *  (a daemon, a replica, a helper) and did not kill. Only those are signalled. */
function leftBehind(run) {
  const mark = `TEND_TEST_RUN=${run}\0`;
  const found = [];
  for (const name of readdirSync('/proc')) {
    const pid = Number(name);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      if (/^[ZX]/.test(stat.slice(stat.lastIndexOf(')') + 2))) continue;
      if (!readFileSync(`/proc/${pid}/environ`, 'latin1').includes(mark)) continue;
      found.push({ pid, cmdline: readFileSync(`/proc/${pid}/cmdline`, 'latin1').split('\0').join(' ').trim() });
    } catch {
      /* gone, or not ours to read */
    }
  }
  return found;
}
