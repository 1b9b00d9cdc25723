// noProcess: why pause, resume or kill has nothing to act on, one case per reason.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { noProcess } from '../../src/reconcile/no-process.js';

test('noProcess: undefined while any replica has a process; else the reason, held first', () => {
  const r = (state: string, live = false) => ({ state, live });
  const table: [Parameters<typeof noProcess>, string | undefined][] = [
    [['kill', 'web', 'web', false, [r('running', true), r('backoff')]], undefined],
    [['pause', 'web', 'web', false, [r('stopping', true)]], undefined],
    [['kill', 'web', 'web', true, []], 'web has no running process to signal: it is stopped (`tend stop`); `tend start web` starts it'],
    [['pause', 'web/1', 'web', true, [r('stopped')]], 'web/1 has no running process to pause: it is stopped (`tend stop`); `tend start web` starts it'],
    [['resume', 'web', 'web', false, []], 'web has no running process to resume: it has no replicas'],
    [['kill', 'web', 'web', false, [r('failed'), r('backoff')]], 'web has no running process to signal: it failed; `tend restart web` starts it again'],
    [['kill', 'job', 'job', false, [r('completed')]], 'job has no running process to signal: it completed (a oneshot job)'],
    [['pause', 'web', 'web', false, [r('backoff')]], 'web has no running process to pause: it is waiting to be restarted (back-off)'],
    [['pause', 'web', 'web', false, [r('pending')]], 'web has no running process to pause: it has not started yet'],
    [['pause', 'web', 'web', false, [r('stopped')]], 'web has no running process to pause: it has no process now'],
  ];
  for (const [args, want] of table) assert.equal(noProcess(...args), want, JSON.stringify(args));
});
