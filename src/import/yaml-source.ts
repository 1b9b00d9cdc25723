// Pure: a YAML (or JSON) source file → its value and a way to point at any key or value in it, so
// that a converter's complaints carry `file:line:col` like tend's own spec errors.

import { LineCounter, parseDocument } from 'yaml';
import type { SpecProblem } from '../errors.js';
import { locate, type Position, type YamlPath } from '../spec/located.js';

export interface YamlSource {
  value: unknown;
  /** Where the node at `path` is (its key with `at: 'key'`). */
  at(path: YamlPath, at?: 'key' | 'value'): Position;
}

// Parses `text`; YAML errors come back as problems naming `file`.
export function parseYamlSource(file: string, text: string): YamlSource | { problems: SpecProblem[] } {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true, merge: true });
  if (doc.errors.length > 0) {
    return {
      problems: doc.errors.map((e) => {
        const { line, col } = lines.linePos(e.pos[0]);
        return { file, line, column: col, code: 'SPEC_PARSE' as const, message: `YAML: ${e.message.split(':\n')[0]!.replace(/ at line \d+, column \d+$/, '')}` };
      }),
    };
  }
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: 100 });
  } catch (err) {
    return { problems: [{ file, line: 1, column: 1, code: 'SPEC_PARSE', message: `YAML: ${(err as Error).message}` }] };
  }
  return { value, at: (path, at = 'value') => locate(doc, lines, path, at) };
}

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Problems for keys of `obj` that are not in `known` (keys starting with `x-` pass). */
export function unknownKeys(
  file: string,
  src: YamlSource,
  path: YamlPath,
  obj: Record<string, unknown>,
  known: readonly string[],
  what: string,
): SpecProblem[] {
  return Object.keys(obj)
    .filter((k) => !known.includes(k) && !k.startsWith('x-'))
    .map((k) => ({ file, ...src.at([...path, k], 'key'), code: 'SPEC_INVALID' as const, message: `unknown key "${k}" in ${what}` }));
}
