// Dependency analysis: what is blocked and why, cycles with their whole path.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { graphIssues } from '../../src/graph/graph.js';
import type { ServiceSpec } from '../../src/spec/types.js';
import { service } from '../helpers/spec.js';

const deps = (name: string, dependsOn: ServiceSpec['dependsOn'] = {}, over: Partial<ServiceSpec> = {}) => service(name, { dependsOn, ...over });

test('everything is good: nothing blocked, no issues', () => {
  const r = graphIssues([
    deps('api', { db: 'healthy', migrate: 'completed' }),
    deps('worker', { db: 'started' }),
    deps('migrate', { db: 'healthy' }, { oneshot: true }),
    deps('db'),
    deps('web', { api: 'healthy' }),
    deps('metrics'),
  ]);
  assert.deepEqual(r, { issues: [], blocked: new Map() });
});

test('an empty set of services has nothing to say', () => {
  assert.deepEqual(graphIssues([]), { issues: [], blocked: new Map() });
});

test('a cycle blocks its members and whoever waits on them, and names the whole path', () => {
  const r = graphIssues([deps('a', { b: 'started' }), deps('b', { c: 'healthy' }), deps('c', { a: 'started' }), deps('d', { a: 'started' }), deps('e')]);
  assert.deepEqual(r.issues.map((i) => [i.service, i.code, i.message]), [
    ['a', 'GRAPH_CYCLE', 'dependency cycle: a → b → c → a'],
    ['b', 'GRAPH_CYCLE', 'dependency cycle: b → c → a → b'],
    ['c', 'GRAPH_CYCLE', 'dependency cycle: c → a → b → c'],
  ]);
  assert.deepEqual(r.blocked.get('a'), 'dependency cycle: a → b → c → a');
  assert.deepEqual(r.blocked.get('d'), 'waits for "a", which cannot start: dependency cycle: a → b → c → a');
  assert.equal(r.blocked.has('e'), false);
});

test('the cycle path is the shortest one through the component', () => {
  const { issues, blocked } = graphIssues([deps('a', { b: 'started', x: 'started' }), deps('b', { a: 'started' }), deps('x', { y: 'started' }), deps('y', { a: 'started' })]);
  assert.deepEqual(issues.map((i) => i.cycle?.join(' ')), ['a b a', 'b a b']);
  assert.deepEqual([...blocked.keys()].sort(), ['a', 'b', 'x', 'y'], 'the longer loop through x and y is blocked too');
});

test('two separate cycles are two sets of problems', () => {
  const { issues } = graphIssues([deps('a', { b: 'started' }), deps('b', { a: 'started' }), deps('x', { y: 'started' }), deps('y', { x: 'started' })]);
  assert.deepEqual(issues.map((i) => i.message), ['dependency cycle: a → b → a', 'dependency cycle: b → a → b', 'dependency cycle: x → y → x', 'dependency cycle: y → x → y']);
});

test('a service that depends on itself', () => {
  const r = graphIssues([deps('a', { a: 'started' }), deps('b', { a: 'healthy' })]);
  assert.deepEqual(r.issues.map((i) => i.message), ['"a" depends on itself']);
  assert.deepEqual([...r.blocked.keys()], ['a', 'b']);
});

test('an unknown dependency blocks only the services that need it, with a suggestion', () => {
  const r = graphIssues([deps('api', { dbb: 'healthy' }), deps('db'), deps('web', { api: 'started' }), deps('other')]);
  assert.deepEqual(r.issues.map((i) => [i.code, i.service, i.dependency, i.message]), [['GRAPH_MISSING_DEP', 'api', 'dbb', 'depends on "dbb", which is not defined, did you mean "db"?']]);
  assert.deepEqual([...r.blocked.keys()].sort(), ['api', 'web']);
});

test('a completed condition on a service that is not a oneshot is a problem; on a oneshot it is fine', () => {
  const r = graphIssues([deps('api', { db: 'completed' }), deps('db'), deps('web', { job: 'completed' }), deps('job', {}, { oneshot: true })]);
  assert.deepEqual(r.issues.map((i) => [i.service, i.message]), [['api', 'waits for "db" to be completed, but db is not a oneshot (use started or healthy, or set oneshot: true on db)']]);
  assert.deepEqual([...r.blocked.keys()], ['api']);
});

test('a deep graph of 1000 services: nothing blocked, and a cycle at its root blocks all of it', () => {
  const tree = (root: ServiceSpec['dependsOn']) =>
    Array.from({ length: 1000 }, (_, i) => deps(`s${i}`, i === 0 ? root : { [`s${Math.floor((i - 1) / 2)}`]: 'started' }));
  assert.equal(graphIssues(tree({})).blocked.size, 0);
  assert.equal(graphIssues(tree({ s1: 'started' })).blocked.size, 1000);
});

test('a chain or a cycle of 5,000 services is analysed without deep recursion, in messages of bounded length', () => {
  const n = 5000;
  const chain = Array.from({ length: n }, (_, i) => service(`s${i}`, { dependsOn: { [i === n - 1 ? 'missing' : `s${i + 1}`]: 'started' } }));
  const r = graphIssues(chain);
  assert.equal(r.issues.length, 1);
  assert.equal(r.blocked.size, n);
  assert.equal(r.blocked.get('s0'), `waits for "s1", which cannot start: depends on "missing", which is not defined`);

  const ring = Array.from({ length: n }, (_, i) => service(`s${i}`, { dependsOn: { [`s${(i + 1) % n}`]: 'started' } }));
  const cycles = graphIssues(ring).issues;
  assert.equal(cycles.length, n);
  assert.equal(cycles[0]!.message, 'dependency cycle: s0 → s1 → s2 → s3 → s4 → … (4991 more) → s4996 → s4997 → s4998 → s4999 → s0');
  assert.deepEqual(cycles[1]!.cycle, ['s1', 's2', 's3', 's4', 's5', 's4997', 's4998', 's4999', 's0', 's1']);
});
