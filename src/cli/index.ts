#!/usr/bin/env node
// The `tend` command line: parses arguments with commander, runs one verb, and turns its outcome
// or error into an exit code. The only code that calls process.exit.

import './launcher-env.js'; // first: before any module reads the environment
import { createRequire } from 'node:module';
import { Command, CommanderError, Option } from 'commander';
import { TendError } from '../errors.js';
import { describeSearch, makeCli, STATE_DIR_NAME, type Cli } from './context.js';
import type { ReplicaVerb } from './control.js';
import { EXIT, exitCodeOf } from './exit-codes.js';
import { drainLogs } from '../log/drain.js';
import { flushed, paint, termOf } from './term.js';
import { ALIASES, execArgs, verbOf, type VERBS } from './verbs.js';

// Each verb's module is loaded when it runs: `tend status` need not load the YAML loader, ajv or
// the daemon (measured: the eager graph made `tend --version` take ~200 ms).

const { version } = createRequire(import.meta.url)('../../package.json') as { version: string };

const EXIT_CODES_HELP = `
Exit codes: 0 ok, 1 failure, 2 plan has changes (--exit-code), 3 no daemon, 4 no such service,
5 bad usage, 6 a daemon already runs, 70 internal error.`;

/**
 * Builds the program; `run` records each verb's exit code. With `only`, the one verb the command
 * line runs is declared and the others are not: declaring all of them took commander ~2 ms, on
 * the way to a daemon's first replica (bench/FINDINGS.md §16). Help and usage errors are the
 * same either way (commander's help for a verb names no other).
 */
function buildProgram(cli: Cli, run: (action: () => Promise<number> | number) => Promise<void>, only?: string): Command {
  const program = new Command('tend')
    .description('A declarative process supervisor: keeps running processes equal to services.d/*.yaml.')
    .version(version)
    .option('--state-dir <dir>', 'state directory: socket, pid file, logs (env TEND_STATE_DIR; default: the nearest .tend/ here or in a parent directory, else ./.tend)')
    .option(
      '--client-timeout <duration>',
      'how long to wait for the daemon to answer a request, e.g. 5s; 0s waits for ever; streams (-f) only until connected (env TEND_CLIENT_TIMEOUT, default 30s)',
    )
    .exitOverride()
    .addHelpText(
      'after',
      `
Examples:
  tend up -d --wait            start a daemon for ./services.d and wait until it converged
  tend status                  what runs, and spec errors
  tend logs web -f             follow the output of every web replica
  tend scale web=3             set replicas: 3 in web's file; the daemon converges
  tend plan --exit-code        what applying ./services.d would change (exit 2 if anything)
  tend down                    stop everything, then the daemon
  tend --client-timeout 5s status   give up (exit 3) if the daemon does not answer within 5 s
${EXIT_CODES_HELP}`,
    );

  const verb = (name: (typeof VERBS)[number]): Command | undefined => (only === undefined || only === name ? program.command(name).aliases(ALIASES[name] ?? []) : undefined);

  verb('up')
    ?.description('supervise DIR (default ./services.d) in the foreground, or detached with -d')
    .argument('[dir]', 'the services directory', 'services.d')
    .option('-d, --detach', 'run the daemon in the background (its log goes to tend.log in the state directory)')
    .option('--wait', 'with -d: return once everything converged; exit 1 if it cannot')
    .option('--timeout <duration>', 'how long -d waits for the daemon, and --wait for convergence', '60s')
    .option('--settle <duration>', 'quiet period after a file change before reading the directory')
    .option('--no-adopt', 'stop replicas left running by an earlier daemon instead of adopting them')
    .option('--wait-for-dir', 'start even when DIR does not exist yet, and load it when it appears')
    .option('--log-level <level>', 'daemon log level: debug, info, warn, error')
    .option('--max-replicas <n>', 'the largest replicas a service may ask for (default: what this machine allows; see docs/spec.md)')
    .option('--http <host:port>', 'also serve the control API and the dashboard over TCP (bearer token; see tend dashboard)')
    .option('--http-allow-remote', 'with --http: allow a non-loopback address (anyone who reaches it may try the token)')
    .addOption(new Option('--detached-child').hideHelp())
    .addHelpText(
      'after',
      `
Examples:
  tend up                          run in this terminal until Ctrl-C (which stops every service)
  tend up -d --wait --timeout 2m   start detached; exit 0 once converged, 1 on failure or timeout
  tend up releases/current -d      supervise another directory (a symlink is followed on every pass)
  tend up -d --http 127.0.0.1:7070 with the dashboard; \`tend dashboard\` opens it`,
    )
    .action((dir: string, opts) => run(async () => (await import('./up.js')).upCommand(cli, dir, opts)));

  verb('down')
    ?.description('stop every service in reverse dependency order, then the daemon')
    .option('--timeout <duration>', 'how long to wait for the daemon to exit', '2m')
    .addHelpText('after', '\nExample:\n  tend down && tend up -d    restart the daemon and every service')
    .action((opts) => run(async () => (await import('./down.js')).downCommand(cli, opts)));

  verb('status')
    ?.description('services (READY n/m, state, restarts, cpu, mem, age) and spec errors; or one service\'s replicas')
    .argument('[service]', 'show this service\'s replicas')
    .option('-o, --output <format>', 'json or table')
    .option('-w, --watch', 'refresh every second')
    .option('-l, --label <key=value>', 'only services with this label (repeatable; KEY alone: has the label)', (v: string, acc: string[] = []) => [...acc, v])
    .addHelpText('after', '\nExamples:\n  tend status\n  tend status web -w\n  tend status -l tier=web\n  tend status -o json | jq .converged\n\nColumns shown when any service has them: PORTS (first-last per service), STATUS (the text replicas report, when any does), LABELS.')
    .action((service: string | undefined, opts) => run(async () => (await import('./status.js')).statusCommand(cli, service, opts)));

  verb('top')
    ?.description('a live, sortable view of every replica\'s CPU, memory and restarts (on a terminal; else one snapshot)')
    .option('-s, --sort <key>', 'cpu, mem, restarts or name (keys c m r n while it runs)', 'cpu')
    .option('--interval <duration>', 'refresh period', '1s')
    .addHelpText('after', '\nExamples:\n  tend top\n  tend top -s mem\n  tend top | head -5          (not a terminal: one sorted snapshot)\n\nKeys: c cpu, m memory, r restarts, n name; q, Esc or Ctrl-C quits.')
    .action((opts) => run(async () => (await import('./top.js')).topCommand(cli, opts)));

  verb('logs')
    ?.description('replicas\' output, each line prefixed `svc/n |`; every service, in time order, when none is named')
    .argument('[targets...]', 'SERVICE or SERVICE/INDEX (default: every service)')
    .option('-f, --follow', 'keep printing new lines (across log rotation, and replicas that start later)')
    .option('-n, --lines <count>', 'only the last COUNT lines of each replica')
    .addOption(new Option('--tail <count>', 'as -n (docker compose\'s name)').hideHelp())
    .option('-t, --timestamps', 'show when each line was written (UTC, to within 0.1 s; see docs/logs.md)')
    .option('--since <time>', 'lines written since a time (2026-11-30T19:00:00Z, "2026-11-30 19:00", 19:00) or a duration ago (10m, 2h, 1d)')
    .option('--until <time>', 'lines written before a time or a duration ago')
    .option('--no-prefix', 'each line as the replica wrote it: no `svc/n |`, no run separators (for jq, grep)')
    .addOption(new Option('--no-log-prefix', 'as --no-prefix (docker compose\'s name)').hideHelp())
    .addHelpText(
      'after',
      '\nExamples:\n  tend logs                      every service, interleaved in time order\n  tend logs web -n 20\n  tend logs web/1 -f\n  tend logs api worker --since 10m -t\n  tend logs api --no-prefix | jq -c \'select(.level >= 50)\'\n\nA line `──── new run, started … ────` marks a restart of the replica (or a re-run job).',
    )
    .action((targets: string[], opts) => run(async () => (await import('./logs.js')).logsCommand(cli, targets, opts)));

  verb('scale')
    ?.description('set replicas in the file that defines each service (comments and layout kept)')
    .argument('<assignments...>', 'SERVICE=COUNT')
    .option('--dir <dir>', 'the services directory (default: the running daemon\'s, else ./services.d)')
    .option('--commit', 'when git tracks the file, commit just that file ("tend scale: web: replicas 2 → 5")')
    .option('--wait', 'return once the daemon runs each service at its new count, ready; exit 1 if not')
    .option('--timeout <duration>', 'how long --wait waits', '60s')
    .addHelpText(
      'after',
      '\nExamples:\n  tend scale web=5\n  tend scale web=2 worker=0 --dir services.d\n  tend scale web=5 --commit --wait\n\nIn a git checkout the edit leaves the work tree dirty (a warning says so): the repository is the\ntruth, so commit it (--commit) or the next git pull of the deploy may abort. See docs/gitops.md.',
    )
    .action((assignments: string[], opts) => run(async () => (await import('./scale.js')).scaleCommand(cli, assignments, opts)));

  const replicaVerbs: [ReplicaVerb, string, string][] = [
    ['restart', 'restart replicas by the update strategy; resets crash-loop counters', 'tend restart web      tend restart web/2'],
    ['pause', 'stop replicas with SIGSTOP until resumed', 'tend pause worker'],
    ['resume', 'continue paused replicas with SIGCONT', 'tend resume worker/0'],
    ['stop', 'stop a service and hold it stopped (like `docker compose stop`; files unchanged, kept across restarts of tend)', 'tend stop worker'],
    ['start', 'lift the hold of `tend stop`: the service runs as its file says again', 'tend start worker'],
  ];
  for (const [name, description, example] of replicaVerbs) {
    const cmd = verb(name)
      ?.description(description)
      .argument('[targets...]', 'SERVICE or SERVICE/INDEX (default: every service, as docker compose does)');
    if (cmd === undefined) continue;
    const waits = name === 'restart' || name === 'start' || name === 'stop';
    if (waits) {
      cmd
        .option('--wait', name === 'stop' ? 'return once every replica of it has exited; exit 1 if not' : `return once every ${name === 'restart' ? 'restarted' : 'started'} replica runs and is ready; exit 1 if not`)
        .option('--timeout <duration>', 'how long --wait waits', '60s');
    }
    cmd
      .addHelpText('after', `\nExample:\n  ${example}${waits ? `\n  tend ${name} api --wait --timeout 2m` : ''}`)
      .action((targets: string[], opts: { wait?: boolean; timeout?: string }) =>
        run(async () => (await import('./control.js')).replicaCommand(cli, name, targets, undefined, opts)),
      );
  }

  verb('kill')
    ?.description('send a signal to replicas')
    .argument('[targets...]', 'SERVICE or SERVICE/INDEX (default: every service that has a process)')
    .option('-s, --signal <signal>', 'signal name or number', 'SIGTERM')
    .addHelpText('after', '\nExamples:\n  tend kill web -s HUP        reload every web replica\n  tend kill worker/3 -s KILL')
    .action((targets: string[], opts: { signal: string }) => run(async () => (await import('./control.js')).replicaCommand(cli, 'kill', targets, opts.signal)));

  verb('validate')
    ?.description('check spec files; exit 0 when valid, else `path:line:col: message` lines and exit 1')
    .argument('[paths...]', 'directories or files (default ./services.d)')
    .option('-o, --output <format>', 'json or table')
    .option('--max-replicas <n>', 'the largest replicas a service may ask for (default: what this machine allows, see docs/spec.md)')
    .addHelpText('after', '\nExamples:\n  tend validate\n  tend validate services.d/web.yaml -o json\n  tend validate --max-replicas 5000')
    .action((paths: string[], opts: { output?: string; maxReplicas?: string }) =>
      run(async () => {
        const max = opts.maxReplicas === undefined ? undefined : Number(opts.maxReplicas);
        if (max !== undefined && !(Number.isInteger(max) && max >= 0)) {
          throw new TendError('API_BAD_REQUEST', `--max-replicas must be a whole number >= 0, got "${opts.maxReplicas}"`);
        }
        const { validateCommand } = await import('./validate.js');
        return validateCommand(paths, { json: opts.output === 'json', ...(max === undefined ? {} : { maxReplicas: max }) }, process.stdout);
      }),
    );

  verb('plan')
    ?.description('what applying DIR would do to what runs now (to nothing when no daemon runs)')
    .argument('[dir]', 'the services directory', 'services.d')
    .option('--exit-code', 'exit 2 when there are changes (for CI)')
    .option('--switch', 'compare as if the daemon were pointed at DIR (a release switch: its location counts)')
    .option('-o, --output <format>', 'json or table')
    .addHelpText(
      'after',
      '\nExamples:\n  tend plan\n  tend plan ../checkout/services.d --exit-code     a copy, worktree or CI checkout: contents compared\n  tend plan releases/43/services.d --switch         what pointing the daemon there would do\n\nLines: + start, - stop, ~ replace or update, = scale, ! problem.',
    )
    .action((dir: string, opts) => run(async () => (await import('./plan.js')).planCommand(cli, dir, opts)));

  verb('export')
    ?.description('convert DIR (default ./services.d) into a Nomad job or Kubernetes manifests, with a report of every field')
    .argument('<target>', 'nomad or k8s')
    .argument('[dir]', 'the services directory', 'services.d')
    .option('-o, --output <path>', 'write to a file, or to a directory (existing, or ending in /) one file per job or object; default stdout')
    .option('--strict', 'exit 1 and write nothing when any field is dropped')
    .option('--report <format>', 'the conversion report on stderr: table, json or none', 'table')
    .option('--driver <driver>', 'nomad: the task driver, raw_exec or exec (default raw_exec)')
    .option('--job <id>', 'nomad: the job ID (default: the name of the directory holding services.d)')
    .option('--ports <mode>', 'nomad: dynamic (Nomad picks each port; checks work) or index (base + NOMAD_ALLOC_INDEX, as tend numbers them)')
    .option('--image <service=image>', 'k8s: the image of a service; one per service, repeatable', (v: string, prev: string[] = []) => [...prev, v])
    .option('--namespace <ns>', 'k8s: metadata.namespace of every object')
    .option('--wait-image <image>', 'k8s: image of the init containers that wait for dependencies (needs sh and nc)')
    .addHelpText(
      'after',
      `
Examples:
  tend export nomad > job.json && nomad job plan -json job.json
  tend export nomad services.d --driver exec --job shop -o jobs/
  tend export nomad --ports index  keep tend's port numbers (base + replica index)
  tend export k8s --image api=registry.example/api:1.4 --image db=postgres:16 -o k8s/
  tend export k8s --image api=api:dev --report json 2>report.json | kubectl apply --dry-run=server -f -
  tend export nomad --strict       fail (exit 1, nothing written) when a field cannot be expressed

The report lists every field of every service as converted, approximated (how) or dropped (why);
docs/export.md has the whole conversion matrix.`,
    )
    .action((target: string, dir: string, opts) => run(async () => (await import('./export.js')).exportCommand(cli, target, dir, opts)));

  verb('import')
    ?.description('convert a Procfile, process-compose.yaml, supervisord .conf, PM2 ecosystem file or zinit services into spec files')
    .argument('<sources...>', 'files (or a directory of zinit service files) to convert')
    .option('--from <format>', 'the source format: process-compose, supervisord, pm2, procfile, zinit (default: detected)')
    .option('-o, --output <dir>', 'where the spec files go', 'services.d')
    .option('--dry-run', 'write nothing; print the files that would be written')
    .option('--force', 'replace spec files that already exist')
    .option('--strict', 'exit 1, writing nothing, when any source field is dropped')
    .option('--report <format>', 'the conversion report: table (stderr, default) or json (stdout)')
    .option('--env <name>', 'PM2: apply the env_<name> block, as pm2 start --env <name> does')
    .addHelpText(
      'after',
      `
Every field of every source entry is reported as converted, approximated (and how) or dropped
(and why). Malformed input is reported as path:line:col: message and nothing is written; an
existing file is never replaced without --force. docs/import.md has each format's mapping table.

Examples:
  tend import Procfile                           foreman / honcho processes, with .env beside it
  tend import process-compose.yaml --dry-run     print the spec files instead of writing them
  tend import /etc/supervisor/supervisord.conf -o services.d --strict
  tend import ecosystem.json --env production    a PM2 ecosystem file (JSON or YAML)
  tend import /etc/zinit --report json           a directory of zinit service files; JSON report
  node -e 'console.log(JSON.stringify(require("./ecosystem.config.js")))' > ecosystem.json
                                                 turn a .js PM2 ecosystem into JSON first`,
    )
    .action((sources: string[], opts) => run(async () => (await import('./import.js')).importCommand(cli, sources, opts)));

  verb('events')
    ?.description('the event history, or with -f the live stream')
    .option('-f, --follow', 'keep printing events as they happen')
    .option('-n, --lines <count>', 'how many past events (default 1000; 0: none, only live ones with -f)')
    .option('--since <id>', 'only events after this event id (every event has one; ids continue across restarts)')
    .option('-o, --output <format>', 'json (one event per line) or table')
    .addHelpText('after', '\nExamples:\n  tend events -n 20\n  tend events --since 1200 -o json\n  tend events -f -o json | jq -c \'select(.type == "replica.failed")\'')
    .action((opts) => run(async () => (await import('./events.js')).eventsCommand(cli, opts)));

  verb('history')
    ?.description('a service\'s health history: restarts, exits with codes, probe verdicts, alerts (from events.jsonl)')
    .argument('<target>', 'SERVICE or SERVICE/INDEX')
    .option('--since <when>', 'how far back: a duration (30m, 1h, 168h) or an ISO time', '24h')
    .option('-o, --output <format>', 'json or table')
    .addHelpText(
      'after',
      '\nExamples:\n  tend history web\n  tend history web/2 --since 1h\n  tend history web -o json | jq \'.events[] | select(.type == "replica.exited") | .exit_code\'\n\nReads the state directory\'s events.jsonl (and events.jsonl.1), so it works after tend has stopped.',
    )
    .action((target: string, opts) => run(async () => (await import('./history.js')).historyCommand(cli, target, opts)));

  verb('startup')
    ?.description('print (or --install) a systemd unit that runs `tend up DIR` at boot, as `pm2 startup` does')
    .argument('[dir]', 'the services directory', 'services.d')
    .option('--user', 'a unit of your own systemd (systemctl --user), not a system one')
    .option('--name <name>', 'the unit\'s name (default: tend-<this directory\'s name>)')
    .option('--install', 'write it to /etc/systemd/system (with --user: ~/.config/systemd/user) instead of printing it')
    .addHelpText(
      'after',
      `
The unit names every path absolutely, puts the directory of the node running this command first on
PATH (systemd's own has no node installed by nvm or under /opt), runs tend as the user who asked
(through sudo: who ran sudo), and gives systemd as long to stop it as tend's dependents-first stop
can take. tend runs no systemctl itself: the next steps are printed.

Examples:
  tend startup | sudo tee /etc/systemd/system/tend-app.service
  sudo tend startup --install && sudo systemctl enable --now tend-app
  tend startup --user --install && systemctl --user enable --now tend-app`,
    )
    .action((dir: string, opts) => run(async () => (await import('./startup.js')).startupCommand(cli, dir, opts)));

  verb('dashboard')
    ?.description('print the URL of the web dashboard (with its token) and open it in a browser when one is available')
    .option('--no-open', 'only print the URL')
    .addHelpText(
      'after',
      `
The daemon must run with --http. The token travels in the URL's fragment (#token=...), which a
browser never sends to a server; the page keeps it for the tab and removes it from the address bar.

Examples:
  tend up -d --http 127.0.0.1:7070 && tend dashboard
  tend dashboard --no-open         print the URL (for a browser on another machine via ssh -L)`,
    )
    .action((opts: { open: boolean }) => run(async () => (await import('./dashboard.js')).dashboardCommand(cli, opts)));

  // ---- notify (DESIGN §9): from inside a replica ----
  verb('notify')
    ?.description('from inside a replica: tell tend it is ready, its status, a heartbeat or a typed event')
    .option('--ready', 'start-up is done (the readiness signal with readiness: { notify: true })')
    .option('--status <text>', 'a one-line status, shown by tend status')
    .option('--heartbeat', 'still alive (resets the watchdog)')
    .option('--event <name>', 'a typed event declared under events: in the spec')
    .option('--data <json>', "the event's data, checked against its schema")
    .addHelpText(
      'after',
      `
Examples:
  tend notify --status "loading data" && load && tend notify --ready
  tend notify --event progress --data '{"done": 3, "total": 10}'
  while sleep 10; do tend notify --heartbeat; done &

Uses TEND_NOTIFY_SOCKET and TEND_NOTIFY_TOKEN, which tend sets for every replica; outside tend it
exits 3. An event that its schema refuses exits 1 with the schema error.`,
    )
    .action((opts) => run(async () => (await import('./notify.js')).notifyCommand(cli, opts)));
  // ----

  verb('inspect')
    ?.description('the effective spec (defaults, interpolation, env files) and each replica\'s argv, cwd, ports and environment')
    .argument('<target>', 'SERVICE or SERVICE/INDEX')
    .option('--show-secrets', 'show values that look secret (masked as ****** by default)')
    .option('-o, --output <format>', 'json or table')
    .addHelpText(
      'after',
      '\nExamples:\n  tend inspect web\n  tend inspect web/1 -o json | jq .replicas[0].argv\n\nMasked: values of variables whose name has a word such as PASSWORD, SECRET, TOKEN, KEY, AUTH,\nCREDENTIALS or DSN; passwords in URLs (scheme://user:PASSWORD@host); those values inside argv.',
    )
    .action((target: string, opts) => run(async () => (await import('./inspect.js')).inspectCommand(cli, target, opts)));

  verb('exec')
    ?.description('run a command with a replica\'s environment and working directory; exits with its code')
    .argument('<target>', 'SERVICE/INDEX (SERVICE alone: replica 0)')
    .argument('<command...>', 'the command and its arguments, after --')
    .option('-u, --user <user>', 'run as this user (name or uid) instead of the service\'s user: (needs root)')
    .addHelpText('after', '\nExamples:\n  tend exec web/0 -- env\n  tend exec db -- psql "$DATABASE_URL"        (expanded by your shell: quote as needed)\n  tend exec worker/2 -- sh -c \'echo $TEND_REPLICA\'\n  tend exec -u root worker -- id              (the service\'s user: by default, as the replica runs)')
    .action((target: string, command: string[], opts: { user?: string }) => run(async () => (await import('./exec.js')).execCommand(cli, target, command, opts)));

  verb('daemon-log')
    ?.description('the daemon\'s own log (tend.log, JSON lines) rendered for people, with local times')
    .option('-f, --follow', 'keep printing new lines')
    .option('-n, --lines <count>', 'only the last COUNT lines')
    .option('-o, --output <format>', 'json (the lines as stored) or text')
    .addHelpText('after', '\nExamples:\n  tend daemon-log -n 50\n  tend daemon-log -f\n  tend daemon-log -o json | jq -c \'select(.level >= 40)\'')
    .action((opts: { follow?: boolean; lines?: string; output?: string }) =>
      run(async () => {
        const json = parseOutputFormat(opts.output, ['json', 'text']) === 'json';
        return (await import('./daemon-log.js')).daemonLogCommand(cli, { ...opts, json });
      }),
    );

  verb('completion')
    ?.description('print a shell completion script')
    .argument('<shell>', 'bash or zsh')
    .addHelpText('after', '\nExamples:\n  source <(tend completion bash)\n  tend completion zsh > "${fpath[1]}/_tend"')
    .action((shell: string) => run(async () => (await import('./completion.js')).completionCommand(cli, shell)));

  // A usage error is one line, `tend: …`, with the help to read (docs/cli.md); commander's own
  // output is two or three lines starting `error:`.
  for (const cmd of [program, ...program.commands]) {
    const where = cmd === program ? 'tend --help' : `tend ${cmd.name()} --help`;
    cmd.configureOutput({ outputError: (text, write) => write(usageLine(text, where)) });
  }
  return program;
}

/** `error: unknown option '--bogus'\n(Did you mean --bar?)\n` → `tend: unknown option '--bogus' (did you mean --bar?); see tend status --help\n`. */
export function usageLine(text: string, where: string): string {
  const parts = text
    .trim()
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '');
  const head = (parts[0] ?? 'bad usage').replace(/^error: /, '');
  const hint = parts
    .slice(1)
    .map((l) => l.replace(/^\((.*)\)$/, '$1').replace(/^Did you mean/, 'did you mean'))
    .join('; ');
  return `tend: ${head}${hint ? ` (${hint})` : ''}; see ${where}\n`;
}

/** `-o FORMAT` among `allowed` (the first is the default). */
function parseOutputFormat(arg: string | undefined, allowed: string[]): string {
  if (arg === undefined) return allowed[allowed.length - 1] as string;
  if (allowed.includes(arg)) return arg;
  throw new TendError('API_BAD_REQUEST', `expected -o to be ${allowed.join(' or ')}, got "${arg}"`);
}

/** Prints an error the way users and scripts expect: one line on stderr, bugs marked as such. */
function report(cli: Cli, err: unknown): number {
  if (err instanceof CommanderError) {
    // commander has printed its own message (or the help) already.
    return err.exitCode === 0 ? EXIT.OK : EXIT.USAGE;
  }
  if (err instanceof TendError) {
    // A few errors carry the code a shell would give (exec: 127 command not found, 126 not executable).
    const code = typeof err.details['exitCode'] === 'number' ? err.details['exitCode'] : exitCodeOf(err.code);
    const prefix = code === EXIT.INTERNAL ? 'tend: internal error: ' : 'tend: ';
    cli.err.write(paint(cli.err, 'red', prefix + err.message) + '\n');
    const searched = err.code === 'DAEMON_UNREACHABLE' ? cli.searchedIn() : undefined;
    if (searched) cli.err.write(`(no ${STATE_DIR_NAME}/ directory in ${describeSearch(searched)}; use --state-dir or TEND_STATE_DIR to point at one)\n`);
    if (code === EXIT.INTERNAL) cli.err.write('This is a bug in tend; please report it with the command you ran.\n');
    return code;
  }
  const e = err as NodeJS.ErrnoException;
  if (typeof e?.code === 'string' && typeof e.syscall === 'string') {
    // An operating-system error (a file that cannot be read or written): the user's to fix.
    cli.err.write(paint(cli.err, 'red', `tend: ${e.message}`) + '\n');
    return EXIT.FAILURE;
  }
  cli.err.write(paint(cli.err, 'red', `tend: internal error: ${e?.stack ?? String(err)}`) + '\n');
  cli.err.write('This is a bug in tend; please report it with the command you ran.\n');
  return EXIT.INTERNAL;
}

async function main(): Promise<number> {
  let program: Command | undefined;
  const cli = makeCli(
    termOf(process.stdout),
    termOf(process.stderr),
    () => program?.opts<{ stateDir?: string }>().stateDir,
    () => program?.opts<{ clientTimeout?: string }>().clientTimeout,
  );
  let code: number = EXIT.OK;
  program = buildProgram(
    cli,
    async (action) => {
      code = await action();
    },
    verbOf(process.argv.slice(2)),
  );
  try {
    await program.parseAsync([...process.argv.slice(0, 2), ...execArgs(process.argv.slice(2))]);
  } catch (err) {
    return report(cli, err);
  }
  return code;
}

// A reader that goes away (`tend logs -f | head`) is not an error. Output that cannot be written
// (a full disk, `> /dev/full`, a file system gone read-only) is: `ls` says so and exits 2; tend
// exited 0 with the output lost.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(EXIT.OK);
  cannotWrite(err);
});

function cannotWrite(err: NodeJS.ErrnoException): never {
  process.stderr.write(`tend: cannot write the output: ${err.message}\n`);
  process.exit(EXIT.FAILURE);
}

// Exit only once stdout and stderr have been handed to the OS: process.exit drops whatever a pipe
// has not taken yet (a slow `| less`, `| wc -c` got the first 64 KiB of `status -o json`). So for a
// daemon's log, for at most a second (its reader may have stopped reading).
async function exit(code: number): Promise<never> {
  await Promise.all([flushed(process.stdout), flushed(process.stderr), drainLogs(1000)]);
  // A write to a file fails at once, and the stream may be done with it before its error event.
  const failed = (process.stdout as { errored?: NodeJS.ErrnoException | null }).errored;
  if (failed && failed.code !== 'EPIPE') cannotWrite(failed);
  process.exit(code);
}

main().then(exit, (err: unknown) => {
  process.stderr.write(`tend: internal error: ${String(err)}\n`);
  return exit(EXIT.INTERNAL);
});
