// The build writes the bundle without indentation and comments (scripts/strip-layout.mjs): the
// program must stay the same to the byte where whitespace is content, and every line must keep
// its number, or a stack trace would lead to the wrong code.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runInNewContext } from 'node:vm';
import { ROOT } from '../helpers/index.js';
// @ts-expect-error: a plain .mjs module of the build, without types
import { sameProgram as sameProgramUntyped, stripLayout as stripLayoutUntyped } from '../../scripts/strip-layout.mjs';

const stripLayout = stripLayoutUntyped as (text: string) => string;
const sameProgram = sameProgramUntyped as (a: string, b: string) => Promise<boolean>;

// Whitespace that is content, comments in awkward places, and what must stay.
const TRICKY = `#!/usr/bin/env node
/*! a licence: kept */
"use strict";
// src/example.ts
    const help = \`
    Usage: tend up [DIR]
\t\ttabbed
    \${[1, 2]
        .map((n) => \`
        nested \${n}\`)
        .join('')}
    end\`;
    const continued = 'one \\
    two';
    const re = /\\/\\/ not a comment \\/\\* nor this/g;
    const url = "http://example.com/*not a comment*/";
    // a comment that says */ and /* in passing
    /**
     * A block comment over lines.
     */
    function f(a, /* inline */ b) { return a/* between */+b; }
    function asi() {
      return /*
      a break in a comment ends the statement
      */ 1;
    }
    const pure = /* @__PURE__ */ Object.freeze({ x: 1 });
    module.exports = { help, continued, re: re.source, url, sum: f(2, 3), asi: asi(), pure };
`;

function run(code: string): unknown {
  const body = code.replace(/^#!.*/, '');
  const module = { exports: {} as unknown };
  runInNewContext(body, { module });
  return JSON.parse(JSON.stringify(module.exports));
}

test('indentation and comments go; literals, line numbers, licences and module markers stay; the program does the same', async () => {
  const out = stripLayout(TRICKY);
  assert.equal(out.split('\n').length, TRICKY.split('\n').length, 'every line keeps its number');
  assert.deepEqual(run(out), run(TRICKY));
  assert.ok(await sameProgram(TRICKY, out));
  const lines = out.split('\n');
  assert.equal(lines[0], '#!/usr/bin/env node');
  assert.equal(lines[1], '/*! a licence: kept */');
  assert.equal(lines[3], '// src/example.ts');
  assert.equal(lines[4], 'const help = `');
  assert.equal(lines[5], '    Usage: tend up [DIR]', 'a template literal keeps its spaces');
  assert.equal(lines[6], '\t\ttabbed');
  assert.equal(lines[9], '        nested ${n}`)', 'a nested template literal keeps its spaces');
  assert.equal(lines[12], "const continued = 'one \\");
  assert.equal(lines[13], "    two';", 'a string continued on the next line keeps its spaces');
  assert.equal(lines[16], '', 'a comment line is left empty');
  assert.match(out, /function f\(a, +b\) \{ return a +\+b; \}/);
  assert.match(out, /\/\* @__PURE__ \*\//);
  assert.deepEqual(
    out.split('\n').filter((l) => /^[ \t]/.test(l)),
    ['    Usage: tend up [DIR]', '\t\ttabbed', '    ${[1, 2]', '        nested ${n}`)', '    end`;', "    two';", ' 1;'],
    'only lines inside literals start with a blank, and what follows a comment over lines',
  );
  assert.ok(out.length < TRICKY.length * 0.8);
});

test('sameProgram tells a change of code from a change of layout', async () => {
  assert.ok(await sameProgram('const a = 1;\n  // note\nconst b = `x\n  y`;', 'const a = 1;\n\nconst b = `x\n  y`;'));
  assert.equal(await sameProgram('const b = `x\n  y`;', 'const b = `x\ny`;'), false, 'spaces in a template literal are the program');
  assert.equal(await sameProgram('const a = 1;', 'const a = 2;'), false);
});

test('the built bundle has no layout left but inside literals, and names each module where it starts', () => {
  const bundle = readFileSync(join(ROOT, 'dist/bin/tend.cjs'), 'latin1');
  const indented = bundle.split('\n').filter((l) => /^[ \t]+\S/.test(l)).length;
  const lines = bundle.split('\n').length;
  assert.ok(indented < lines / 50, `${indented} of ${lines} lines start with a blank: the build did not strip the bundle`);
  assert.match(bundle, /^\/\/ src\/daemon\.ts$/m);
  assert.match(bundle, /^\/\/ node_modules\/commander\/lib\/command\.js$/m);
});
