// `${VAR}` interpolation, done by tend and never by a shell. Syntax:
//   ${NAME}            the variable's value; an unset variable gives the empty string
//   ${NAME:-default}   the default when NAME is unset or empty; the default may itself use ${...}
//   $$                 a literal `$` (so `$$HOME` reaches /bin/sh as `$HOME`)
// Any other `$` is kept as it is: `$HOME` in a string command is left for the shell.

type Part = string | { name: string; fallback?: Part[] };

const NAME = /[A-Za-z_][A-Za-z0-9_]*/y;

/** How deep `${A:-${B:-...}}` defaults may nest: the parser recurses once per level. */
export const MAX_TEMPLATE_DEPTH = 32;

class TemplateError extends Error {}

// Parses from `pos` until the end of text, or until an unmatched `}` when `nested`.
function parseParts(text: string, pos: number, depth: number): { parts: Part[]; end: number } {
  const nested = depth > 0;
  const parts: Part[] = [];
  let literal = '';
  let i = pos;
  while (i < text.length) {
    const ch = text[i]!;
    if (nested && ch === '}') break;
    if (ch !== '$') {
      // Copy the whole run up to the next `$` (or `}` when nested) at once: one character at a
      // time made a megabyte value cost a million string pieces for the garbage collector.
      let end = text.indexOf('$', i);
      if (end === -1) end = text.length;
      if (nested) {
        const close = text.indexOf('}', i);
        if (close !== -1 && close < end) end = close;
      }
      literal += text.slice(i, end);
      i = end;
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
      if (depth + 1 > MAX_TEMPLATE_DEPTH) {
        throw new TemplateError(`"\${${m[0]}:-" at offset ${i} nests defaults more than ${MAX_TEMPLATE_DEPTH} deep`);
      }
      const inner = parseParts(text, j + 2, depth + 1);
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
  return parseParts(text, 0, 0).parts;
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

/** The variables `text` takes a value from that are unset, with no default to stand in. */
export function unsetVariables(text: string, lookup: (name: string) => string | undefined): string[] {
  if (!text.includes('$')) return [];
  let parts: Part[];
  try {
    parts = parseTemplate(text);
  } catch (err) {
    if (err instanceof TemplateError) return [];
    throw err;
  }
  const unset: string[] = [];
  const walk = (list: Part[]) => {
    for (const p of list) {
      if (typeof p === 'string') continue;
      const v = lookup(p.name);
      if (p.fallback !== undefined && (v === undefined || v === '')) walk(p.fallback);
      else if (v === undefined) unset.push(p.name);
    }
  };
  walk(parts);
  return unset;
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

// Shell quoting context while scanning a script: unquoted, inside '…', inside "…", or a comment.
type ShellState = 'plain' | 'single' | 'double' | 'comment';
interface ShellFrame {
  state: ShellState;
  /** How the frame ends: `)` of a `$(`, a backquote, or never (the top level). */
  until: ')' | '`' | null;
  parens: number;
}

/**
 * `${...}` in a script for `/bin/sh -c`, without splicing values into the script text: each
 * expression is rendered by tend, the value handed to `bind` (which stores it in the environment
 * under a name it returns), and the script gets a reference to that variable instead, quoted for
 * the place it stands in (`"${N}"` unquoted, `${N}` inside "…", `'"${N}"'` inside '…'), so the
 * shell expands it as one word and never parses it as code. A value of `x; rm -rf ~ #` reaches the
 * program as those characters. `$$` and a lone `$` stay as they are for the shell, as with
 * interpolate(). A malformed template is returned as written (validation reports it).
 */
export function shellInterpolate(script: string, lookup: (name: string) => string | undefined, bind: (value: string) => string): string {
  if (!script.includes('$')) return script;
  let parts: Part[];
  try {
    parts = parseTemplate(script);
  } catch (err) {
    if (err instanceof TemplateError) return script;
    throw err;
  }
  const stack: ShellFrame[] = [{ state: 'plain', until: null, parens: 0 }];
  let escaped = false;
  let out = '';
  for (const part of parts) {
    if (typeof part !== 'string') {
      const name = bind(render([part], lookup));
      const frame = stack[stack.length - 1]!;
      // A pending backslash would escape the quote we add; a backslash-newline is removed by
      // the shell (a line continuation), so it absorbs the backslash harmlessly.
      if (escaped && frame.state !== 'comment') out += '\n';
      escaped = false;
      if (frame.state === 'single') out += `'"\${${name}}"'`;
      else if (frame.state === 'double' || frame.state === 'comment') out += `\${${name}}`;
      else out += `"\${${name}}"`;
      continue;
    }
    for (let i = 0; i < part.length; i++) {
      const ch = part[i]!;
      out += ch;
      const frame = stack[stack.length - 1]!;
      if (escaped) {
        escaped = false;
        continue;
      }
      switch (frame.state) {
        case 'single':
          if (ch === "'") frame.state = 'plain';
          break;
        case 'comment':
          if (ch === '\n') frame.state = 'plain';
          break;
        case 'double':
          if (ch === '\\') escaped = true;
          else if (ch === '"') frame.state = 'plain';
          else if (ch === '`') stack.push({ state: 'plain', until: '`', parens: 0 });
          else if (ch === '$' && part[i + 1] === '(') {
            out += '(';
            i++;
            stack.push({ state: 'plain', until: ')', parens: 0 });
          }
          break;
        case 'plain':
          if (ch === '\\') escaped = true;
          else if (ch === "'") frame.state = 'single';
          else if (ch === '"') frame.state = 'double';
          else if (ch === '#' && /^$|[\s;&|()<>]/.test(out.slice(-2, -1))) frame.state = 'comment';
          else if (ch === '`') {
            if (frame.until === '`') stack.pop();
            else stack.push({ state: 'plain', until: '`', parens: 0 });
          } else if (ch === '$' && part[i + 1] === '(') {
            out += '(';
            i++;
            stack.push({ state: 'plain', until: ')', parens: 0 });
          } else if (ch === '(') frame.parens++;
          else if (ch === ')') {
            if (frame.parens > 0) frame.parens--;
            else if (frame.until === ')') stack.pop();
          }
          break;
      }
    }
  }
  return out;
}
