// Hooks set off by the shutdown itself (`tend down`, SIGTERM, systemctl stop): every replica's
// `stopped`, from the service's file and from tend.yaml, runs before the daemon exits; they were
// dropped with the queue, and `tend down` then killed what had started.

import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { TendEvent } from '../../src/api/types.js';
import { runCli, upDetached } from '../cli/run-cli.js';
import { tempDir, writeFiles } from '../helpers/index.js';
import { ok, startReceiver } from './receivers.js';

test('tend down: the stopped hooks of every replica run, commands and webhooks, before it returns', { timeout: 120_000 }, async (t) => {
  const r = await startReceiver(t, ok);
  const root = tempDir(t);
  const out = join(root, 'stopped.txt');
  writeFiles(root, {
    'services.d/web.yaml': `command: ["sleep", "1000"]\nreplicas: 3\non:\n  stopped:\n    - command: ["sh", "-c", "sleep 0.3; echo $TEND_SERVICE/$TEND_REPLICA >> ${out}"]\n`,
    'tend.yaml': `on:\n  stopped: [ { url: "${r.url}" } ]\n`,
  });
  await upDetached(t, root);
  const down = await runCli(root, ['down']);
  assert.equal(down.code, 0, down.stderr);
  assert.ok(existsSync(out), 'the command hooks ran');
  assert.deepEqual(readFileSync(out, 'utf8').trim().split('\n').sort(), ['web/0', 'web/1', 'web/2']);
  const posted = r.received.map((x) => (x.body as { event: TendEvent }).event);
  assert.deepEqual(posted.map((e) => `${e.type} ${e.service}/${e.replica}`).sort(), ['replica.stopped web/0', 'replica.stopped web/1', 'replica.stopped web/2']);
  const events = readFileSync(join(root, '.tend', 'events.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as TendEvent);
  assert.deepEqual(events.filter((e) => e.type === 'hook.failed').map((e) => e.message), [], 'no hook reported failed');
});
