// Units and the env_file format, the small parsers everything else relies on.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseDuration, parseSignal, parseSize, formatDuration } from '../../src/spec/units.js';
import { parseEnvFile } from '../../src/spec/env-file.js';
import { closest } from '../../src/spec/suggest.js';

test('durations', () => {
  const ok: [unknown, number][] = [['150ms', 150], ['2s', 2000], ['5m', 300_000], ['1h', 3_600_000], ['1h30m', 5_400_000], ['1.5s', 1500], ['0', 0], [250, 250], [0, 0]];
  for (const [input, ms] of ok) assert.equal(parseDuration(input), ms, String(input));
  for (const bad of ['', '5', '2x', '-1s', '1 s', 's', 1.5, -1, true, null]) assert.equal(parseDuration(bad), null, String(bad));
  assert.deepEqual([1500, 60_000, 7_200_000, 20, 0].map(formatDuration), ['1.5s', '1m', '2h', '20ms', '0']);
});

test('sizes: decimal and binary suffixes, or bytes', () => {
  const ok: [unknown, number][] = [['512Mi', 512 * 2 ** 20], ['10M', 10_000_000], ['1Gi', 2 ** 30], ['2k', 2000], ['1.5Ki', 1536], ['100', 100], [4096, 4096]];
  for (const [input, bytes] of ok) assert.equal(parseSize(input), bytes, String(input));
  for (const bad of ['10MB', 'lots', '-1', 'Mi', 1.5, -2]) assert.equal(parseSize(bad), null, String(bad));
});

test('signals, with or without the SIG prefix', () => {
  assert.equal(parseSignal('SIGTERM'), 'SIGTERM');
  assert.equal(parseSignal('HUP'), 'SIGHUP');
  assert.equal(parseSignal('SIGNOPE'), null);
  assert.equal(parseSignal('term'), null);
});

test('env files: comments, export, quotes, trailing comments, bad lines with their line numbers', () => {
  const { entries, problems } = parseEnvFile(
    ['# comment', '', 'A=1', 'export B = two ', 'C="q \\"x\\"\\n"', "D='$raw # not a comment'", 'E=v # comment', 'F=', 'oops', 'G="open'].join('\n'),
  );
  assert.deepEqual(entries, [['A', '1'], ['B', 'two'], ['C', 'q "x"\n'], ['D', '$raw # not a comment'], ['E', 'v'], ['F', '']]);
  assert.deepEqual(problems, [
    { line: 9, column: 1, message: 'expected KEY=VALUE, got "oops"' },
    { line: 10, column: 3, message: 'unterminated quote in the value of G' },
  ]);
});

test('suggestions: transpositions, camelCase and near misses, not unrelated words', () => {
  assert.equal(closest('restrat', ['restart', 'replicas']), 'restart');
  assert.equal(closest('dependsOn', ['depends_on', 'env']), 'depends_on');
  assert.equal(closest('stop-timeout', ['stop_timeout', 'stop_signal']), 'stop_timeout');
  assert.equal(closest('frobnicate', ['restart', 'replicas']), undefined);
  assert.equal(closest('db', ['web']), undefined);
});
