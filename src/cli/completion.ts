// `tend completion bash|zsh`: prints the shell completion scripts kept under completions/ (one
// copy: packagers install those files, the command prints them).

import { readFileSync } from 'node:fs';
import { TendError } from '../errors.js';
import type { Cli } from './context.js';
import { EXIT } from './exit-codes.js';

/** The completion script for a shell. */
export function completionScript(shell: string): string {
  const file = shell === 'bash' ? 'tend.bash' : shell === 'zsh' ? '_tend' : undefined;
  if (!file) throw new TendError('API_BAD_REQUEST', `expected a shell, bash or zsh, got "${shell}"`);
  // dist/cli/ and src/cli/ are both two levels below the package root.
  return readFileSync(new URL(`../../completions/${file}`, import.meta.url), 'utf8');
}

/** Prints the completion script for a shell. */
export function completionCommand(cli: Cli, shell: string): number {
  cli.out.write(completionScript(shell));
  return EXIT.OK;
}
