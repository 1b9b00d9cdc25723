// Pure: which format a source is, from its name and, when that is not enough, its content.

import { basename, extname } from 'node:path';
import { parseDocument } from 'yaml';
import type { ImportFormat, SourceReader } from './types.js';

export type Detection = { format: ImportFormat } | { error: string };

// Guesses the format of `path`; an error says what to pass as --from.
export function detectFormat(path: string, reader: SourceReader): Detection {
  if (reader.isDirectory(path)) return { format: 'zinit' };
  const name = basename(path);
  const ext = extname(name).toLowerCase();
  if (/^procfile/i.test(name)) return { format: 'procfile' };
  if (ext === '.conf' || ext === '.ini') return { format: 'supervisord' };
  if (['.js', '.cjs', '.mjs', '.json', '.json5'].includes(ext) || /^ecosystem/i.test(name)) return { format: 'pm2' };
  const text = reader.readText(path);
  if (text === undefined) return { error: 'no such file or directory' };
  if (/^\s*\[(program|supervisord|group|include|eventlistener)[:\]]/m.test(text)) return { format: 'supervisord' };
  if (ext === '.yaml' || ext === '.yml' || ext === '') {
    const doc = parseDocument(text);
    const value = doc.errors.length === 0 ? (doc.toJS() as unknown) : undefined;
    if (value && typeof value === 'object' && !Array.isArray(value)) {
      const keys = Object.keys(value);
      if (keys.includes('processes')) return { format: 'process-compose' };
      if (keys.includes('apps')) return { format: 'pm2' };
      if (keys.includes('exec')) return { format: 'zinit' };
    }
    if (/process-compose/i.test(name)) return { format: 'process-compose' };
  }
  if (ext === '' && /^[A-Za-z0-9_-]+:[ \t]*\S/m.test(text)) return { format: 'procfile' };
  return { error: 'cannot tell which format this is; name it with --from process-compose|supervisord|pm2|procfile|zinit' };
}
