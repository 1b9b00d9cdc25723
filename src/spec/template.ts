// `${VAR}` interpolation, done by tend and never by a shell. Syntax:
//   ${NAME}            the variable's value; an unset variable gives the empty string
//   ${NAME:-default}   the default when NAME is unset or empty; the default may itself use ${...}
//   $$                 a literal `$` (so `$$HOME` reaches /bin/sh as `$HOME`)
// Any other `$` is kept as it is: `$HOME` in a string command is left for the shell.

type Part = string | { name: string; fallback?: Part[] };

const NAME = /[A-Za-z_][A-Za-z0-9_]*/y;

class TemplateError extends Error {}

// Parses from `pos` until the end of text, or until an unmatched `}` when `nested`.
function parseParts(text: string, pos: number, nested: boolean): { parts: Part[]; end: number } {
  const parts: Part[] = [];
  let literal = '';
  let i = pos;
  while (i < text.length) {
    const ch = text[i]!;
    if (nested && ch === '}') break;
    if (ch !== '$') {
      literal += ch;
      i++;
      continue;
    }
    const next = text[i + 1];
    if (next === '$') {
      literal += '$';
      i += 2;
      continue;
    }
    if (next !== '{') {
      literal += '$';
      i++;
      continue;
    }
    NAME.lastIndex = i + 2;
    const m = NAME.exec(text);
    if (!m) throw new TemplateError(`"\${" at offset ${i} must be followed by a variable name`);
    let j = i + 2 + m[0].length;
    let fallback: Part[] | undefined;
    if (text.startsWith(':-', j)) {
      const inner = parseParts(text, j + 2, true);
      fallback = inner.parts;
      j = inner.end;
    }
    if (text[j] !== '}') throw new TemplateError(`"\${${m[0]}" at offset ${i} is not closed with "}"`);
    if (literal) parts.push(literal);
    literal = '';
    parts.push(fallback === undefined ? { name: m[0] } : { name: m[0], fallback });
    i = j + 1;
  }
  if (literal) parts.push(literal);
  return { parts, end: i };
}

function parseTemplate(text: string): Part[] {
  return parseParts(text, 0, false).parts;
}

// The syntax error in `text` as a phrase, or undefined when it is a valid template.
export function templateError(text: string): string | undefined {
  try {
    parseTemplate(text);
    return undefined;
  } catch (err) {
    if (err instanceof TemplateError) return err.message;
    throw err;
  }
}

function render(parts: Part[], lookup: (name: string) => string | undefined): string {
  let out = '';
  for (const p of parts) {
    if (typeof p === 'string') out += p;
    else {
      const v = lookup(p.name);
      out += p.fallback !== undefined && (v === undefined || v === '') ? render(p.fallback, lookup) : (v ?? '');
    }
  }
  return out;
}

// Expands `${...}` and `$$` in `text`; a malformed template is kept literally (validation reports it).
export function interpolate(text: string, lookup: (name: string) => string | undefined): string {
  if (!text.includes('$')) return text;
  try {
    return render(parseTemplate(text), lookup);
  } catch (err) {
    if (err instanceof TemplateError) return text;
    throw err;
  }
}
