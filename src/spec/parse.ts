// Pure: the text of one spec file → its documents (values with their YAML nodes, for positions)
// and the problems found at the YAML level. No schema, no file system.

import { LineCounter, parseAllDocuments, type Document } from 'yaml';
import type { SpecProblem } from '../errors.js';
import { locate, type PathProblem, type Position } from './located.js';

/** Alias expansions allowed per document: enough for anchors reused by hand, not for a "billion laughs". */
export const MAX_ALIAS_COUNT = 100;

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
  const lines = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter: lines, prettyErrors: false, merge: true, uniqueKeys: true });
  const problems: SpecProblem[] = [];
  const at = (offset: number): Position => {
    const { line, col } = lines.linePos(offset);
    return { line, column: col };
  };
  const documents: SpecDocument[] = [];
  for (const doc of docs) {
    for (const e of doc.errors) {
      problems.push({ file, ...at(e.pos[0]), code: 'SPEC_PARSE', message: `YAML: ${yamlMessage(e.message)}` });
    }
    if (doc.errors.length > 0 || doc.contents === null) continue;
    const contentsStart = (doc.contents.range ?? doc.range)[0];
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
