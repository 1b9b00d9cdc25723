// Table tests of a replica's exit in the pure fold (src/reconcile/observe.ts), with and without tend
// stopping everything: under systemd's default KillMode=control-group, `systemctl stop` signals
// every process of the unit at once, and replicas exited before tend stopped them. Each was folded
// as a crash ("backoff: restarting in 105 ms"), which was untrue and fed crash alerts.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fold, type Observed } from '../../src/reconcile/observe.js';
import type { Instance } from '../../src/reconcile/types.js';
import { inst, spec } from '../helpers/world.js';

const web = spec('web');
const job = spec('migrate', { oneshot: true });
const never = spec('once', { restart: 'never' });
const exit = (code: number | null, signal: NodeJS.Signals | null = null) => ({ code, signal, at: 2000 });

const summary = (i: Instance, ev: Observed) => {
  const r = fold(i, ev, 2000, 0.5);
  return `${r.next.state}${r.next.reason ? ` (${r.next.reason})` : ''} | ${r.events.map((e) => e.type).join(' ')}`;
};

const cases: Record<string, { i: () => Instance; ev: Observed; expect: string | RegExp }> = {
  'a service killed by a signal, tend running: a crash, backed off': {
    i: () => inst(web, 0, 'running'),
    ev: { kind: 'exited', exit: exit(null, 'SIGTERM') },
    expect: /^backoff \(signal SIGTERM\) \| replica\.exited replica\.backoff$/,
  },
  'the same while tend stops everything: stopped with the rest, no back-off': {
    i: () => inst(web, 0, 'running'),
    ev: { kind: 'exited', exit: exit(null, 'SIGTERM'), shutdown: true },
    expect: 'stopped (tend shut down) | replica.exited replica.stopped',
  },
  'a service that exits 0 on that signal while tend stops everything: stopped': {
    i: () => inst(web, 0, 'running'),
    ev: { kind: 'exited', exit: exit(0), shutdown: true },
    expect: 'stopped (tend shut down) | replica.exited replica.stopped',
  },
  'restart: never, killed while tend stops everything: stopped, not failed': {
    i: () => inst(never, 0, 'running'),
    ev: { kind: 'exited', exit: exit(null, 'SIGTERM'), shutdown: true },
    expect: 'stopped (tend shut down) | replica.exited replica.stopped',
  },
  'a job that finished while tend stops everything: completed all the same': {
    i: () => inst(job, 0, 'running'),
    ev: { kind: 'exited', exit: exit(0), shutdown: true },
    expect: /^completed \| replica\.exited replica\.completed$/,
  },
  'a job killed while tend stops everything: stopped': {
    i: () => inst(job, 0, 'running'),
    ev: { kind: 'exited', exit: exit(null, 'SIGTERM'), shutdown: true },
    expect: 'stopped (tend shut down) | replica.exited replica.stopped',
  },
  'a replica tend is stopping: its exit is kept until its group is gone': {
    i: () => inst(web, 0, 'stopping', { stopIntent: 'shutdown' }),
    ev: { kind: 'exited', exit: exit(null, 'SIGTERM'), shutdown: true },
    expect: 'stopping | ',
  },
};

for (const [name, c] of Object.entries(cases)) {
  test(`exit: ${name}`, () => {
    const got = summary(c.i(), c.ev);
    if (typeof c.expect === 'string') assert.equal(got, c.expect);
    else assert.match(got, c.expect);
  });
}

test('exit: the back-off message gives whole milliseconds (a jittered delay and a fractional clock)', () => {
  for (const [at, jitter] of [[2000.123, 0.37], [2000, 0.5], [1999.999, 0.9999]] as const) {
    const r = fold(inst(web, 0, 'running'), { kind: 'exited', exit: { code: 1, signal: null, at } }, at, jitter);
    const backoff = r.events.find((e) => e.type === 'replica.backoff');
    assert.match(String(backoff?.message), /; restarting in \d+ ms$/, `at ${at}, jitter ${jitter}: ${backoff?.message}`);
  }
});
