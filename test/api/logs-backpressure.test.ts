// `GET /v1/logs/:name?follow=1` with a client that stops reading (a stopped `tend logs -f | less`):
// the daemon must not read the log into memory ahead of the client (issue 12: "the same for logs -f
// clients"), and once the client reads again it gets every line, in order, none twice. A real
// server on a Unix socket, a real log file written by another process, a real HTTP client.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { request, type IncomingMessage } from 'node:http';
import { join } from 'node:path';
import { test } from 'node:test';
import { startApiServer } from '../../src/api/server.js';
import type { ControlPlane } from '../../src/api/types.js';
import { controlPlane } from '../helpers/control-plane.js';
import { cleanup, NODE, processReaper, tempDir, waitFor } from '../helpers/index.js';

const LINES = 1_000_000;
const PAD = 'x'.repeat(100);

function control(logPath: string): ControlPlane {
  return controlPlane({ logFiles: () => [{ service: 'w', index: 0, path: logPath }] });
}

test('a logs -f client that stops reading does not grow the daemon, and then gets every line once', { timeout: 180_000 }, async (t) => {
  const dir = tempDir(t);
  const reaper = processReaper(t);
  const logPath = join(dir, 'w-0.log');
  writeFileSync(logPath, '');
  const socket = join(dir, 's.sock');
  const server = await startApiServer(socket, control(logPath), { warn: () => {} });
  cleanup(t, () => server.close());

  const res = await new Promise<IncomingMessage>((resolve, reject) => {
    const req = request({ socketPath: socket, path: '/v1/logs/w?follow=1&tail=0' }, resolve);
    req.on('error', reject);
    req.end();
  });
  cleanup(t, () => res.destroy());
  res.pause(); // reads nothing while the replica writes

  // Another process writes ~105 MB (1,000,000 numbered lines), as a replica would (O_APPEND).
  global.gc?.();
  const rssBefore = process.memoryUsage().rss;
  const writer = spawn(NODE, ['-e', `
    const fs = require('fs');
    const fd = fs.openSync(${JSON.stringify(logPath)}, 'a');
    let chunk = '';
    for (let i = 1; i <= ${LINES}; i++) {
      chunk += i + ' ${PAD}\\n';
      if (i % 1000 === 0) { fs.writeSync(fd, chunk); chunk = ''; }
    }
    fs.writeSync(fd, chunk);
  `], { stdio: 'ignore' });
  reaper.track(writer.pid);
  await new Promise((resolve) => writer.once('exit', resolve));
  // Give the follower every chance to read ahead: it polls the file; wait until its stream has
  // filled the socket's buffers and stalled (the response's buffered bytes stop changing).
  let last = -1;
  await waitFor(
    () => {
      const now = res.readableLength;
      const stalled = now === last && now > 0;
      last = now;
      return stalled;
    },
    { what: 'the paused client to stop receiving', intervalMs: 500, timeoutMs: 30_000 },
  );
  const grown = process.memoryUsage().rss - rssBefore;
  // Reading ahead would hold over 105 MB (more as JS strings). What may be held is one poll's read
  // (4 MiB of log, as buffers, strings and the joined chunk), the socket buffers and the paused
  // client's high-water mark: measured up to 26 MiB on a loaded machine.
  assert.ok(grown < 48 * 1024 * 1024, `RSS grew by ${(grown / 1048576).toFixed(1)} MiB while the client did not read`);

  // The client reads again: every line arrives, in order, none twice.
  let next = 1;
  let buf = '';
  let problem: string | undefined;
  res.on('data', (c: Buffer) => {
    buf += c.toString();
    let end: number;
    while ((end = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, end);
      buf = buf.slice(end + 1);
      const n = Number(/^w\/0 \| (\d+) /.exec(line)?.[1]);
      if (n !== next && problem === undefined) problem = `expected line ${next}, got ${JSON.stringify(line.slice(0, 40))}`;
      next = n + 1;
    }
  });
  res.resume();
  await waitFor(() => next > LINES || problem !== undefined, { what: `all ${LINES} lines`, timeoutMs: 120_000 });
  assert.equal(problem, undefined);
  assert.equal(next, LINES + 1);
});
