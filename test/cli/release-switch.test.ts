// From the user's side, Capistrano's layout: releases/N, a `current` link that each deploy renames
// over to the new release, old releases removed; tend started by a shell standing in `current`.
// A shell's `cd current` leaves the process in releases/1 (getcwd gives the real path) and keeps
// the name it went through in $PWD. tend used the real path, watched releases/1/services.d, and ran
// release 1 for ever, reporting its directory unreadable once the release was removed; a shell left
// in the removed release got `ENOENT: no such file or directory, uv_cwd` from every command.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { StatusReport } from '../../src/api/types.js';
import { BUILT, FIXTURE_BIN, NODE, processReaper, tempDir, waitFor, writeFiles } from '../helpers/index.js';
import { runCli, type CliResult } from './run-cli.js';

const forever = JSON.stringify([NODE, join(FIXTURE_BIN, 'forever.mjs')]);

/** `tend ARGS` from a shell that went `cd DIR` and then saw DIR removed. The built tend, as run
 *  from a shell: tsx, which runs the sources, reads the working directory as it loads. */
function inRemovedDir(dir: string, args: string[]): Promise<CliResult> {
  mkdirSync(dir, { recursive: true });
  const env = { ...process.env };
  delete env['TEND_STATE_DIR'];
  return new Promise((resolve) => {
    execFile('sh', ['-c', 'cd "$1" && rmdir "$1" && shift && exec "$@"', 'sh', dir, BUILT, ...args], { env, timeout: 30_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

function envOf(pid: number, name: string): string | undefined {
  return readFileSync(`/proc/${pid}/environ`, 'latin1').split('\0').find((v) => v.startsWith(`${name}=`))?.slice(name.length + 1);
}
const releaseOf = (pid: number) => envOf(pid, 'RELEASE');

test('tend up -d run in a release link follows the next release; a shell left in a removed release is told why', { timeout: 120_000 }, async (t) => {
  const dir = tempDir(t);
  const reaper = processReaper(t);
  const state = join(dir, 'shared', 'tend');
  const current = join(dir, 'current');
  const release = (n: string) => {
    writeFiles(join(dir, 'releases', n, 'services.d'), { 'web.yaml': `command: ${forever}\nenv: { RELEASE: "${n}" }\nstop_timeout: 2s\n` });
    symlinkSync(join(dir, 'releases', n), join(dir, 'current.tmp'));
    renameSync(join(dir, 'current.tmp'), current);
  };
  release('1');
  // As a shell runs tend after `cd current`: $PWD names the link.
  const inCurrent = (args: string[]) => runCli(current, ['--state-dir', state, ...args], { env: { PWD: current } });
  const status = async () => {
    const s = JSON.parse((await runCli(dir, ['--state-dir', state, 'status', '-o', 'json'])).stdout) as StatusReport;
    for (const svc of s.services) for (const r of svc.replicas) if (r.pid !== null) reaper.track(r.pid, true);
    return s;
  };

  const up = await inCurrent(['up', '-d', '--wait', '--timeout', '30s', '--settle', '50ms']);
  reaper.track(Number(readFileSync(join(state, 'tend.pid'), 'utf8').split('\n')[0]), true);
  assert.equal(up.code, 0, up.stdout + up.stderr);
  const first = await status();
  assert.equal(first.source, join(current, 'services.d'), 'the directory as the shell named it');
  const pid1 = first.services[0]!.replicas[0]!.pid!;
  assert.equal(releaseOf(pid1), '1');
  // $PWD names the replica's working directory (the spec's, in the release it was started from:
  // what a deploy replaces), not tend's own.
  assert.equal(envOf(pid1, 'PWD'), join(dir, 'releases', '1', 'services.d'));

  release('2');
  rmSync(join(dir, 'releases', '1'), { recursive: true });
  const pid2 = await waitFor(async () => {
    const r = (await status()).services[0]!.replicas[0]!;
    return r.state === 'running' && r.pid !== pid1 && r.ready ? r.pid! : undefined;
  }, { what: 'web replaced by release 2', timeoutMs: 30_000 });
  assert.equal(releaseOf(pid2), '2');
  const now = await status();
  assert.deepEqual(now.errors, [], 'no problem left from the removed release');

  // A shell still standing in a removed release: a path it gives relative has no meaning, and
  // tend says so; with the state directory named, the command does not need one.
  const lost = await inRemovedDir(join(dir, 'releases', 'gone'), ['status']);
  assert.equal(lost.code, 1, lost.stdout + lost.stderr);
  // (sh, which starts tend, says `getcwd() failed` first.)
  assert.match(lost.stderr, /^tend: the working directory was removed: cd to a directory that exists, or give absolute paths and --state-dir\n$/m);
  assert.doesNotMatch(lost.stderr, /uv_cwd|\n\s+at /, 'no stack');
  const named = await inRemovedDir(join(dir, 'releases', 'gone'), ['--state-dir', state, 'status']);
  assert.equal(named.code, 0, named.stdout + named.stderr);
  assert.match(named.stdout, /^web\s+1\/1\s+running/m);
  const relative = await inRemovedDir(join(dir, 'releases', 'gone'), ['--state-dir', state, 'validate', 'services.d']);
  assert.equal(relative.code, 1);
  assert.match(relative.stderr, /the working directory was removed/);

  const down = await runCli(dir, ['--state-dir', state, 'down']);
  assert.equal(down.code, 0, down.stderr);
});

test('`..` from a shell in a release link means the link\'s parent, as the shell takes it: validate reads it, export writes there', { timeout: 60_000 }, async (t) => {
  const dir = tempDir(t);
  writeFiles(join(dir, 'releases', '1', 'services.d'), { 'web.yaml': `command: ${forever}\n` });
  writeFiles(dir, { 'tend.yaml': 'alerts: {}\n' });
  const current = join(dir, 'current');
  symlinkSync(join(dir, 'releases', '1'), current);
  const inCurrent = (args: string[]) => runCli(current, args, { env: { PWD: current } });
  const validated = await inCurrent(['validate', '../tend.yaml']);
  assert.equal(validated.code, 0, validated.stdout + validated.stderr);
  assert.match(validated.stdout, /^\.\.\/tend\.yaml: OK$/m);
  const exported = await inCurrent(['export', 'nomad', 'services.d', '-o', '../job.nomad.hcl']);
  assert.equal(exported.code, 0, exported.stderr);
  assert.ok(existsSync(join(dir, 'job.nomad.hcl')), 'written beside `current`, not in releases/');
  assert.ok(!existsSync(join(dir, 'releases', 'job.nomad.hcl')));
});
