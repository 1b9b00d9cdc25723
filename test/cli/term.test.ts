// When the CLI paints: on a terminal only, never with NO_COLOR, never on TERM=dumb (Emacs' shell,
// some CI consoles show escape sequences as they are).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { termOf } from '../../src/cli/term.js';

test('colours on a terminal, unless NO_COLOR is set or TERM is dumb; never into a pipe', () => {
  const tty = { isTTY: true, columns: 80, write: () => true } as unknown as NodeJS.WriteStream;
  const pipe = { isTTY: false, write: () => true } as unknown as NodeJS.WriteStream;
  const table: [NodeJS.WriteStream, NodeJS.ProcessEnv, boolean][] = [
    [tty, { TERM: 'xterm-256color' }, true],
    [tty, {}, true],
    [tty, { TERM: 'xterm', NO_COLOR: '1' }, false],
    [tty, { TERM: 'xterm', NO_COLOR: '' }, true],
    [tty, { TERM: 'dumb' }, false],
    [pipe, { TERM: 'xterm' }, false],
  ];
  for (const [stream, env, color] of table) assert.equal(termOf(stream, env).color, color, `${stream.isTTY ? 'tty' : 'pipe'} ${JSON.stringify(env)}`);
});
