// /proc readers: parsing a stat line whose comm holds spaces and parentheses, liveness, identity
// by start time, group membership, dating a process from its start time, and listing /proc.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { test } from 'node:test';

import {
  isLive,
  listPids,
  liveGroupMembers,
  parseProcStat,
  readProcStat,
  sameProcess,
  startTimeToMs,
} from '../../src/runtime/proc.js';
import { fixture, processReaper, waitFor } from '../helpers/index.js';

test('parses a stat line whose comm holds spaces and parentheses', () => {
  const fields = ['S', '10', '42', '42', '0', '-1', '4194560', '0', '0', '0', '0', '7', '3', '0', '0', '20', '0', '1', '0', '98765', '1000', '250'];
  const s = parseProcStat(`123 (a) b (c)) ${fields.join(' ')} 0 0\n`);
  assert.deepEqual(s, { pid: 123, state: 'S', ppid: 10, pgid: 42, cpuTicks: 10, startTime: 98765, rssPages: 250 });
  assert.equal(parseProcStat('garbage'), null);
});

test('reads this process, and null for a pid that does not exist', () => {
  const me = readProcStat(process.pid)!;
  assert.equal(me.pid, process.pid);
  assert.equal(me.ppid, process.ppid);
  assert.ok(isLive(me.state));
  assert.equal(readProcStat(2 ** 22 + 1), null);
});

test('zombies and dead processes are not live', () => {
  assert.deepEqual(['R', 'S', 'D', 'T', 'Z', 'X'].map(isLive), [true, true, true, true, false, false]);
});

test('sameProcess needs the start time to match', () => {
  const me = readProcStat(process.pid)!;
  assert.equal(sameProcess({ pid: process.pid, startTime: me.startTime }), true);
  assert.equal(sameProcess({ pid: process.pid, startTime: me.startTime + 1 }), false);
});

test('liveGroupMembers finds every live member of several groups in one scan', async (t) => {
  const reaper = processReaper(t);
  const groups = [0, 1].map(() => {
    const c = spawn(fixture('fork-many.mjs', 2)[0]!, fixture('fork-many.mjs', 2).slice(1), { detached: true, stdio: ['ignore', 'pipe', 'ignore'] });
    reaper.track(c.pid, true);
    return c;
  });
  await Promise.all(groups.map((c) => new Promise((r) => c.stdout!.once('data', r))));
  const members = liveGroupMembers([groups[0]!.pid!, groups[1]!.pid!, 2 ** 22 + 1]);
  for (const c of groups) {
    assert.equal(members.get(c.pid!)!.length, 3);
    assert.ok(members.get(c.pid!)!.includes(c.pid!));
  }
  assert.deepEqual(members.get(2 ** 22 + 1), []);
  process.kill(-groups[0]!.pid!, 'SIGKILL');
  await waitFor(() => liveGroupMembers([groups[0]!.pid!]).get(groups[0]!.pid!)!.length === 0, { what: 'group empty' });
});

test('converts a start time in ticks to wall-clock ms', () => {
  const started = startTimeToMs(readProcStat(process.pid)!.startTime);
  const expected = Date.now() - process.uptime() * 1000;
  // btime has whole-second precision.
  assert.ok(Math.abs(started - expected) < 1500, `${started} vs ${expected}`);
});

test('listPids: every process with a /proc entry, this one included; a reaped child is not', async () => {
  const child = spawn('sleep', ['1000'], { stdio: 'ignore' });
  const pid = child.pid!;
  try {
    const before = listPids();
    assert.ok(before.has(process.pid));
    assert.ok(before.has(pid));
  } finally {
    child.kill('SIGKILL');
  }
  await new Promise((r) => child.once('exit', r)); // Node reaps it
  assert.equal(listPids().has(pid), false);
});
