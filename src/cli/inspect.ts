// `tend inspect SVC[/N] [--show-secrets] [-o json]`: what a service really runs — the effective spec
// after defaults, interpolation and env files, where it was loaded from (a release symlink's
// target), and per replica the resolved argv, cwd, ports and environment. Values that look secret
// are masked (src/api/inspect.ts has the rule) unless --show-secrets.

import { stringify } from 'yaml';
import type { InspectReport } from '../api/inspect.js';
import { parseOutput, parseTarget, type Cli } from './context.js';
import { EXIT } from './exit-codes.js';
import { paint, type Term } from './term.js';

export interface InspectOptions {
  showSecrets?: boolean;
  output?: string;
}

export async function inspectCommand(cli: Cli, targetArg: string, opts: InspectOptions): Promise<number> {
  const target = parseTarget(targetArg);
  const output = parseOutput(opts.output);
  const report = await cli.client().inspect(target.service, {
    ...(target.replica === undefined ? {} : { replica: target.replica }),
    reveal: opts.showSecrets ?? false,
  });
  cli.out.write(output === 'json' ? JSON.stringify(report, null, 2) + '\n' : inspectView(cli.out, report));
  return EXIT.OK;
}

/** The report for people: the spec as YAML, then one block per replica. */
export function inspectView(term: Pick<Term, 'color'>, r: InspectReport): string {
  const indent = (text: string, by = '  ') => text.replace(/^(?=.)/gm, by);
  let text = `${paint(term, 'bold', r.name)}  ${r.file}\nloaded from: ${r.loaded_from}\n\n${paint(term, 'bold', 'effective spec:')}\n`;
  text += indent(stringify(r.spec, { lineWidth: 0 }));
  for (const rep of r.replicas) {
    text += `\n${paint(term, 'bold', `${r.name}/${rep.index}`)}${rep.pid === null ? ' (not running)' : ` (pid ${rep.pid})`}\n`;
    text += `  argv: ${JSON.stringify(rep.argv)}\n`;
    text += `  cwd: ${rep.cwd}\n`;
    const ports = Object.entries(rep.ports);
    if (ports.length > 0) text += `  ports: ${ports.map(([k, v]) => `${k}=${v}`).join(' ')}\n`;
    text += '  env:\n';
    for (const [k, v] of Object.entries(rep.env)) text += `    ${k}=${v}\n`;
    if (rep.inherited_env_keys.length > 0) {
      text += `  inherited from the daemon (${rep.inherited_env_keys.length}): ${rep.inherited_env_keys.join(' ')}\n`;
    }
  }
  if (r.masked) text += `\n${paint(term, 'dim', 'Values that look secret are shown as ******; --show-secrets shows them.')}\n`;
  return text;
}
