// Pure: INI text → sections of options with their positions, parsed the way Python's
// RawConfigParser reads supervisord's files (strict=False, inline comments after whitespace,
// indented continuation lines, `=` or `:` between key and value, keys lowercased).

import type { SpecProblem } from '../errors.js';

export interface IniOption {
  key: string;
  value: string;
  line: number;
  /** Column where the value starts. */
  column: number;
}

export interface IniSection {
  name: string;
  line: number;
  options: Map<string, IniOption>;
}

const INLINE_PREFIXES = [';', '#'];

// Python's inline comments: a prefix preceded by whitespace ends the line.
function stripInline(line: string): string {
  let end = line.length;
  for (const p of INLINE_PREFIXES) {
    for (let i = line.indexOf(p); i >= 0; i = line.indexOf(p, i + 1)) {
      if (i > 0 && /\s/.test(line[i - 1]!)) {
        end = Math.min(end, i);
        break;
      }
    }
  }
  return line.slice(0, end);
}

export function parseIni(file: string, text: string): { sections: IniSection[]; problems: SpecProblem[] } {
  const sections: IniSection[] = [];
  const byName = new Map<string, IniSection>();
  const problems: SpecProblem[] = [];
  let current: IniSection | undefined;
  let last: IniOption | undefined;
  let lastIndent = 0;
  text.split('\n').forEach((raw0, i) => {
    const lineNo = i + 1;
    const raw = raw0.replace(/\r$/, '');
    const trimmed = raw.trim();
    if (trimmed.startsWith('#') || trimmed.startsWith(';')) return;
    const content = stripInline(raw);
    if (content.trim() === '') {
      last = undefined;
      return;
    }
    const indent = content.length - content.trimStart().length;
    if (last && indent > lastIndent) {
      // A continuation line: part of the value above, joined by a newline as Python does.
      last.value += `\n${content.trim()}`;
      return;
    }
    const header = /^\s*\[(.+)\]\s*$/.exec(content);
    if (header) {
      const name = header[1]!.trim();
      current = byName.get(name);
      if (!current) {
        current = { name, line: lineNo, options: new Map() };
        byName.set(name, current);
        sections.push(current);
      }
      last = undefined;
      return;
    }
    if (!current) {
      problems.push({ file, line: lineNo, column: indent + 1, code: 'SPEC_PARSE', message: 'INI: an option before any [section] header' });
      return;
    }
    const m = /^(\s*)(.*?)\s*([=:])\s*(.*)$/.exec(content);
    if (!m || m[2] === '') {
      problems.push({ file, line: lineNo, column: indent + 1, code: 'SPEC_PARSE', message: `INI: expected \`key = value\` or a [section] header, got "${content.trim()}"` });
      last = undefined;
      return;
    }
    const key = m[2]!.toLowerCase();
    const valueStart = content.length - m[4]!.length;
    last = { key, value: m[4]!.trimEnd(), line: lineNo, column: valueStart + 1 };
    lastIndent = indent;
    current.options.set(key, last);
  });
  return { sections, problems };
}
