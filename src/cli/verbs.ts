// Which verb a command line runs, read before commander parses it, so that the CLI declares only
// that one (src/cli/index.ts).

/** Every verb buildProgram declares (a test holds the two equal). */
export const VERBS = [
  'up', 'down', 'status', 'top', 'logs', 'scale', 'restart', 'pause', 'resume', 'stop', 'start', 'kill', 'validate',
  'plan', 'export', 'import', 'events', 'history', 'dashboard', 'notify', 'inspect', 'exec', 'daemon-log', 'completion',
] as const;

/**
 * The verb a command line runs (`tend --state-dir s up -d` → up), when it names one of VERBS
 * before any option but the two global ones that take a value; otherwise (help, --version, a
 * typo commander suggests a verb for) undefined.
 */
export function verbOf(args: readonly string[]): string | undefined {
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as string;
    if (a === '--state-dir' || a === '--client-timeout') i++;
    else if (a.startsWith('--state-dir=') || a.startsWith('--client-timeout=')) continue;
    else return (VERBS as readonly string[]).includes(a) ? a : undefined;
  }
  return undefined;
}
