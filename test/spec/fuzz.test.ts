// The loader under generated and mutated input (issue 12): a bounded run in `npm test`. The long
// run (100,000 inputs and more) is `npm run fuzz`. The per-input timeout catches a hang or a
// super-linear blow-up, not a slow machine: it is far above what one load takes.

import { test } from 'node:test';
import fc from 'fast-check';
import { checkInput, fuzzInput, hostileText, scratchDir } from './fuzz-specs.js';
import { cleanup } from '../helpers/index.js';

const RUNS = Number(process.env.TEND_FUZZ_RUNS ?? 200);
const PER_INPUT_MS = 30_000;

test('generated and mutated spec directories: no throw, every problem at file:line:col on one line', { timeout: 120_000 }, async (t) => {
  const scratch = scratchDir();
  cleanup(t, scratch.remove);
  await fc.assert(
    fc.asyncProperty(fuzzInput, async (input) => {
      await checkInput(scratch.dir, input);
    }),
    { numRuns: RUNS, timeout: PER_INPUT_MS, markInterruptAsFailure: true },
  );
});

test('inputs built to be expensive (deep, wide, huge, aliased, nested templates) are bounded', { timeout: 120_000 }, async (t) => {
  const scratch = scratchDir();
  cleanup(t, scratch.remove);
  await fc.assert(
    fc.asyncProperty(hostileText, async (text) => {
      await checkInput(scratch.dir, { 'web.yaml': text });
    }),
    { numRuns: Math.max(20, Math.floor(RUNS / 10)), timeout: PER_INPUT_MS, markInterruptAsFailure: true },
  );
});
