// Pure: the text of one spec file → its documents (values with their YAML nodes, for positions)
// and the problems found at the YAML level. No schema, no file system.

import { LineCounter, isAlias, isMap, isPair, isScalar, isSeq, parseAllDocuments, type Document } from 'yaml';
import type { SpecProblem } from '../errors.js';
import { locate, type PathProblem, type Position } from './located.js';

/** Alias expansions allowed per document: enough for anchors reused by hand, not for a "billion laughs". */
export const MAX_ALIAS_COUNT = 100;

/**
 * Lines plus flow items (`,`, `[`, `{`) allowed per file, counted before parsing. The YAML parser
 * costs about 15 µs per key, so this bounds the time one file can hold the event loop (84,000 keys
 * in 1 MB took 1.4 s to parse, and 134 s with the yaml library's quadratic duplicate-key check,
 * which is replaced here by a linear one).
 */
export const MAX_ITEMS = 10_000;
/** YAML nodes allowed per file, counted after parsing (each key, value and list item is one). */
export const MAX_NODES = 10_000;
/** Nesting depth of lists and mappings allowed per document. */
export const MAX_DEPTH = 64;

/** One YAML document of a spec file. */
export interface SpecDocument {
  doc: Document;
  lines: LineCounter;
  /** The document as plain data (aliases resolved, `<<` merges applied). */
  value: unknown;
  /** 1-based line where the document's content starts. */
  line: number;
}

export interface ParsedSpecFile {
  documents: SpecDocument[];
  problems: SpecProblem[];
}

// yaml's own messages end with " at line L, column C" (we print the position first) and may carry
// a code excerpt after a colon and newline; keep the sentence.
function yamlMessage(message: string): string {
  return message.split(':\n')[0]!.replace(/ at line \d+, column \d+$/, '');
}

// Splits `text` into documents; empty documents (a trailing `---`) are dropped, a file without any
// is a problem (an empty file while an editor saves must not remove a service).
export function parseSpecText(text: string, file: string): ParsedSpecFile {
  const items = countItems(text);
  if (items > MAX_ITEMS) {
    const message = `the file has ${items} lines and flow items (",", "[", "{"), more than the ${MAX_ITEMS} allowed per file: refused`;
    return { documents: [], problems: [{ file, line: 1, column: 1, code: 'SPEC_TOO_LARGE', message }] };
  }
  const lines = new LineCounter();
  // uniqueKeys is off: the library compares every pair of keys (quadratic); checkNodes does it in
  // linear time below.
  const docs = parseAllDocuments(text, { lineCounter: lines, prettyErrors: false, merge: true, uniqueKeys: false, logLevel: 'error' });
  const problems: SpecProblem[] = [];
  const at = (offset: number): Position => {
    const { line, col } = lines.linePos(offset);
    return { line, column: col };
  };
  const documents: SpecDocument[] = [];
  const budget = { nodes: MAX_NODES };
  for (const doc of docs) {
    for (const e of doc.errors) {
      problems.push({ file, ...at(e.pos[0]), code: 'SPEC_PARSE', message: `YAML: ${yamlMessage(e.message)}` });
    }
    if (doc.errors.length > 0 || doc.contents === null) continue;
    const contentsStart = (doc.contents.range ?? doc.range)[0];
    const structural = checkNodes(doc.contents, budget);
    if (structural.length > 0) {
      for (const s of structural) problems.push({ file, ...at(s.offset ?? contentsStart), code: s.code, message: s.message });
      if (structural.some((s) => s.code === 'SPEC_TOO_LARGE')) break;
      continue;
    }
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
    } catch (err) {
      const bomb = err instanceof ReferenceError && /alias/i.test(err.message);
      problems.push({
        file,
        ...at(contentsStart),
        code: bomb ? 'SPEC_TOO_LARGE' : 'SPEC_PARSE',
        message: bomb
          ? `YAML aliases expand to too many nodes (more than ${MAX_ALIAS_COUNT} per alias): refused`
          : `YAML: ${(err as Error).message}`,
      });
      continue;
    }
    // A document with nothing in it (a trailing `---`) defines nothing.
    if (value === null || value === undefined) continue;
    documents.push({ doc, lines, value, line: at(contentsStart).line });
  }
  if (documents.length === 0 && problems.length === 0) {
    problems.push({ file, line: 1, column: 1, code: 'SPEC_INVALID', message: 'the file defines no service (expected a mapping with at least `command:`)' });
  }
  return { documents, problems };
}

// Newlines plus `,`, `[` and `{`: an upper bound of the entries YAML can make of the text, counted
// in one pass before the parser runs.
export function countItems(text: string): number {
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 10 || c === 44 || c === 91 || c === 123) n++;
  }
  return n;
}

interface StructuralProblem {
  offset: number | undefined;
  code: 'SPEC_PARSE' | 'SPEC_TOO_LARGE';
  message: string;
}

// One pass over a document's nodes, without recursion: the node budget of the file, the nesting
// depth, and duplicate keys (each mapping's keys in a Set, so linear in the number of keys).
function checkNodes(root: unknown, budget: { nodes: number }): StructuralProblem[] {
  const out: StructuralProblem[] = [];
  const stack: [unknown, number][] = [[root, 1]];
  while (stack.length > 0) {
    const [node, depth] = stack.pop()!;
    if (node === null || node === undefined) continue;
    if (--budget.nodes < 0) {
      return [{ offset: offsetOf(node), code: 'SPEC_TOO_LARGE', message: `the file has more than ${MAX_NODES} YAML nodes (keys, values and list items): refused` }];
    }
    if (isAlias(node) || isScalar(node)) continue;
    if (depth > MAX_DEPTH) {
      return [{ offset: offsetOf(node), code: 'SPEC_TOO_LARGE', message: `lists and mappings are nested more than ${MAX_DEPTH} deep: refused` }];
    }
    if (isMap(node)) {
      const seen = new Set<string>();
      for (const pair of node.items) {
        if (!isPair(pair)) continue;
        const key = pair.key;
        if (isScalar(key) && key.value !== null && typeof key.value === 'object') {
          // A tagged scalar such as `!!binary …` resolves to bytes, which no key can be.
          out.push({ offset: offsetOf(key), code: 'SPEC_PARSE', message: 'YAML: a key must be a plain string or number, not a tagged value such as !!binary' });
        } else if (isScalar(key) && key.value !== '<<') {
          const name = String(key.value);
          if (seen.has(name)) out.push({ offset: offsetOf(key), code: 'SPEC_PARSE', message: 'YAML: Map keys must be unique' });
          seen.add(name);
        } else if (key !== null && !isScalar(key)) {
          // `? [a, b]: x` or `*alias: x`: a plain object cannot hold such a key (it would become
          // "[object Object]" or similar), and no spec field needs one.
          out.push({ offset: offsetOf(key), code: 'SPEC_PARSE', message: 'YAML: a key must be a plain string or number, not a list, a mapping or an alias' });
        }
        stack.push([pair.value, depth + 1]);
      }
    } else if (isSeq(node)) {
      for (const item of node.items) {
        // `[a: 1]` holds pairs: look inside them too.
        if (isPair(item)) stack.push([item.key, depth + 1], [item.value, depth + 1]);
        else stack.push([item, depth + 1]);
      }
    }
  }
  return out;
}

function offsetOf(node: unknown): number | undefined {
  return (node as { range?: [number, number, number] } | null)?.range?.[0];
}

// PathProblems of one document → SpecProblems at the node at fault.
export function locateProblems(file: string, d: SpecDocument, found: PathProblem[], service?: string): SpecProblem[] {
  return found.map((p) => ({
    file,
    ...locate(d.doc, d.lines, p.path, p.at),
    message: p.message,
    code: p.code,
    ...(service === undefined ? {} : { service }),
  }));
}
