// The long fuzz run of the loader: `npm run fuzz` (TEND_FUZZ_RUNS, default 100,000 inputs). Runs in
// batches of 5,000 with a fresh seed each, so one failure does not end the run; prints the figures
// and each failure's shrunk counterexample, and exits 1 if there was any.
//   TEND_FUZZ_RUNS=200000 npm run fuzz
//   TEND_FUZZ_SEED=42 npm run fuzz      (reproduce a run)

import fc from 'fast-check';
import { checkInput, fuzzInput, hostileText, scratchDir } from './fuzz-specs.js';

const total = Number(process.env.TEND_FUZZ_RUNS ?? 100_000);
const batch = 5_000;
const baseSeed = Number(process.env.TEND_FUZZ_SEED ?? Date.now() % 2 ** 31);
const scratch = scratchDir();
let inputs = 0;
let problems = 0;
let slowest = 0;
let slowestInput = '';
const failures: string[] = [];
const started = process.hrtime.bigint();

const timed = async (input: Parameters<typeof checkInput>[1]): Promise<void> => {
  if (stopping) return;
  const t0 = process.hrtime.bigint();
  problems += await checkInput(scratch.dir, input);
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  inputs++;
  if (ms > slowest) {
    slowest = ms;
    slowestInput = JSON.stringify(input, (_, v: unknown) => (typeof v === 'string' && v.length > 120 ? `${v.slice(0, 120)}… (${v.length} chars)` : v));
  }
};

// Ctrl-C (or SIGTERM) ends the run early with the figures so far.
let stopping = false;
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => (stopping = true));

try {
  for (let done = 0, i = 0; done < total && !stopping; done += batch, i++) {
    const n = Math.min(batch, total - done);
    // One input in fifty is built to be expensive (each such input takes up to a second).
    const arb = fc.oneof({ weight: 49, arbitrary: fuzzInput }, { weight: 1, arbitrary: hostileText.map((text) => ({ 'web.yaml': text })) });
    const r = await fc.check(fc.asyncProperty(arb, timed), { numRuns: n, seed: baseSeed + i, timeout: 30_000, markInterruptAsFailure: true });
    if (r.failed) failures.push(`seed ${baseSeed + i}: ${r.errorInstance instanceof Error ? r.errorInstance.message : String(r.errorInstance)}\n  counterexample: ${fc.stringify(r.counterexample)}`);
    process.stderr.write(`\r${inputs} inputs, ${failures.length} failures`);
  }
} finally {
  scratch.remove();
}
const seconds = Number(process.hrtime.bigint() - started) / 1e9;
process.stderr.write('\n');
console.log(JSON.stringify({ stoppedEarly: stopping, inputs, seconds: Math.round(seconds), inputsPerSecond: Math.round(inputs / seconds), problemsReported: problems, slowestInputMs: Math.round(slowest), failures: failures.length, seed: baseSeed }, null, 2));
console.log(`slowest input: ${slowestInput.slice(0, 400)}`);
for (const f of failures) console.log(f);
process.exit(failures.length > 0 ? 1 : 0);
