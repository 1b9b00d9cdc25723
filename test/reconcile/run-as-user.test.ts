// `user:` gives a replica the account it names, as systemd's User= and a login do: HOME, USER,
// LOGNAME and SHELL from /etc/passwd (tend's own HOME, /root, is not the user's, and a program that
// keeps a cache there failed with EACCES), its supplementary groups, and the same environment for its
// exec probes, and `tend exec` into it. A variable the spec sets wins.

import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { specDir, waitFor } from '../helpers/index.js';
import { runCli } from '../cli/run-cli.js';
import { runningPids, startDaemon } from '../helpers/daemon.js';
import { NATIVE_HELPER } from '../../src/runtime/spawn-helper.js';

const passwd = (() => {
  try {
    return readFileSync('/etc/passwd', 'utf8');
  } catch {
    return '';
  }
})();
const nobody = /^(nobody):[^:]*:65534:(\d+):[^:]*:([^:]*):([^:\n]*)$/m.exec(passwd);

test('a replica run as another user has its home, name, shell and groups; its probe too; the spec\'s own HOME wins', { skip: (process.getuid?.() !== 0 && 'needs root') || (!nobody && 'no nobody (65534) in /etc/passwd') }, async (t) => {
  const [, name, , home, shell] = nobody!;
  const report = 'printf "HOME=%s USER=%s LOGNAME=%s SHELL=%s\\n" "$HOME" "$USER" "$LOGNAME" "$SHELL"; exec sleep 1000';
  const { dir, state } = specDir(t, {
    'as.yaml': `command: ["sh", "-c", ${JSON.stringify(report)}]\nuser: ${name}\ncwd: /\nreadiness: { exec: ["sh", "-c", ${JSON.stringify(`test "$HOME" = "${home}"`)}], interval: 100ms }\n`,
    'own.yaml': `command: ["sh", "-c", ${JSON.stringify(report)}]\nuser: "65534"\ncwd: /\nenv: { HOME: /srv/own }\n`,
  });
  const d = await startDaemon(t, dir, state);
  await d.converged((s) => runningPids(s).length === 2 && s.services.find((x) => x.name === 'as')!.ready === 1, 30_000);
  const line = (svc: string) =>
    waitFor(() => /^HOME=.*$/m.exec(readFileSync(join(state, 'logs', svc, '0.log'), 'utf8'))?.[0], { what: `${svc}'s report` });
  assert.equal(await line('as'), `HOME=${home} USER=${name} LOGNAME=${name} SHELL=${shell}`);
  assert.equal(await line('own'), `HOME=/srv/own USER=${name} LOGNAME=${name} SHELL=${shell}`);
  const [pid] = runningPids(await d.status(), 'as');
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  assert.match(status, /^Uid:\t65534\t/m);
  // Its groups, as `id -G` (NSS) says a login of the user gets them: the compiled spawn helper sets
  // them (node's spawn cannot: libuv clears them, docs/spec.md).
  const groups = /^Groups:[ \t]*(.*)$/m.exec(status)![1]!.trim().split(/\s+/).filter(Boolean).map(Number).sort((a, b) => a - b);
  const expected = execFileSync('id', ['-G', name!], { encoding: 'utf8' }).trim().split(/\s+/).map(Number).sort((a, b) => a - b);
  assert.deepEqual(groups, existsSync(NATIVE_HELPER) ? expected : []);

  // tend exec runs as the replica does (as docker compose exec), unless -u says otherwise.
  const exec = (...args: string[]) => runCli(dir, ['--state-dir', state, 'exec', ...args]);
  const asReplica = await exec('as', '--', 'sh', '-c', 'echo "$(id -u) $HOME"');
  assert.equal(asReplica.code, 0, asReplica.stderr);
  assert.equal(asReplica.stdout, `65534 ${home}\n`);
  const asRoot = await exec('-u', 'root', 'as', '--', 'id', '-u');
  assert.equal(asRoot.code, 0, asRoot.stderr);
  assert.equal(asRoot.stdout, '0\n');
  const unknown = await exec('-u', 'no-such-user-x', 'as', '--', 'id', '-u');
  assert.equal(unknown.code, 5);
  assert.match(unknown.stderr, /^tend: unknown user "no-such-user-x" \(not in \/etc\/passwd\)\n$/);
});
