// Problems found in a parsed value are named by their path (`['backoff', 'initial']`); this module
// finds the YAML node at that path so that a message points at the line and column at fault.

import { isAlias, isMap, isPair, isScalar, isSeq, type Document, type LineCounter, type Node } from 'yaml';
import type { ErrorCode } from '../errors.js';

export type YamlPath = (string | number)[];

/** A problem tied to a path in one document; `at: 'key'` points at the key rather than its value. */
export interface PathProblem {
  path: YamlPath;
  at?: 'key' | 'value';
  message: string;
  code: ErrorCode;
}

export interface Position {
  line: number;
  column: number;
}

function offsetOf(node: unknown): number | undefined {
  const range = (node as { range?: [number, number, number] } | null)?.range;
  return range ? range[0] : undefined;
}

// The deepest node on `path` (the key node when `at` is 'key' and the path is found in full).
function nodeAt(doc: Document, path: YamlPath, at: 'key' | 'value'): unknown {
  let node: unknown = doc.contents;
  for (let i = 0; i < path.length; i++) {
    if (isAlias(node)) node = node.resolve(doc);
    const seg = path[i];
    let next: unknown;
    let key: unknown;
    if (isMap(node)) {
      const pair = node.items.find((p) => isPair(p) && (isScalar(p.key) ? String(p.key.value) : String(p.key)) === String(seg));
      key = pair?.key;
      next = pair?.value;
    } else if (isSeq(node)) {
      // A number indexes the list; a string names an item of it (`depends_on: [db]`).
      next = typeof seg === 'number' ? node.items[seg] : node.items.find((n) => isScalar(n) && String(n.value) === seg);
      if (typeof seg === 'string' && next !== undefined) return next;
    }
    if (next === undefined && key === undefined) return node;
    if (i === path.length - 1 && at === 'key' && key) return key;
    // `key:` with nothing after it has no value node; point at the key.
    if (next === null || next === undefined || offsetOf(next) === undefined) return key ?? node;
    node = next;
  }
  return node;
}

// Line and column (1-based) of the node at `path`, falling back to the nearest enclosing node.
export function locate(doc: Document, lines: LineCounter, path: YamlPath, at: 'key' | 'value' = 'value'): Position {
  const offset = offsetOf(nodeAt(doc, path, at)) ?? offsetOf(doc.contents as Node | null) ?? 0;
  const { line, col } = lines.linePos(offset);
  return { line, column: col };
}
