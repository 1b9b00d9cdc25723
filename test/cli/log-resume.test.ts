// Table tests of what `tend logs -f` prints again after the daemon came back (src/cli/log-resume.ts):
// the resumed history starts before the last line printed; repeats are recognised by content, in
// order, per replica, and a line written since (stamped later) is never taken for one.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { LogLine } from '../../src/api/log-stream.js';
import { PrintedLines, RESUME_SLACK_MS } from '../../src/cli/log-resume.js';

const at = (ms: number) => new Date(ms).toISOString();
const line = (text: string, ms: number, replica = 0, service = 'web'): LogLine => ({ service, replica, ts: at(ms), line: text });

/** Prints `before`, resumes, feeds `after`; what would be printed after the resume. */
function resumed(before: LogLine[], after: LogLine[]): string[] {
  const p = new PrintedLines();
  for (const l of before) assert.deepEqual(p.take(l), [l], 'before a resume, every line is printed');
  p.resume();
  const out = after.flatMap((l) => p.take(l));
  out.push(...p.flush());
  return out.map((l) => `${l.service}/${l.replica} ${l.line}`);
}

const cases: Record<string, { before: LogLine[]; after: LogLine[]; printed: string[] }> = {
  'the resumed history repeats the end of what was printed: only what is new': {
    before: [line('a', 1000), line('b', 1100), line('c', 1200)],
    after: [line('a', 1000), line('b', 1100), line('c', 1200), line('d', 5000)],
    printed: ['web/0 d'],
  },
  'it starts in the middle of what was printed': {
    before: [line('a', 1000), line('b', 1100), line('c', 1200)],
    after: [line('b', 1100), line('c', 1200), line('d', 5000), line('e', 5001)],
    printed: ['web/0 d', 'web/0 e'],
  },
  'the last second had no stamp in the index: the repeats come stamped later, and are still skipped': {
    before: [line('a', 1000), line('b', 1100), line('c', 1200)],
    after: [line('a', 1000), line('b', 4000), line('c', 4000), line('d', 4000)],
    printed: ['web/0 d'],
  },
  'lines alike (tick): the run must reach the last one printed, not the first tick': {
    before: [line('tick', 1000), line('tick', 1100), line('tick', 1200)],
    after: [line('tick', 1000), line('tick', 1100), line('tick', 1200), line('tick', 5000)],
    printed: ['web/0 tick'],
  },
  'a new line that reads like the last printed one, written since: printed, not taken for a repeat': {
    before: [line('heartbeat', 1000)],
    after: [line('heartbeat', 9000)],
    printed: ['web/0 heartbeat'],
  },
  'a history that differs (the log rotated meanwhile): everything printed, none lost': {
    before: [line('a', 1000), line('b', 1100)],
    after: [line('a', 1000), line('x', 1100), line('y', 5000)],
    printed: ['web/0 a', 'web/0 x', 'web/0 y'],
  },
  'replicas are lined up each on its own': {
    before: [line('a0', 1000, 0), line('a1', 1010, 1), line('b0', 1100, 0)],
    after: [line('a0', 1000, 0), line('a1', 1010, 1), line('b0', 1100, 0), line('n1', 5000, 1), line('n0', 5001, 0), line('n2', 5002, 2)],
    printed: ['web/1 n1', 'web/0 n0', 'web/2 n2'],
  },
  'a stream cut again while a run is held: the held lines are printed (twice rather than never)': {
    before: [line('a', 1000), line('b', 1100), line('c', 1200)],
    after: [line('a', 1000), line('b', 1100)],
    printed: ['web/0 a', 'web/0 b'],
  },
};

for (const [name, c] of Object.entries(cases)) {
  test(`logs -f resumed: ${name}`, () => assert.deepEqual(resumed(c.before, c.after), c.printed));
}

test('logs -f resumed: from a little before the last stamp printed; nothing printed, nothing to resume from', () => {
  const p = new PrintedLines();
  assert.equal(p.resumeFrom(), undefined);
  p.take(line('a', 10_000, 0));
  p.take(line('b', 12_000, 1));
  assert.equal(p.resumeFrom(), 12_000 - RESUME_SLACK_MS);
});
