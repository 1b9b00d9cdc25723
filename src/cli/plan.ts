// `tend plan [DIR] [--exit-code] [-o json]`: what applying DIR would do to what runs now. With a
// daemon the daemon compares (it knows what runs); without one everything in DIR is new.

import type { PlanChange, PlanReport } from '../api/types.js';
import { TendError } from '../errors.js';
import { previewChanges } from '../reconcile/preview.js';
import { assertDirectory } from '../spec/dir.js';
import { loadDirectory } from '../spec/load.js';
import { parseOutput, type Cli } from './context.js';
import { EXIT } from './exit-codes.js';
import { specError } from './format.js';
import { paint, type Colour } from './term.js';
import { fromWorkingDir } from '../util/working-dir.js';

export interface PlanOptions {
  exitCode?: boolean;
  output?: string;
  /** Compare as if the daemon were pointed at DIR (a release switch), location included. */
  switch?: boolean;
}

const OP_COLOUR: Record<PlanChange['op'], Colour> = { '+': 'green', '-': 'red', '~': 'yellow', '=': 'cyan', '!': 'red' };

/** Prints the plan; exit 1 when DIR has spec errors, else 2 with --exit-code when there are changes. */
export async function planCommand(cli: Cli, dirArg: string | undefined, opts: PlanOptions): Promise<number> {
  const output = parseOutput(opts.output);
  const dir = fromWorkingDir(dirArg ?? 'services.d');
  assertDirectory(dir);
  const report = await planAgainstDaemon(cli, dir, opts.switch === true);

  if (output === 'json') {
    cli.out.write(JSON.stringify(report, null, 2) + '\n');
  } else {
    for (const e of report.errors) cli.err.write(paint(cli.err, 'red', `error: ${specError(e)}`) + '\n');
    for (const c of report.changes) cli.out.write(paint(cli.out, OP_COLOUR[c.op], c.text) + '\n');
    if (report.changes.length === 0) cli.out.write('no changes\n');
  }
  if (report.errors.length > 0) return EXIT.FAILURE;
  return opts.exitCode && report.changes.length > 0 ? EXIT.CHANGES : EXIT.OK;
}

async function planAgainstDaemon(cli: Cli, dir: string, switchTo: boolean): Promise<PlanReport> {
  try {
    return await cli.client().plan(dir, { switchTo });
  } catch (err) {
    if (!(err instanceof TendError && err.code === 'DAEMON_UNREACHABLE')) throw err;
  }
  cli.err.write('no tend daemon runs here: comparing against nothing running\n');
  const loaded = await loadDirectory(dir);
  return {
    changes: previewChanges(new Map(), loaded, []),
    errors: loaded.problems.map(({ file, line, column, message }) => ({ file, line, column, message })),
  };
}
