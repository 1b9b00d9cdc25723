#!/usr/bin/env node
// Runs every test file under test/ with node's own test runner and tsx as the TypeScript loader.
// Node 20's `--test` does not expand globs, so the files are listed here. Usage:
//   node scripts/run-tests.mjs [substring ...]   only files whose path contains one of the substrings
// Files under test/scale/ start tens of thousands of processes and take many minutes on a 2-core
// machine; they run only when named (`npm run test:scale`), not in `npm test`.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
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
const before = new Set(livePids());
// --test-force-exit: a test file whose cleanup left a process behind still ends (node waits for its
// children otherwise, and a run once hung until CI's limit); the leak is then found and named below.
const r = spawnSync(
  process.execPath,
  ['--import', 'tsx', '--test', '--test-force-exit', `--test-concurrency=${concurrency}`, '--test-reporter=spec', ...files],
  { stdio: 'inherit' },
);
const leaked = leftBehind(before);
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

function livePids() {
  return readdirSync('/proc').filter((name) => /^\d+$/.test(name)).map(Number);
}

/** Processes that did not exist before the run, are not zombies, and carry one of the tests' own
 *  temporary directories (tmpdir()/tend-*) in their command line or their TEND_STATE_DIR: what a
 *  test started (a daemon, a replica) and did not kill. Only those are signalled. */
function leftBehind(existed) {
  const marker = join(tmpdir(), 'tend-');
  const found = [];
  for (const pid of livePids()) {
    if (existed.has(pid) || pid === process.pid) continue;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      if (/^[ZX]$/.test(stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3))) continue;
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'latin1').split('\0').join(' ').trim();
      const environ = readFileSync(`/proc/${pid}/environ`, 'latin1');
      if (cmdline.includes(marker) || environ.includes(`\0TEND_STATE_DIR=${marker}`) || environ.startsWith(`TEND_STATE_DIR=${marker}`)) found.push({ pid, cmdline });
    } catch {
      /* gone, or not ours to read */
    }
  }
  return found;
}
