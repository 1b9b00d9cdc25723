// The text edit behind `tend scale`: set `replicas:` of one service in a YAML file's text, changing
// nothing else. Re-serialising with the yaml library reformats flow sequences and comments, so the
// number is spliced into the original text at the positions the parser reports.

import { basename, extname } from 'node:path';
import { isMap, isScalar, parseAllDocuments, type Document, type Pair, type YAMLMap } from 'yaml';
import { TendError } from '../errors.js';

/** `text` with the replica count of `service` set to `replicas`; `fileName` gives the default name
 *  of a single-document file (DESIGN §2). Throws API_NOT_FOUND when the file does not define it. */
export function setReplicas(text: string, fileName: string, service: string, replicas: number): string {
  const docs = parseAllDocuments(text);
  if (!Array.isArray(docs)) throw new TendError('SPEC_PARSE', `${fileName}: no YAML documents`);
  const stem = basename(fileName, extname(fileName));
  const doc = docs.find((d) => nameOf(d) === service || (docs.length === 1 && nameOf(d) === undefined && stem === service));
  if (!doc) throw new TendError('API_NOT_FOUND', `${fileName} does not define service "${service}"`);
  if (doc.errors.length > 0) {
    throw new TendError('SPEC_PARSE', `${fileName}: ${doc.errors[0]?.message ?? 'does not parse'}; fix it before scaling`);
  }
  const map = doc.contents;
  if (!isMap(map)) throw new TendError('SPEC_INVALID', `${fileName}: the document of "${service}" is not a mapping`);

  const pair = map.items.find((p) => isScalar(p.key) && p.key.value === 'replicas');
  if (pair) return replaceValue(text, fileName, pair, replicas);
  return insertPair(text, map, replicas);
}

function nameOf(doc: Document): string | undefined {
  const name = isMap(doc.contents) ? doc.contents.get('name') : undefined;
  return typeof name === 'string' ? name : undefined;
}

function replaceValue(text: string, fileName: string, pair: Pair, replicas: number): string {
  const value = pair.value;
  if (!isScalar(value) || !value.range) {
    throw new TendError('SPEC_INVALID', `${fileName}: replicas must be a number to be scaled`);
  }
  const [start, end] = value.range;
  // `replicas:` with no value: the empty scalar sits right after the colon.
  const lead = start === end && text[start - 1] === ':' ? ' ' : '';
  return text.slice(0, start) + lead + String(replicas) + text.slice(end);
}

// Adds the key after `name:` when there is one, else after the first key, in the map's own style.
function insertPair(text: string, map: YAMLMap, replicas: number): string {
  const anchor = map.items.find((p) => isScalar(p.key) && p.key.value === 'name') ?? map.items[0];
  const anchorEnd = (anchor?.value as { range?: [number, number, number] } | null)?.range?.[1]
    ?? (anchor?.key as { range?: [number, number, number] } | null)?.range?.[1];
  if (anchor === undefined || anchorEnd === undefined || !map.range) {
    // An empty map: `{}` or nothing at all.
    throw new TendError('SPEC_INVALID', 'the service has no keys to place replicas after');
  }
  if (map.flow) return text.slice(0, anchorEnd) + `, replicas: ${replicas}` + text.slice(anchorEnd);

  const keyStart = (anchor.key as { range: [number, number, number] }).range[0];
  const indent = keyStart - (text.lastIndexOf('\n', keyStart - 1) + 1);
  const nl = text.includes('\r\n') ? '\r\n' : '\n';
  const line = `${' '.repeat(indent)}replicas: ${replicas}${nl}`;
  // A block value ends at the start of the next line; a scalar ends mid-line (maybe before a comment).
  if (text[anchorEnd - 1] === '\n') return text.slice(0, anchorEnd) + line + text.slice(anchorEnd);
  const eol = text.indexOf('\n', anchorEnd);
  if (eol < 0) return text + nl + line.trimEnd();
  return text.slice(0, eol + 1) + line + text.slice(eol + 1);
}
