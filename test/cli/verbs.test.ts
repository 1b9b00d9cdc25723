// Which verb a command line runs, read before commander parses it (src/cli/verbs.ts): the CLI then
// declares that verb alone. Anything else (help, --version, a typo, an option before the verb)
// builds every verb, so commander's help and suggestions are as they were.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { execArgs, VERBS, verbOf } from '../../src/cli/verbs.js';
import { tempDir } from '../helpers/index.js';
import { runCli } from './run-cli.js';

test('verbOf: the verb after the global options that take a value; undefined for help, options, typos, nothing', () => {
  const table: [string[], string | undefined][] = [
    [['up'], 'up'],
    [['up', '-d', '--wait'], 'up'],
    [['--state-dir', 'x', 'status', '-o', 'json'], 'status'],
    [['--state-dir=x', 'logs', 'web'], 'logs'],
    [['--client-timeout', '5s', '--state-dir', 'up', 'down'], 'down'],
    [['--client-timeout=0s', 'daemon-log'], 'daemon-log'],
    [['restart', 'web'], 'restart'],
    [['ps'], 'status'],
    [['--state-dir', 'x', 'ls', '-o', 'json'], 'status'],
    [['list'], 'status'],
    [['monit'], 'top'],
    [['describe', 'web'], 'inspect'],
    [[], undefined],
    [['--help'], undefined],
    [['-h', 'up'], undefined],
    [['--version'], undefined],
    [['help', 'up'], undefined],
    [['stauts'], undefined],
    [['--bogus', 'up'], undefined],
    [['--state-dir'], undefined],
    [['web', 'up'], undefined],
  ];
  for (const [args, want] of table) assert.equal(verbOf(args), want, args.join(' '));
  for (const verb of VERBS) assert.equal(verbOf([verb]), verb);
});

test('a command line naming a verb gets that verb as before: its help, its usage errors, its global options', async (t) => {
  const dir = tempDir(t);
  const help = await runCli(dir, ['--state-dir', 'here', 'up', '--help']);
  assert.equal(help.code, 0, help.stderr);
  assert.match(help.stdout, /^Usage: tend up \[options\] \[dir\]/);
  assert.match(help.stdout, /--wait-for-dir/);
  const viaHelp = await runCli(dir, ['help', 'up']);
  assert.equal(viaHelp.stdout, help.stdout);
  const bad = await runCli(dir, ['--client-timeout', '1s', 'scale', '--bogus']);
  assert.equal(bad.code, 5);
  assert.equal(bad.stderr, "tend: unknown option '--bogus'; see tend scale --help\n");
  const missing = await runCli(dir, ['exec']);
  assert.equal(missing.code, 5);
  assert.match(missing.stderr, /^tend: missing required argument 'target'; see tend exec --help\n$/);
});

test('compose\'s and PM2\'s names run the same verb: tend ps, ls, list (status), monit (top), describe (inspect)', async (t) => {
  const dir = tempDir(t);
  const help = await runCli(dir, ['ps', '--help']);
  assert.equal(help.code, 0, help.stderr);
  assert.match(help.stdout, /^Usage: tend status\|ps \[options\] \[service\]/);
  for (const [alias, verb] of [['ls', 'status'], ['list', 'status'], ['describe', 'inspect']] as const) {
    const args = verb === 'inspect' ? [alias, 'web'] : [alias];
    const viaAlias = await runCli(dir, args);
    const direct = await runCli(dir, verb === 'inspect' ? [verb, 'web'] : [verb]);
    assert.equal(viaAlias.code, 3, viaAlias.stderr);
    assert.equal(viaAlias.stderr, direct.stderr, `${alias} says what ${verb} says`);
  }
  const monit = await runCli(dir, ['monit', '--help']);
  assert.match(monit.stdout, /^Usage: tend top\|monit /);
});

test('execArgs: a `--` after exec\'s target, unless one is there; options before the target are tend\'s', () => {
  const table: [string[], string[]][] = [
    [['exec', 'web', 'ls', '-l'], ['exec', 'web', '--', 'ls', '-l']],
    [['exec', '-u', 'root', 'web/1', 'id', '-u'], ['exec', '-u', 'root', 'web/1', '--', 'id', '-u']],
    [['exec', '--user=root', 'web', 'echo', '--help'], ['exec', '--user=root', 'web', '--', 'echo', '--help']],
    [['--state-dir', 's', 'exec', 'web', 'env'], ['--state-dir', 's', 'exec', 'web', '--', 'env']],
    [['exec', 'web', '--', 'env'], ['exec', 'web', '--', 'env']],
    [['exec', '--', 'web', 'env'], ['exec', '--', 'web', 'env']],
    [['exec', '--help'], ['exec', '--help']],
    [['exec'], ['exec']],
    [['logs', 'exec', '-f'], ['logs', 'exec', '-f']],
    [['status'], ['status']],
  ];
  for (const [args, want] of table) assert.deepEqual(execArgs(args), want, args.join(' '));
});
