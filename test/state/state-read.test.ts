// readState keeps a replica's notify session as recorded, and drops (only) the malformed parts of
// it: the replica is still adopted, judged by what is sound.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readState } from '../../src/state/state-file.js';
import { tempDir } from '../helpers/index.js';

const record = (notify: unknown) => ({ service: 'w', index: 0, pid: 100, pgid: 100, procStart: 1000, startedAt: 1, hash: 'h', restarts: 0, notify });

const cases: Record<string, { notify: unknown; expect: unknown }> = {
  'a session with its own watchdog period and STATUS is kept as it is': {
    notify: { token: 't', ready: true, watchdogMs: 8000, status: 'serving' },
    expect: { token: 't', ready: true, watchdogMs: 8000, status: 'serving' },
  },
  'a session of an older tend (token and READY only) is kept': { notify: { token: 't', ready: false }, expect: { token: 't', ready: false } },
  'a watchdog period that is not a positive integer is dropped, the rest kept': {
    notify: { token: 't', ready: true, watchdogMs: -5, status: 'x' },
    expect: { token: 't', ready: true, status: 'x' },
  },
  'a STATUS that is not a string is dropped, the rest kept': { notify: { token: 't', ready: true, status: 7 }, expect: { token: 't', ready: true } },
  'a session without a token is dropped': { notify: { ready: true, watchdogMs: 8000 }, expect: undefined },
};

for (const [name, c] of Object.entries(cases)) {
  test(`state file notify: ${name}`, (t) => {
    const path = join(tempDir(t), 'state.json');
    writeFileSync(path, JSON.stringify({ version: 2, daemonPid: 1, specs: {}, replicas: [record(c.notify)], completions: [], desired: {}, escaped: [], held: [] }));
    const read = readState(path);
    assert.equal(read.kind, 'ok');
    if (read.kind === 'ok') assert.deepEqual(read.state.replicas[0]!.notify, c.expect);
  });
}
