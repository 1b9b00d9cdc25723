// Dependency analysis: start levels, what is blocked and why, cycles with their whole path,
// and who depends on whom.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkGraph, dependentsOf, graphIssues, stopLevels } from '../../src/graph/graph.js';
import type { ServiceSpec } from '../../src/spec/types.js';
import { service } from '../helpers/spec.js';

const deps = (name: string, dependsOn: ServiceSpec['dependsOn'] = {}, over: Partial<ServiceSpec> = {}) => service(name, { dependsOn, ...over });

test('everything is good: levels in start order, nothing blocked, no problems', () => {
  const r = checkGraph([
    deps('api', { db: 'healthy', migrate: 'completed' }),
    deps('worker', { db: 'started' }),
    deps('migrate', { db: 'healthy' }, { oneshot: true }),
    deps('db'),
    deps('web', { api: 'healthy' }),
    deps('metrics'),
  ]);
  assert.deepEqual(r.problems, []);
  assert.deepEqual([...r.blocked], []);
  assert.deepEqual(r.levels, [['db', 'metrics'], ['migrate', 'worker'], ['api'], ['web']]);
  assert.deepEqual(stopLevels(r.levels), [['web'], ['api'], ['migrate', 'worker'], ['db', 'metrics']]);
});

test('an empty set of services has no levels', () => {
  assert.deepEqual(checkGraph([]), { problems: [], blocked: new Map(), levels: [] });
});

test('a cycle blocks its members and whoever waits on them, and names the whole path', () => {
  const r = checkGraph([deps('a', { b: 'started' }), deps('b', { c: 'healthy' }), deps('c', { a: 'started' }), deps('d', { a: 'started' }), deps('e')]);
  assert.deepEqual(r.problems.map((p) => [p.service, p.code, p.message]), [
    ['a', 'GRAPH_CYCLE', 'dependency cycle: a → b → c → a'],
    ['b', 'GRAPH_CYCLE', 'dependency cycle: b → c → a → b'],
    ['c', 'GRAPH_CYCLE', 'dependency cycle: c → a → b → c'],
  ]);
  assert.deepEqual(r.blocked.get('a'), 'dependency cycle: a → b → c → a');
  assert.deepEqual(r.blocked.get('d'), 'waits for "a", which cannot start: dependency cycle: a → b → c → a');
  assert.deepEqual(r.levels, [['e']]);
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
  const r = checkGraph([deps('a', { a: 'started' }), deps('b', { a: 'healthy' })]);
  assert.deepEqual(r.problems.map((p) => p.message), ['"a" depends on itself']);
  assert.deepEqual([...r.blocked.keys()], ['a', 'b']);
});

test('an unknown dependency blocks only the services that need it, with a suggestion', () => {
  const r = checkGraph([deps('api', { dbb: 'healthy' }), deps('db'), deps('web', { api: 'started' }), deps('other')]);
  assert.deepEqual(r.problems.map((p) => [p.code, p.file, p.line, p.message]), [['GRAPH_MISSING_DEP', '/specs/api.yaml', 1, 'depends on "dbb", which is not defined, did you mean "db"?']]);
  assert.deepEqual([...r.blocked.keys()].sort(), ['api', 'web']);
  assert.deepEqual(r.levels, [['db', 'other']]);
});

test('a completed condition on a service that is not a oneshot is a problem; on a oneshot it is fine', () => {
  const r = checkGraph([deps('api', { db: 'completed' }), deps('db'), deps('web', { job: 'completed' }), deps('job', {}, { oneshot: true })]);
  assert.deepEqual(r.problems.map((p) => [p.service, p.message]), [['api', 'waits for "db" to be completed, but db is not a oneshot (use started or healthy, or set oneshot: true on db)']]);
  assert.deepEqual([...r.blocked.keys()], ['api']);
  assert.deepEqual(r.levels, [['db', 'job'], ['web']]);
});

test('dependents, direct and transitive', () => {
  const services = [deps('db'), deps('api', { db: 'healthy' }), deps('web', { api: 'healthy' }), deps('worker', { db: 'started' }), deps('lone')];
  assert.deepEqual(dependentsOf(services, 'db'), ['api', 'worker']);
  assert.deepEqual(dependentsOf(services, 'db', { transitive: true }), ['api', 'web', 'worker']);
  assert.deepEqual(dependentsOf(services, 'lone'), []);
});

test('a wide graph of 1000 services is analysed quickly', () => {
  const services = Array.from({ length: 1000 }, (_, i) => deps(`s${i}`, i === 0 ? {} : { [`s${Math.floor((i - 1) / 2)}`]: 'started' }));
  const started = performance.now();
  const r = checkGraph(services);
  assert.ok(performance.now() - started < 500);
  assert.equal(r.levels.flat().length, 1000);
  assert.equal(r.levels.length, 10);
});
