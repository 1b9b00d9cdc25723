// The CLI without a daemon: help, validate, scale on a temp directory, plan against nothing,
// completion scripts, and what a client says when no daemon answers.

import assert from 'node:assert/strict';
import { chmodSync, chownSync, closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, statSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { VERBS } from '../../src/cli/verbs.js';
import { ROOT, smallTmpfs, tempDir } from '../helpers/index.js';
import { runCli } from './run-cli.js';

const WEB = `# web tier: keep this comment
command: ["node",   "server.js"]    # flow style, odd spacing
replicas: 2   # scaled by tend scale
env:
  LOG_LEVEL: info
`;
const JOBS = `---
name: worker
command: [node, worker.js]
replicas: 1
---
# the mailer has no replicas key yet
name: mailer
command: [node, mailer.js]
`;

test('--help lists every verb (exactly VERBS, which a command line naming one builds alone) and each verb has examples', async (t) => {
  const dir = tempDir(t);
  const top = await runCli(dir, ['--help']);
  assert.equal(top.code, 0);
  for (const verb of ['up', 'down', 'status', 'top', 'logs', 'inspect', 'exec', 'scale', 'restart', 'pause', 'resume', 'kill', 'stop', 'start', 'validate', 'plan', 'export', 'import', 'events', 'history', 'startup', 'dashboard', 'daemon-log', 'notify', 'completion']) {
    assert.match(top.stdout, new RegExp(`\\n  ${verb}[| ]`), verb);
  }
  const listed = [...(top.stdout.split('Commands:\n')[1]?.split('\n\n')[0] ?? '').matchAll(/^  ([a-z][a-z-]*)[| ]/gm)].map((m) => m[1]).filter((v) => v !== 'help');
  // Other names, as compose and PM2 users type them (commander shows the first).
  assert.match(top.stdout, /\n  status\|ps /);
  assert.match(top.stdout, /\n  top\|monit /);
  assert.match(top.stdout, /\n  inspect\|describe /);
  assert.deepEqual(listed, [...VERBS]);
  assert.match(top.stdout, /Exit codes: 0 ok/);
  const scale = await runCli(dir, ['scale', '--help']);
  assert.equal(scale.code, 0);
  assert.match(scale.stdout, /Examples:\n  tend scale web=5/);
});

test('client commands without a daemon exit 3 and say how to start one', async (t) => {
  const dir = tempDir(t);
  for (const args of [['status'], ['logs', 'web'], ['restart', 'web'], ['events']]) {
    const r = await runCli(dir, args);
    assert.equal(r.code, 3, args.join(' '));
    const [first, second] = r.stderr.split('\n');
    assert.equal(first, 'tend: no tend daemon on .tend/tend.sock — start one with `tend up -d`', args.join(' '));
    // It says where it looked for a state directory: here and every parent up to /.
    assert.match(second ?? '', new RegExp(`^\\(no \\.tend/ directory in ${dir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}, .* and /;`));
  }
});

test('down without a daemon has nothing to stop and exits 0', async (t) => {
  const r = await runCli(tempDir(t), ['down']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, 'nothing to stop: no tend daemon on .tend\n');
});

test('client commands find .tend/ in a parent directory, as git finds .git', async (t) => {
  const dir = tempDir(t);
  mkdirSync(join(dir, '.tend'));
  mkdirSync(join(dir, 'a', 'b'), { recursive: true });
  const r = await runCli(join(dir, 'a', 'b'), ['status']);
  assert.equal(r.code, 3);
  assert.equal(r.stderr, `tend: no tend daemon on ${join(dir, '.tend', 'tend.sock')} — start one with \`tend up -d\`\n`);
  // --state-dir wins over the search.
  const given = await runCli(join(dir, 'a', 'b'), ['--state-dir', 'here', 'status']);
  assert.equal(given.stderr, 'tend: no tend daemon on here/tend.sock — start one with `tend up -d`\n');
});

test('up with a directory that does not exist is a clear error, and starts nothing', async (t) => {
  const dir = tempDir(t);
  for (const args of [['up', 'nope.d'], ['up', '-d', 'nope.d']]) {
    const r = await runCli(dir, args);
    assert.equal(r.code, 1, args.join(' '));
    assert.equal(r.stderr, 'tend: the services directory nope.d does not exist; create it, or add --wait-for-dir to start now and load it when it appears\n');
  }
  assert.equal(existsSync(join(dir, '.tend')), false);
});

test('an unknown option or command is one line with a hint (exit 5)', async (t) => {
  const dir = tempDir(t);
  const option = await runCli(dir, ['status', '--bogus']);
  assert.equal(option.code, 5);
  assert.equal(option.stderr, "tend: unknown option '--bogus'; see tend status --help\n");
  const verb = await runCli(dir, ['stauts']);
  assert.equal(verb.code, 5);
  assert.equal(verb.stderr, "tend: unknown command 'stauts' (did you mean status?); see tend --help\n");
});

test('validate: exit 0 for a good directory, 1 with file:line:col for a bad one', async (t) => {
  const dir = tempDir(t, { 'services.d/web.yaml': WEB, 'bad.d/web.yaml': 'command: x\nreplicas: many\n' });
  const good = await runCli(dir, ['validate']);
  assert.equal(good.code, 0, good.stderr + good.stdout);
  const bad = await runCli(dir, ['validate', 'bad.d']);
  assert.equal(bad.code, 1);
  assert.match(bad.stdout + bad.stderr, /web\.yaml:2:\d+: /);
});

test('scale edits only the number, keeps the mode, and adds the key in the right document', async (t) => {
  const dir = tempDir(t, { 'services.d/web.yaml': WEB, 'services.d/jobs.yaml': JOBS });
  chmodSync(join(dir, 'services.d/web.yaml'), 0o640);
  const r = await runCli(dir, ['scale', 'web=5', 'mailer=3']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, 'web: replicas 2 → 5 (web.yaml)\nmailer: replicas 1 → 3 (jobs.yaml)\n');
  assert.equal(readFileSync(join(dir, 'services.d/web.yaml'), 'utf8'), WEB.replace('replicas: 2 ', 'replicas: 5 '));
  assert.equal(statSync(join(dir, 'services.d/web.yaml')).mode & 0o777, 0o640);
  assert.equal(
    readFileSync(join(dir, 'services.d/jobs.yaml'), 'utf8'),
    JOBS.replace('name: mailer\n', 'name: mailer\nreplicas: 3\n'),
  );
});

test('scale run as root keeps the owner of a file a deploy user edits; one who may not write it gets a clear error and nothing changes', { skip: process.getuid?.() !== 0 && 'needs root to give a file to another user' }, async (t) => {
  const dir = tempDir(t, { 'services.d/web.yaml': WEB });
  const file = join(dir, 'services.d/web.yaml');
  chownSync(file, 65534, 65534); // the checkout of an unprivileged user; `sudo tend scale` in it
  const root = await runCli(dir, ['scale', 'web=3']);
  assert.equal(root.code, 0, root.stderr);
  const st = statSync(file);
  assert.deepEqual([st.uid, st.gid], [65534, 65534], 'still the user\'s file');

  if (!othersCanReach(ROOT)) return t.diagnostic('the checkout is not reachable by uid 65534: the unprivileged half is not run');
  chmodSync(dir, 0o755);
  chownSync(file, 0, 0); // a directory and a file that uid 65534 may read but not write
  chmodSync(file, 0o644);
  const denied = await runCli(dir, ['scale', 'web=4'], { uid: 65534 });
  assert.equal(denied.code, 1, denied.stderr);
  assert.match(denied.stderr, /^tend: cannot write .*services\.d\/web\.yaml: permission denied \(tend runs as uid 65534, and its directory belongs to uid 0\)\n$/);
  assert.equal(readFileSync(file, 'utf8'), WEB.replace('replicas: 2 ', 'replicas: 3 '));
  assert.deepEqual(readdirSync(join(dir, 'services.d')), ['web.yaml'], 'no temporary file left');
});

// `sudo tend up -d` in a checkout, then `tend status` as yourself: the state directory is root's.
test('a state directory of another user: status, up -d and up say whose it is, and start nothing', { skip: process.getuid?.() !== 0 && 'needs root to make a directory another user cannot enter' }, async (t) => {
  if (!othersCanReach(ROOT)) return t.skip('the checkout is not reachable by uid 65534');
  const dir = tempDir(t, { 'services.d/web.yaml': WEB });
  chmodSync(dir, 0o755);
  chmodSync(join(dir, 'services.d'), 0o755);
  mkdirSync(join(dir, '.tend'), { mode: 0o700 }); // root's, as `sudo tend up -d` leaves it
  const whose = /^tend: cannot reach the tend daemon on \.tend\/tend\.sock: permission denied: \.tend belongs to uid 0, and tend runs as uid 65534; run tend as uid 0 \(sudo tend \.\.\.\), or use a state directory of your own \(--state-dir\)\n$/;
  const status = await runCli(dir, ['status'], { uid: 65534 });
  assert.equal(status.code, 3, status.stderr);
  assert.match(status.stderr, whose);
  const up = await runCli(dir, ['up', '-d'], { uid: 65534 });
  assert.equal(up.code, 3, up.stderr);
  assert.match(up.stderr, whose);
  const foreground = await runCli(dir, ['up'], { uid: 65534 });
  assert.equal(foreground.code, 5, foreground.stderr);
  assert.match(foreground.stderr, /^tend: state directory \S+\/\.tend belongs to uid 0, and tend runs as uid 65534: its socket controls every replica, so only its owner may use it\. Run tend as uid 0 \(sudo tend \.\.\.\), or use a state directory of your own \(--state-dir\)\n$/);
  assert.deepEqual(readdirSync(join(dir, '.tend')), [], 'nothing written there');
});

test('a full disk at start: up -d says the disk is full, up names the file it could not write, and neither leaves a tend.pid', async (t) => {
  const mnt = smallTmpfs(t, '64k', 'mode=0700');
  if (!mnt) return;
  const dir = tempDir(t, { 'services.d/web.yaml': WEB });
  mkdirSync(join(mnt, 'state'), { mode: 0o700 });
  // Fill it: a write past the end fails with ENOSPC, and what fitted stays.
  const fd = openSync(join(mnt, 'fill'), 'w');
  try {
    for (;;) writeSync(fd, Buffer.alloc(4096));
  } catch (err) {
    assert.equal((err as NodeJS.ErrnoException).code, 'ENOSPC');
  } finally {
    closeSync(fd);
  }
  const state = join(mnt, 'state');
  const detached = await runCli(dir, ['--state-dir', state, 'up', '-d', 'services.d']);
  assert.equal(detached.code, 1, detached.stderr);
  assert.match(detached.stderr, /^tend: the daemon did not start:\nthe daemon exited with code 1, and wrote nothing: the file system of \S+ is full \(no space left on device\)\n/);
  assert.equal(existsSync(join(state, 'tend.pid')), false);
  const foreground = await runCli(dir, ['--state-dir', state, 'up', 'services.d']);
  assert.equal(foreground.code, 1, foreground.stderr);
  assert.match(foreground.stderr, /^tend: cannot write \S+\/state\/tend\.pid: ENOSPC: no space left on device\n$/);
  assert.equal(existsSync(join(state, 'tend.pid')), false, 'no empty tend.pid left behind');
});

/** Every directory above `path` lets others through, so another user can reach it. */
function othersCanReach(path: string): boolean {
  for (let p = path; ; p = dirname(p)) {
    if ((statSync(p).mode & 0o001) === 0) return false;
    if (p === dirname(p)) return true;
  }
}

test('scale refuses an unknown service and a malformed assignment, writing nothing', async (t) => {
  const dir = tempDir(t, { 'services.d/web.yaml': WEB });
  const unknown = await runCli(dir, ['scale', 'web=3', 'nope=1']);
  assert.equal(unknown.code, 4);
  assert.match(unknown.stderr, /no service named "nope" in \S+\/services\.d\n/);
  const typo = await runCli(dir, ['scale', 'wbe=2']);
  assert.equal(typo.code, 4);
  assert.match(typo.stderr, /no service named "wbe" in \S+\/services\.d, did you mean "web"\?\n/);
  assert.equal(readFileSync(join(dir, 'services.d/web.yaml'), 'utf8'), WEB);
  const malformed = await runCli(dir, ['scale', 'web=-1']);
  assert.equal(malformed.code, 5);
  assert.match(malformed.stderr, /expected SERVICE=COUNT/);
  const twice = await runCli(dir, ['scale', 'web=2', 'web=4']);
  assert.equal(twice.code, 5, twice.stdout + twice.stderr);
  assert.equal(twice.stderr, 'tend: web is given twice (web=2, web=4): which count?\n');
  assert.equal(readFileSync(join(dir, 'services.d/web.yaml'), 'utf8'), WEB);
});

test('scale on a file that does not parse says the files are broken (exit 1), not that the service is unknown', async (t) => {
  const broken = 'command: [node, b.js]\nreplicas: 1\nenv: {A: 1\n';
  const dir = tempDir(t, { 'services.d/web.yaml': WEB, 'services.d/b.yaml': broken });
  const r = await runCli(dir, ['scale', 'b=2']);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /^tend: cannot scale "b": it is in no file that loads, and .*services\.d has errors to fix first:\n  services\.d\/b\.yaml:\d+:\d+: /);
  assert.equal(readFileSync(join(dir, 'services.d/b.yaml'), 'utf8'), broken);
});

test('plan without a daemon compares against nothing; --exit-code exits 2', async (t) => {
  const dir = tempDir(t, { 'services.d/web.yaml': WEB, 'services.d/jobs.yaml': JOBS });
  const r = await runCli(dir, ['plan', '--exit-code']);
  assert.equal(r.code, 2, r.stderr);
  assert.equal(r.stdout, '+ mailer/0 start\n+ web/0 start\n+ web/1 start\n+ worker/0 start\n');
  assert.match(r.stderr, /no tend daemon runs here/);
  const plain = await runCli(dir, ['plan']);
  assert.equal(plain.code, 0);
  const json = await runCli(dir, ['plan', '-o', 'json']);
  const report = JSON.parse(json.stdout) as { changes: { op: string; service: string; index: number }[]; errors: unknown[] };
  assert.deepEqual(report.changes[0], { op: '+', service: 'mailer', index: 0, text: '+ mailer/0 start' });
  assert.deepEqual(report.errors, []);
});

test('plan of a directory with spec errors prints them and exits 1', async (t) => {
  const dir = tempDir(t, { 'services.d/web.yaml': WEB, 'services.d/bad.yaml': 'command: x\nreplicas: many\n' });
  const r = await runCli(dir, ['plan', '--exit-code']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /error: services\.d\/bad\.yaml:2:\d+: /);
});

test('the completion scripts know every command and every option the CLI defines', () => {
  // The verbs as VERBS lists them (equal to what --help lists, above); the options read from the
  // program's definition (src/cli/index.ts), which --help is generated from.
  const source = readFileSync(join(ROOT, 'src/cli/index.ts'), 'utf8');
  const verbs = [...VERBS];
  const flags = [...source.matchAll(/\.(?:option|addOption)\((?:new Option\()?'[^']*?(--[a-z][a-z-]+)/g)].map((m) => m[1] as string).filter((f) => f !== '--detached-child');
  assert.ok(flags.includes('--since') && flags.includes('--show-secrets'), flags.join(' '));
  for (const file of ['completions/tend.bash', 'completions/_tend']) {
    const text = readFileSync(join(ROOT, file), 'utf8');
    for (const verb of verbs) assert.ok(text.includes(verb), `${file} lacks the command ${verb}`);
    for (const flag of new Set(flags)) assert.ok(text.includes(flag), `${file} lacks ${flag}`);
  }
});

test('completion prints the committed scripts', async (t) => {
  const dir = tempDir(t);
  for (const [shell, file] of [['bash', 'completions/tend.bash'], ['zsh', 'completions/_tend']] as const) {
    const r = await runCli(dir, ['completion', shell]);
    assert.equal(r.code, 0);
    assert.equal(r.stdout, readFileSync(join(ROOT, file), 'utf8'));
    assert.match(r.stdout, shell === 'bash' ? /complete -F _tend tend/ : /^#compdef tend/);
  }
});

test('a log level pino does not know, or a malformed exported variable, is a usage error that names what the user set', async (t) => {
  const dir = tempDir(t, { 'services.d/web.yaml': 'command: ["sleep", "1000"]\n' });
  // Both crashed the daemon as it made its logger: "internal error" (exit 70), or from up -d the
  // last lines of a stack trace without its message.
  for (const [args, env, message] of [
    [['up', '-d'], { TEND_LOG_LEVEL: 'bogus' }, 'tend: expected TEND_LOG_LEVEL to be one of trace, debug, info, warn, error, fatal, silent, got "bogus"\n'],
    [['up', '--log-level', 'warning'], {}, 'tend: expected --log-level to be one of trace, debug, info, warn, error, fatal, silent, got "warning"\n'],
  ] as const) {
    const r = await runCli(dir, [...args], { env: { ...env } });
    assert.equal(r.code, 5, `${args.join(' ')}: ${r.stderr}`);
    assert.equal(r.stderr, message);
  }
  assert.equal(existsSync(join(dir, '.tend', 'tend.pid')), false, 'no daemon started');
  const timeout = await runCli(dir, ['status'], { env: { TEND_CLIENT_TIMEOUT: '5' } });
  assert.equal(timeout.code, 5);
  assert.match(timeout.stderr, /^tend: expected TEND_CLIENT_TIMEOUT to be a duration/);
});
