// `tend validate [DIR|FILE ...]`: check spec files without a daemon, for editors, pre-commit hooks
// and CI. Exit 0 when every path is valid, 1 otherwise; problems as `path:line:col: message`.

import { readFile, stat } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { formatProblem, type SpecProblem } from '../errors.js';
import { isSpecFileName, loadDirectory, loadFiles } from '../spec/load.js';
import { fromWorkingDir } from '../util/working-dir.js';

export interface ValidateOptions {
  json: boolean;
  maxReplicas?: number;
}

// Validates directories and files and prints what is wrong; returns the exit code.
export async function validateCommand(
  paths: string[],
  opts: ValidateOptions,
  out: NodeJS.WritableStream = process.stdout,
): Promise<number> {
  const targets = paths.length > 0 ? paths : ['./services.d'];
  const load = opts.maxReplicas === undefined ? {} : { maxReplicas: opts.maxReplicas };
  const problems: SpecProblem[] = [];
  const summaries: string[] = [];
  for (const target of targets) {
    const st = await stat(fromWorkingDir(target)).catch(() => null);
    if (st === null) {
      problems.push({ file: target, line: 1, column: 1, code: 'SPEC_INVALID', message: 'no such file or directory' });
      continue;
    }
    if (st.isDirectory()) {
      const result = await loadDirectory(target, load);
      problems.push(...result.problems);
      if (result.problems.length === 0) summaries.push(`${target.replace(/^\.\//, '')}: ${count(result.services.length)} OK`);
      continue;
    }
    // ---- tend.yaml: daemon-wide hooks and alerts (src/hooks/config.ts) ----
    if (basename(target) === 'tend.yaml') {
      const { parseConfig } = await import('../hooks/config.js');
      const own = parseConfig(await readFile(fromWorkingDir(target), 'utf8'), fromWorkingDir(target), target).problems;
      problems.push(...own);
      if (own.length === 0) summaries.push(`${target.replace(/^\.\//, '')}: OK`);
      continue;
    }
    // A file of a spec directory is checked with its directory around it, so that dependencies on
    // services of sibling files resolve and duplicates are seen; only its own problems count.
    // Its env files' problems come from loading it alone.
    const abs = fromWorkingDir(target);
    const alone = await loadFiles([target], load);
    const own = alone.problems.filter((p) => fromWorkingDir(p.file) !== abs);
    if (isSpecFileName(basename(abs))) {
      const around = await loadDirectory(dirname(target), load);
      own.push(...around.problems.filter((p) => fromWorkingDir(p.file) === abs));
    } else {
      own.push(...alone.problems.filter((p) => fromWorkingDir(p.file) === abs));
    }
    problems.push(...own);
    if (own.length === 0) summaries.push(`${target.replace(/^\.\//, '')}: ${count((alone.files.get(abs) ?? []).length)} OK`);
  }
  if (opts.json) {
    const list = problems.map(({ file, line, column, message }) => ({ file, line, column, message }));
    out.write(`${JSON.stringify(list, null, 2)}\n`);
  } else if (problems.length > 0) {
    out.write(problems.map((p) => `${formatProblem(p)}\n`).join(''));
  } else {
    out.write(summaries.map((s) => `${s}\n`).join(''));
  }
  return problems.length === 0 ? 0 : 1;
}

function count(n: number): string {
  return `${n} service${n === 1 ? '' : 's'}`;
}
