// StateText: state.json's text from cached pieces must say exactly what a JSON dump of the same
// snapshot says, and follow a replica whose record changed while reusing the rest.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { snapshotState, StateText, type KeyedReplica } from '../../src/state/state-file.js';
import { spec } from '../helpers/world.js';

const W = spec('w', { replicas: 3 });
const W2 = spec('w', { replicas: 3, env: { V: '2' } });
const JOB = spec('job', { oneshot: true, restart: 'on-failure' });

type Rec = ReturnType<KeyedReplica['record']>;
const rec = (index: number, pid: number, over: Partial<Rec> = {}): Rec => ({
  service: 'w', index, pid, pgid: pid, procStart: pid * 10, startedAt: 1, restarts: 0, deaths: [], streak: 0, spec: W, nonce: `n${pid}`, ...over,
});

test('the cached text is the JSON of snapshotState, and a changed replica is re-serialised', () => {
  const text = new StateText();
  const built: string[] = [];
  const keyed = (r: Rec): KeyedReplica => ({
    id: `${r.service}/${r.index}`,
    parts: [r.service, r.index, r.pid, r.pgid, r.procStart, r.startedAt, r.restarts, r.deaths, r.streak, r.spec, r.nonce, r.notify],
    record: () => (built.push(`${r.service}/${r.index}`), r),
  });
  const a = rec(0, 100);
  const b = rec(1, 101, { notify: { token: 't', ready: true }, deaths: [5, 6], streak: 2 });
  const c = rec(2, 102, { spec: W2 });
  const completions = [{ service: 'job', index: 0, spec: JOB, exitedAt: 9 }];
  const extra = { completions, desired: [W2, JOB], escaped: [{ pgid: 7, startTime: 70, nonce: 'x' }], held: ['job'] };

  const first = text.render({ replicas: [a, b, c].map(keyed), ...extra }, 42);
  assert.equal(first, JSON.stringify(snapshotState({ replicas: [a, b, c], ...extra }, 42)));
  assert.deepEqual(built, ['w/0', 'w/1', 'w/2']);

  // b restarted: a new record; a and c are served from the cache.
  const b2 = rec(1, 201, { restarts: 1 });
  const second = text.render({ replicas: [a, b2, c].map(keyed), ...extra }, 42);
  assert.equal(second, JSON.stringify(snapshotState({ replicas: [a, b2, c], ...extra }, 42)));
  assert.deepEqual(built, ['w/0', 'w/1', 'w/2', 'w/1']);
  assert.equal(JSON.parse(second).replicas[1].pid, 201);

  // a replaced by a copy with the same values (an instance that only changed state, say
  // running → stopping): served from the cache. A replica gone and back is built again.
  const a2 = { ...a };
  const third = text.render({ replicas: [a2, c].map(keyed), ...extra }, 42);
  assert.equal(third, JSON.stringify(snapshotState({ replicas: [a2, c], ...extra }, 42)));
  assert.deepEqual(built, ['w/0', 'w/1', 'w/2', 'w/1']);
  text.render({ replicas: [a2, b2, c].map(keyed), ...extra }, 42);
  assert.deepEqual(built, ['w/0', 'w/1', 'w/2', 'w/1', 'w/1']);

  // Nothing at all: still the same shape as the dump.
  const empty = { replicas: [], completions: [], desired: [] };
  assert.equal(text.render(empty, 1), JSON.stringify(snapshotState(empty, 1)));
});
