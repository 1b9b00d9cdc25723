// One invalid input per case, each asserting the file, line, column and message of the problem it
// must produce. The base document is valid; each case changes one thing (kubelet-style table).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadSpecs } from '../helpers/spec.js';

const BASE = 'command: [node, server.js]\n';
const BOMB = [
  'a: &a [x, x, x, x, x, x, x, x, x]',
  'b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]',
  'c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]',
  'd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]',
  'e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]',
  'f: [*e, *e, *e, *e, *e, *e, *e, *e, *e]',
].join('\n');

interface Case {
  files: Record<string, string>;
  /** `file:line:col: message` lines that must all be reported. */
  expect: string[];
  maxReplicas?: number;
}

const web = (extra: string): Record<string, string> => ({ 'web.yaml': BASE + extra });

const cases: Record<string, Case> = {
  'replicas written as a word': { files: web('replicas: "three"\n'), expect: ['web.yaml:2:11: replicas must be an integer >= 0, got "three"'] },
  'negative replicas': { files: web('replicas: -1\n'), expect: ['web.yaml:2:11: replicas must be an integer >= 0, got -1'] },
  'fractional replicas': { files: web('replicas: 1.5\n'), expect: ['web.yaml:2:11: replicas must be an integer >= 0, got 1.5'] },
  // No fixed cap: the default bound is what the machine allows (pid_max is at most 4,194,304).
  'replicas above what the machine allows': { files: web('replicas: 5000000\n'), expect: [/^web\.yaml:2:11: replicas must be at most \d+ on this machine, got 5000000: each replica is a process and the kernel's pid_max is \d+ \(\/proc\/sys\/kernel\/pid_max\), less 300 kept for other processes$/.source] },
  'replicas above a configured cap': { files: web('replicas: 6\n'), maxReplicas: 5, expect: ['web.yaml:2:11: replicas must be at most 5, got 6'] },
  'a misspelt key gets a suggestion': { files: web('restrat: always\n'), expect: ['web.yaml:2:1: unknown key "restrat", did you mean "restart"?'] },
  'a camelCase key gets the snake_case suggestion': { files: web('stopSignal: SIGINT\n'), expect: ['web.yaml:2:1: unknown key "stopSignal", did you mean "stop_signal"?'] },
  'an unknown key far from any lists the keys': {
    files: web('frobnicate: 1\n'),
    expect: ['web.yaml:2:1: unknown key "frobnicate" (expected one of: name, command, cwd, env, env_file, replicas, ports, depends_on, readiness, liveness, restart, backoff, max_restarts, restart_window, stop_signal, stop_timeout, stop_escaped, oneshot, update, limits, logs, user, labels, on, alerts, notify, watchdog, events, metadata)'],
  },
  'readiness notify: false (a constant, said as what it must be)': { files: web('readiness: { notify: false }\n'), expect: ['web.yaml:2:22: readiness.notify must be true, got false'] },
  'a typed event name with a space': { files: web('events:\n  "bad name!": {}\n'), expect: ['web.yaml:3:3: key "bad name!" in events must be an event name (letters, digits, "_", ".", ":" and "-", starting with a letter or digit, at most 64 characters)'] },
  'a misspelt nested key': { files: web('backoff: { inital: 1s }\n'), expect: ['web.yaml:2:12: unknown key "inital" in backoff, did you mean "initial"?'] },
  'no command': { files: { 'web.yaml': 'replicas: 2\n' }, expect: ['web.yaml:1:1: a service needs a "command" key'] },
  'an empty string command': { files: { 'web.yaml': 'command: ""\n' }, expect: ['web.yaml:1:10: command must not be empty'] },
  'a blank string command': { files: { 'web.yaml': 'command: "   "\n' }, expect: ['web.yaml:1:10: command must not be empty'] },
  'an empty list command': { files: { 'web.yaml': 'command: []\n' }, expect: ['web.yaml:1:10: command must not be empty'] },
  'an empty program': { files: { 'web.yaml': 'command: ["", x]\n' }, expect: ['web.yaml:1:11: command[0] (the program) must not be empty'] },
  'a number as command': { files: { 'web.yaml': 'command: 5\n' }, expect: ['web.yaml:1:10: command must be a string (run by /bin/sh -c) or a list of strings (argv), got 5'] },
  'a number inside the argv': { files: { 'web.yaml': 'command: [node, 5]\n' }, expect: ['web.yaml:1:17: command[1] must be a string, got 5'] },
  'an unclosed ${ in the command': { files: { 'web.yaml': 'command: "node ${ENTRY"\n' }, expect: ['web.yaml:1:10: command: "${ENTRY" at offset 5 is not closed with "}" (write $$ for a literal $)'] },
  'an empty cwd': { files: web('cwd: ""\n'), expect: ['web.yaml:2:6: cwd must not be empty'] },
  'an invalid env name': { files: web('env:\n  1B: x\n'), expect: ['web.yaml:3:3: key "1B" in env must be a variable name (letters, digits and "_", not starting with a digit)'] },
  'a list as env value': { files: web('env:\n  A: [1]\n'), expect: ['web.yaml:3:6: env.A must be a string, number or boolean, got a list'] },
  'a bad template in env': { files: web('env:\n  A: "${}"\n'), expect: ['web.yaml:3:6: env.A: "${" at offset 0 must be followed by a variable name (write $$ for a literal $)'] },
  'env setting a port variable': { files: web('ports: { PORT: 8080 }\nenv:\n  PORT: "1"\n'), expect: ['web.yaml:4:3: env.PORT is also in ports, which sets it per replica; keep one of them'] },
  'env setting a TEND_ variable': { files: web('env:\n  TEND_REPLICA: "1"\n'), expect: ['web.yaml:3:3: env.TEND_REPLICA: names starting with TEND_ are set by tend'] },
  'a missing env_file': { files: web('env_file: missing.env\n'), expect: [/^web\.yaml:2:11: env_file "missing\.env" does not exist \(looked for \/.*missing\.env\)$/.source] },
  'a missing env_file in a list': { files: { ...web('env_file: [a.env, b.env]\n'), 'a.env': 'A=1\n' }, expect: [/^web\.yaml:2:19: env_file "b\.env" does not exist/.source] },
  'a line that is not KEY=VALUE in an env_file': { files: { ...web('env_file: app.env\n'), 'app.env': 'A=1\ngarbage\n' }, expect: ['app.env:2:1: env_file: expected KEY=VALUE, got "garbage"'] },
  'an unterminated quote in an env_file': { files: { ...web('env_file: app.env\n'), 'app.env': 'A="open\n' }, expect: ['app.env:1:3: env_file: unterminated quote in the value of A'] },
  'a port above 65535': { files: web('ports: { PORT: 70000 }\n'), expect: ['web.yaml:2:16: ports.PORT must be a port number from 1 to 65535, got 70000'] },
  'port 0': { files: web('ports: { PORT: 0 }\n'), expect: ['web.yaml:2:16: ports.PORT must be a port number from 1 to 65535, got 0'] },
  'the last replica above 65535': { files: web('replicas: 2\nports: { PORT: 65535 }\n'), expect: ['web.yaml:3:16: ports.PORT: replica 1 would get port 65536, above 65535 (base 65535 + 2 replicas)'] },
  'an invalid port variable name': { files: web('ports: { port-x: 1 }\n'), expect: ['web.yaml:2:10: key "port-x" in ports must be a variable name (letters, digits and "_", not starting with a digit)'] },
  'port ranges that overlap across replicas': { files: web('replicas: 2\nports: { A: 8080, B: 8081 }\n'), expect: ['web.yaml:3:22: ports.B (8081-8082) overlaps ports.A (8080-8081) over 2 replicas'] },
  'an unknown condition': { files: { ...web('depends_on: { db: ready }\n'), 'db.yaml': BASE }, expect: ['web.yaml:2:19: depends_on.db must be one of "started", "healthy", "completed", got "ready"'] },
  'an invalid name in a depends_on list': { files: web('depends_on: [DB]\n'), expect: ['web.yaml:2:14: depends_on[0] must be a name of lowercase letters, digits, "-" and "_" that starts with a letter or digit (at most 63 characters), got "DB"'] },
  'a dependency listed twice': { files: { ...web('depends_on: [db, db]\n'), 'db.yaml': BASE }, expect: ['web.yaml:2:13: depends_on lists "db" twice'] },
  'depends_on as a number': { files: web('depends_on: 5\n'), expect: ['web.yaml:2:13: depends_on must be a list of service names or a mapping of service name to condition, got 5'] },
  'an unknown dependency': { files: web('depends_on: [ghost]\n'), expect: ['web.yaml:2:14: depends on "ghost", which is not defined'] },
  'a misspelt dependency gets a suggestion': { files: { ...web('depends_on:\n  dbb: healthy\n'), 'db.yaml': BASE }, expect: ['web.yaml:3:3: depends on "dbb", which is not defined, did you mean "db"?'] },
  'a dependency on itself': { files: web('depends_on: [web]\n'), expect: ['web.yaml:2:14: "web" depends on itself'] },
  'a two-service cycle, reported on both files': {
    files: { 'a.yaml': `${BASE}depends_on: [b]\n`, 'b.yaml': `${BASE}depends_on: [a]\n` },
    expect: ['a.yaml:2:14: dependency cycle: a → b → a', 'b.yaml:2:14: dependency cycle: b → a → b'],
  },
  'a three-service cycle names the whole path': {
    files: { 'a.yaml': `${BASE}depends_on: [b]\n`, 'b.yaml': `${BASE}depends_on: { c: healthy }\n`, 'c.yaml': `${BASE}depends_on: [a]\n` },
    expect: ['a.yaml:2:14: dependency cycle: a → b → c → a', 'b.yaml:2:15: dependency cycle: b → c → a → b', 'c.yaml:2:14: dependency cycle: c → a → b → c'],
  },
  'a completed condition on a service that is not a oneshot': {
    files: { ...web('depends_on: { db: completed }\n'), 'db.yaml': BASE },
    expect: ['web.yaml:2:15: waits for "db" to be completed, but db is not a oneshot (use started or healthy, or set oneshot: true on db)'],
  },
  'a dependency whose file is broken': {
    files: { ...web('depends_on: [db]\n'), 'db.yaml': 'command: [\n' },
    expect: ['web.yaml:2:14: depends on "db", which is not loaded because db.yaml has errors'],
  },
  'a probe without a check': { files: web('readiness:\n  interval: 1s\n'), expect: ['web.yaml:2:1: readiness needs one of exec, http or tcp'] },
  'a probe with two checks': { files: web('liveness:\n  exec: [true]\n  tcp: { port: 80 }\n'), expect: ['web.yaml:2:1: liveness must have only one of exec, http or tcp, got exec and tcp'] },
  'an http probe URL that is not http': { files: web('readiness:\n  http: { url: "ftp://x" }\n'), expect: ['web.yaml:3:16: readiness.http.url must be an http:// or https:// URL, got "ftp://x"'] },
  'an http probe without a URL': { files: web('readiness:\n  http: {}\n'), expect: ['web.yaml:3:3: readiness.http needs a "url" key'] },
  'a tcp probe port that is a word': { files: web('readiness:\n  tcp: { port: http }\n'), expect: ['web.yaml:3:16: readiness.tcp.port must be a port number or a ${VAR} such as ${PORT}, got "http"'] },
  'a tcp probe port out of range': { files: web('readiness:\n  tcp: { port: 99999 }\n'), expect: ['web.yaml:3:16: readiness.tcp.port must be a port number from 1 to 65535 or a ${VAR} such as ${PORT}, got 99999'] },
  'a probe interval that is not a duration': { files: web('readiness:\n  exec: [true]\n  interval: 2x\n'), expect: ['web.yaml:4:13: readiness.interval must be a duration like 150ms, 2s, 5m, 1h30m or a number of milliseconds, got "2x"'] },
  'a probe interval of 0': { files: web('readiness:\n  exec: [true]\n  interval: 0\n'), expect: ['web.yaml:4:13: readiness.interval must be longer than 0, got 0'] },
  'a failure threshold of 0': { files: web('liveness:\n  exec: [true]\n  failure_threshold: 0\n'), expect: ['web.yaml:4:22: liveness.failure_threshold must be an integer >= 1, got 0'] },
  'an empty exec probe': { files: web('liveness:\n  exec: []\n'), expect: ['web.yaml:3:9: liveness.exec must not be empty'] },
  'an unknown restart policy': { files: web('restart: sometimes\n'), expect: ['web.yaml:2:10: restart must be one of "always", "on-failure", "never", got "sometimes"'] },
  'restart always on a oneshot': { files: web('oneshot: true\nrestart: always\n'), expect: ['web.yaml:3:10: restart: always does not fit a oneshot (it would run again each time it completes); use on-failure or never'] },
  'oneshot as a word': { files: web('oneshot: "yes"\n'), expect: ['web.yaml:2:10: oneshot must be true or false, got "yes"'] },
  'a backoff factor below 1': { files: web('backoff: { factor: 0.5 }\n'), expect: ['web.yaml:2:20: backoff.factor must be a number >= 1, got 0.5'] },
  'a backoff max shorter than initial': { files: web('backoff: { initial: 10s, max: 1s }\n'), expect: ['web.yaml:2:31: backoff.max (1s) must not be shorter than backoff.initial (10s)'] },
  'negative max_restarts': { files: web('max_restarts: -1\n'), expect: ['web.yaml:2:15: max_restarts must be an integer >= 0, got -1'] },
  'a restart window in words': { files: web('restart_window: 5 minutes\n'), expect: ['web.yaml:2:17: restart_window must be a duration like 150ms, 2s, 5m, 1h30m or a number of milliseconds, got "5 minutes"'] },
  'a misspelt signal gets a suggestion': { files: web('stop_signal: SIGTREM\n'), expect: ['web.yaml:2:14: stop_signal must be a signal name such as SIGTERM, got "SIGTREM", did you mean "SIGTERM"?'] },
  'a lowercase signal': { files: web('stop_signal: sigterm\n'), expect: ['web.yaml:2:14: stop_signal must be a signal name such as SIGTERM, got "sigterm"'] },
  'a stop signal that does not stop': { files: web('stop_signal: SIGSTOP\n'), expect: ['web.yaml:2:14: stop_signal SIGSTOP does not stop a process; use SIGTERM, SIGINT, SIGQUIT or SIGKILL'] },
  'a negative stop timeout': { files: web('stop_timeout: -1\n'), expect: ['web.yaml:2:15: stop_timeout must be a duration like 150ms, 2s, 5m, 1h30m or a number of milliseconds, got -1'] },
  'an unknown update strategy': { files: web('update: { strategy: blue-green }\n'), expect: ['web.yaml:2:21: update.strategy must be one of "rolling", "recreate", got "blue-green"'] },
  'a rolling update that could never progress': { files: web('update: { max_unavailable: 0, max_surge: 0 }\n'), expect: ['web.yaml:2:9: update.max_unavailable and update.max_surge are both 0, so a rolling update could never replace a replica; set one of them to 1 or more'] },
  'a memory limit that is not a size': { files: web('limits: { memory: lots }\n'), expect: ['web.yaml:2:19: limits.memory must be a size like 512Mi, 10M, 1Gi or a number of bytes, got "lots"'] },
  'a negative cpu limit': { files: web('limits: { cpu_percent: -5 }\n'), expect: ['web.yaml:2:24: limits.cpu_percent must be a number >= 0, got -5'] },
  'a log size of 0': { files: web('logs: { max_size: 0 }\n'), expect: ['web.yaml:2:19: logs.max_size must be larger than 0, got 0'] },
  'a log file count in words': { files: web('logs: { max_files: five }\n'), expect: ['web.yaml:2:20: logs.max_files must be an integer >= 0, got "five"'] },
  'an empty user': { files: web('user: ""\n'), expect: ['web.yaml:2:7: user must not be empty'] },
  'a list as user': { files: web('user: [a]\n'), expect: ['web.yaml:2:7: user must be a string or an integer, got a list'] },
  'a list as label value': { files: web('labels: { team: [a] }\n'), expect: ['web.yaml:2:17: labels.team must be a string, a number or a boolean, got a list'] },
  'an invalid name': { files: web('name: Web\n'), expect: ['web.yaml:2:7: name must be a name of lowercase letters, digits, "-" and "_" that starts with a letter or digit (at most 63 characters), got "Web"'] },
  'a file name that is not a valid service name': {
    files: { 'My Web.yaml': BASE },
    expect: ['My Web.yaml:1:1: the file name "My Web" is not a valid service name (lowercase letters, digits, "-" and "_", starting with a letter or digit); rename the file or set `name:`'],
  },
  'several documents without names': { files: { 'all.yaml': `${BASE}---\n${BASE}` }, expect: ['all.yaml:1:1: this file holds several services, so each needs a `name:`', 'all.yaml:3:1: this file holds several services, so each needs a `name:`'] },
  'the same name twice in one file': { files: { 'all.yaml': `name: a\n${BASE}---\nname: a\n${BASE}` }, expect: ['all.yaml:4:7: service "a" is defined twice in this file'] },
  'the same name in two files is an error on both': {
    files: { 'web.yaml': BASE, 'other.yaml': `name: web\n${BASE}` },
    expect: ['other.yaml:1:7: service "web" is also defined in web.yaml; names must be unique', 'web.yaml:1:1: service "web" is also defined in other.yaml; names must be unique'],
  },
  'YAML that does not parse': { files: { 'web.yaml': 'command: [node,\nreplicas: 2\n' }, expect: [/^web\.yaml:2:1: YAML: /.source] },
  'a duplicate YAML key': { files: web('replicas: 1\nreplicas: 2\n'), expect: ['web.yaml:3:1: YAML: Map keys must be unique'] },
  'tabs as indentation': { files: { 'web.yaml': 'command: x\nenv:\n\tA: 1\n' }, expect: [/^web\.yaml:3:1: YAML: /.source] },
  'an alias bomb is refused': { files: { 'web.yaml': BOMB }, expect: ['web.yaml:1:1: YAML aliases expand to too many nodes (more than 100 per alias): refused'] },
  'an empty file': { files: { 'web.yaml': '' }, expect: ['web.yaml:1:1: the file defines no service (expected a mapping with at least `command:`)'] },
  'a file of comments only': { files: { 'web.yaml': '# todo\n' }, expect: ['web.yaml:1:1: the file defines no service (expected a mapping with at least `command:`)'] },
  'a list instead of a mapping': { files: { 'web.yaml': '- command: x\n' }, expect: ['web.yaml:1:1: a service must be a mapping of keys, got a list'] },
  'a scalar document': { files: { 'web.yaml': 'hello\n' }, expect: ['web.yaml:1:1: a service must be a mapping of keys, got "hello"'] },
};

test('at least 40 invalid inputs are covered', () => {
  assert.ok(Object.keys(cases).length >= 40, `only ${Object.keys(cases).length} cases`);
});

for (const [name, c] of Object.entries(cases)) {
  test(`invalid: ${name}`, async (t) => {
    const { problems, result } = await loadSpecs(t, c.files, c.maxReplicas === undefined ? {} : { maxReplicas: c.maxReplicas });
    for (const want of c.expect) {
      const isPattern = want.startsWith('^');
      const found = problems.some((p) => (isPattern ? new RegExp(want).test(p) : p === want));
      assert.ok(found, `expected ${want}\n got:\n  ${problems.join('\n  ')}`);
    }
    // A file with a problem of its own contributes no service; graph problems leave services in place.
    for (const p of result.problems) {
      if (/^(depends on |"[^"]+" depends on itself|dependency cycle|waits for )/.test(p.message)) continue;
      if (result.files.has(p.file)) assert.deepEqual(result.files.get(p.file), [], `${p.file} still defines services`);
    }
  });
}

test('every problem in a file is reported, not only the first', async (t) => {
  const { problems } = await loadSpecs(t, web('replicas: -1\nrestart: sometimes\nstop_signal: NOPE\nlogs: { max_size: big }\n'));
  assert.deepEqual(problems.map((p) => p.split(': ')[0]), ['web.yaml:2:11', 'web.yaml:3:10', 'web.yaml:4:14', 'web.yaml:5:19']);
});

test('a file over 1 MiB is refused by its size, before parsing', async (t) => {
  const big = `${BASE}# ${'x'.repeat(1024 * 1024)}\n`;
  const { problems, result } = await loadSpecs(t, { 'web.yaml': big });
  assert.equal(result.problems[0]?.code, 'SPEC_TOO_LARGE');
  assert.match(problems[0]!, /^web\.yaml:1:1: file is \d+ bytes, more than the 1048576 allowed: refused$/);
});
