// Pure: the KEY=VALUE format of env_file, as docker compose and dotenv read it: blank lines and
// `# comments` skipped, an optional `export ` prefix, values optionally in single quotes (kept
// as written) or double quotes (\n, \t, \" and \\ unescaped); an unquoted value ends at ` #`.

export interface EnvFileProblem {
  line: number;
  column: number;
  message: string;
}

export interface ParsedEnvFile {
  entries: [string, string][];
  problems: EnvFileProblem[];
}

const LINE = /^(\s*)(export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$/;
const ESCAPES: Record<string, string> = { n: '\n', t: '\t', r: '\r', '"': '"', '\\': '\\' };

// Every KEY=VALUE entry in order, and every line that is none of the accepted forms.
export function parseEnvFile(text: string): ParsedEnvFile {
  const entries: [string, string][] = [];
  const problems: EnvFileProblem[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const trimmed = raw.trim();
    if (trimmed === '' || trimmed.startsWith('#')) return;
    const m = LINE.exec(raw);
    if (!m) {
      const column = raw.length - raw.trimStart().length + 1;
      problems.push({ line: i + 1, column, message: `expected KEY=VALUE, got ${JSON.stringify(trimmed)}` });
      return;
    }
    const value = parseValue(m[4]!);
    if (value === null) {
      problems.push({ line: i + 1, column: raw.indexOf('=') + 2, message: `unterminated quote in the value of ${m[3]}` });
      return;
    }
    entries.push([m[3]!, value]);
  });
  return { entries, problems };
}

function parseValue(text: string): string | null {
  const q = text[0];
  if (q === "'" || q === '"') {
    const end = text.indexOf(q, 1);
    if (q === "'") return end === -1 ? null : text.slice(1, end);
    let out = '';
    for (let i = 1; i < text.length; i++) {
      const ch = text[i]!;
      if (ch === '"') return out;
      if (ch === '\\' && i + 1 < text.length) {
        const next = text[++i]!;
        out += ESCAPES[next] ?? `\\${next}`;
      } else out += ch;
    }
    return null;
  }
  const comment = text.search(/\s#/);
  return (comment === -1 ? text : text.slice(0, comment)).trim();
}
