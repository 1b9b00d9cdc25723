// A checkout deep enough that .tend/tend.sock is longer than a Unix socket's 107 bytes
// (/home/…/src/github.com/company/monorepo/services/backend/deploy/.tend/tend.sock). Before the
// fix libuv bound a path cut short, outside the state directory, where the notify socket (cut the
// same way) already was: `tend up -d` failed with "EADDRINUSE" and left its replica running.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { cleanup, tempDir, writeFiles } from '../helpers/index.js';
import { killDetachedDaemon, killMarkedGroups, markedGroups } from '../helpers/daemon.js';
import { runCli } from './run-cli.js';

test('a state directory deeper than a socket path can be: up -d, status, logs and down work, and no socket is left outside it', async (t) => {
  const base = tempDir(t);
  const root = join(base, ...Array.from({ length: 5 }, (_, i) => `a-rather-long-directory-name-${i}`));
  mkdirSync(root, { recursive: true });
  const state = join(root, '.tend');
  assert.ok(Buffer.byteLength(join(state, 'tend.sock')) > 107, 'the socket path is too long for a socket');
  writeFiles(join(root, 'services.d'), { 'w.yaml': 'command: ["sh", "-c", "echo hello; exec sleep 1000"]\nreplicas: 2\nstop_timeout: 2s\n' });
  cleanup(t, () => killMarkedGroups(state));

  const up = await runCli(root, ['up', '-d', '--wait']);
  assert.equal(up.code, 0, up.stdout + up.stderr);
  markedGroups(state);
  // The detached daemon carries no marker: killed by its pid if the test stops early.
  const daemon = Number(readFileSync(join(state, 'tend.pid'), 'utf8').split('\n')[0]);
  cleanup(t, () => killDetachedDaemon(daemon, state));
  const status = await runCli(root, ['status', '-o', 'json']);
  assert.equal(status.code, 0, status.stderr);
  assert.equal((JSON.parse(status.stdout) as { services: { ready: number }[] }).services[0]!.ready, 2);
  const logs = await runCli(root, ['logs', 'w', '-n', '5']);
  assert.match(logs.stdout, /hello/);
  assert.ok(existsSync(join(state, 'tend.sock')), 'the socket is where it belongs');
  // Nothing was bound at a path cut short: every directory on the way holds only the next one.
  let d = base;
  for (let i = 0; i < 5; i++) {
    assert.deepEqual(readdirSync(d), [`a-rather-long-directory-name-${i}`], d);
    d = join(d, `a-rather-long-directory-name-${i}`);
  }
  const down = await runCli(root, ['down']);
  assert.equal(down.code, 0, down.stdout + down.stderr);
  assert.deepEqual(markedGroups(state), []);
});
