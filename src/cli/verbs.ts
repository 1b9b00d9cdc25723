// Which verb a command line runs, read before commander parses it, so that the CLI declares only
// that one (src/cli/index.ts).

/** Every verb buildProgram declares (a test holds the two equal). */
export const VERBS = [
  'up', 'down', 'status', 'top', 'logs', 'scale', 'restart', 'pause', 'resume', 'stop', 'start', 'kill', 'validate',
  'plan', 'export', 'import', 'events', 'history', 'startup', 'dashboard', 'notify', 'inspect', 'exec', 'daemon-log', 'completion',
] as const;

/** Other names of a verb, as the tools users come from spell it: `docker compose ps`, `pm2 ls` and
 *  `pm2 list`, `pm2 monit`, `pm2 describe` (and kubectl's). */
export const ALIASES: Readonly<Partial<Record<(typeof VERBS)[number], readonly string[]>>> = {
  status: ['ps', 'ls', 'list'],
  top: ['monit'],
  inspect: ['describe'],
};

const VERB_OF_ALIAS = new Map(Object.entries(ALIASES).flatMap(([verb, names]) => names.map((n) => [n, verb])));

/**
 * The verb a command line runs (`tend --state-dir s up -d` → up, `tend ps` → status), when it
 * names one of VERBS or ALIASES before any option but the two global ones that take a value; otherwise (help, --version, a
 * typo commander suggests a verb for) undefined.
 */
export function verbOf(args: readonly string[]): string | undefined {
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as string;
    if (a === '--state-dir' || a === '--client-timeout') i++;
    else if (a.startsWith('--state-dir=') || a.startsWith('--client-timeout=')) continue;
    else return (VERBS as readonly string[]).includes(a) ? a : VERB_OF_ALIAS.get(a);
  }
  return undefined;
}

/** Options before `tend exec`'s target that take a value (its own, and the global ones). */
const EXEC_VALUE_OPTIONS = new Set(['-u', '--user', '--state-dir', '--client-timeout']);

/**
 * `tend exec web ls -l` as `docker compose exec web ls -l` is typed: everything after the target is
 * the command's, options included, so a `--` is put after the target when there is none. Without
 * it, commander took `-l` for an unknown option of tend's, `env -u PATH` for tend's `--user`, and
 * `echo --help` printed tend's help. Options of tend's own go before the target.
 */
export function execArgs(args: readonly string[]): string[] {
  const verb = args.findIndex((a, i) => a === 'exec' && verbOf(args.slice(0, i + 1)) === 'exec');
  if (verb < 0) return [...args];
  for (let i = verb + 1; i < args.length; i++) {
    const a = args[i] as string;
    if (a === '--') return [...args];
    if (EXEC_VALUE_OPTIONS.has(a)) i++;
    else if (!a.startsWith('-') || a === '-') {
      return args[i + 1] === '--' ? [...args] : [...args.slice(0, i + 1), '--', ...args.slice(i + 1)];
    }
  }
  return [...args];
}
