// The bundle without its indentation and comments, every line where it was: the build writes
// dist/bin/tend.cjs this way (scripts/bundle-cli.mjs).
//
// Why: every start reads the 2 MB bundle and copies it into a string that V8 keeps, and on a VM
// where memory touched for the first time costs ~25 µs a page that was ~27 ms of each start; a
// fifth of the bundle was indentation and comments (bench/FINDINGS.md §18). Why not esbuild's
// whitespace minifier: it puts the bundle on a few lines, and a stack trace's `tend.cjs:38078`
// would no longer lead to the code that threw. Here lines keep their numbers and code keeps its
// names; only columns move. The module markers esbuild writes (`// src/daemon.ts`) stay.
//
// What is whitespace or a comment is taken from TypeScript's parse of the file, not from a guess:
// a line inside a template literal or a string keeps its spaces. And the build keeps the result only
// if esbuild, minifying the whitespace of both, prints the same program (sameProgram).

import ts from 'typescript';
import { transform } from 'esbuild';

/** Comments that must stay: licences (`/*!`, @license, @preserve), bundler annotations, source
 *  maps, and esbuild's markers of where each module begins. */
const KEPT_COMMENT = /^\/[/*]!|@license|@preserve|[@#]__PURE__|[@#]__NO_SIDE_EFFECTS__|sourceMappingURL|^\/\/ (src|node_modules)\//;

/** `text` (JavaScript) without the indentation of its lines and without its comments; a comment
 *  that spans lines leaves its line breaks, one on a line leaves a space. */
export function stripLayout(text) {
  const file = ts.createSourceFile('bundle.js', text, ts.ScriptTarget.Latest, false, ts.ScriptKind.JS);
  const literals = [];
  const comments = new Map();
  // TypeScript calls the comments on the line where a node's trivia starts "trailing" (of the token
  // before) and the others "leading": both are in the trivia.
  const add = (start, end, kind) => void comments.set(start, { start, end, kind });
  const note = (pos) => {
    ts.forEachTrailingCommentRange(text, pos, add);
    ts.forEachLeadingCommentRange(text, pos, add);
  };
  const visit = (node) => {
    if (LITERALS.has(node.kind)) literals.push({ start: node.getStart(file), end: node.end });
    note(node.pos);
    ts.forEachChild(node, visit);
  };
  visit(file);
  note(file.endOfFileToken.pos);

  const cuts = [];
  const commentList = [...comments.values()];
  for (const c of commentList) {
    const body = text.slice(c.start, c.end);
    if (KEPT_COMMENT.test(body)) continue;
    const breaks = c.kind === ts.SyntaxKind.SingleLineCommentTrivia ? 0 : body.split('\n').length - 1;
    cuts.push({ start: c.start, end: c.end, with: c.kind === ts.SyntaxKind.SingleLineCommentTrivia ? '' : breaks > 0 ? '\n'.repeat(breaks) : ' ' });
  }
  // A line's leading blanks are kept where they are content: inside a literal or a comment.
  const spans = [...literals, ...commentList].sort((a, b) => a.start - b.start);
  let next = 0;
  let reach = 0;
  const within = (pos) => {
    for (; next < spans.length && spans[next].start < pos; next++) reach = Math.max(reach, spans[next].end);
    return reach > pos;
  };
  for (let line = 0; line < text.length; ) {
    if (!within(line)) {
      let end = line;
      while (text[end] === ' ' || text[end] === '\t') end++;
      if (end > line) cuts.push({ start: line, end, with: '' });
    }
    const nl = text.indexOf('\n', line);
    if (nl < 0) break;
    line = nl + 1;
  }
  cuts.sort((a, b) => a.start - b.start);
  const out = [];
  let at = 0;
  for (const cut of cuts) {
    if (cut.start < at) throw new Error(`stripLayout: overlapping cuts at ${cut.start}`);
    out.push(text.slice(at, cut.start), cut.with);
    at = cut.end;
  }
  out.push(text.slice(at));
  return out.join('');
}

const LITERALS = new Set([
  ts.SyntaxKind.StringLiteral,
  ts.SyntaxKind.NoSubstitutionTemplateLiteral,
  ts.SyntaxKind.TemplateHead,
  ts.SyntaxKind.TemplateMiddle,
  ts.SyntaxKind.TemplateTail,
  ts.SyntaxKind.RegularExpressionLiteral,
]);

/** Whether `a` and `b` are the same program but for whitespace and comments: esbuild, minifying
 *  only their whitespace, prints the same text for both. */
export async function sameProgram(a, b) {
  const print = async (code) => (await transform(code, { loader: 'js', minifyWhitespace: true, legalComments: 'none', logLevel: 'silent' })).code;
  const [pa, pb] = await Promise.all([print(a), print(b)]);
  return pa === pb;
}
