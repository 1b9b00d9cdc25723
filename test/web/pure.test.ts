// The page's and the scale route's pure parts: the SSE parser, the graph layout, the line diff.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { lineDiff } from '../../src/api/line-diff.js';
import { layoutGraph } from '../../src/web/graph-layout.js';
import { SseParser } from '../../src/web/sse.js';

test('SSE: messages split across chunks and line endings, comments skipped, the id kept', () => {
  const p = new SseParser();
  assert.deepEqual(p.push(': keep-alive\n\nid: 7\nevent: replica.ready\nda'), []);
  assert.deepEqual(p.push('ta: {"a":1}\r'), []);
  assert.deepEqual(p.push('\n\r\n'), [{ event: 'replica.ready', data: '{"a":1}', id: '7' }]);
  assert.deepEqual(p.push('data: x\ndata: y\n\n'), [{ event: 'message', data: 'x\ny', id: '7' }]);
  assert.equal(p.lastId, '7');
  assert.deepEqual(p.push('id: 8\n\n'), [], 'an id alone dispatches nothing');
  assert.equal(p.lastId, '8');
});

test('graph: a column per depth, edges carry conditions, a missing dependency is marked, a cycle still lays out', () => {
  const g = layoutGraph([
    { name: 'api', depends_on: [{ service: 'db', condition: 'healthy' }] },
    { name: 'db', depends_on: [] },
    { name: 'edge', depends_on: [{ service: 'api', condition: 'started' }, { service: 'cache', condition: 'started' }] },
  ]);
  const col = Object.fromEntries(g.nodes.map((n) => [n.name, n.column]));
  assert.deepEqual(col, { api: 1, cache: 0, db: 0, edge: 2 });
  assert.deepEqual(g.nodes.filter((n) => n.missing).map((n) => n.name), ['cache']);
  assert.deepEqual(g.edges[0], { from: 'db', to: 'api', condition: 'healthy' });
  assert.equal(g.columns, 3);
  const cyc = layoutGraph([
    { name: 'a', depends_on: [{ service: 'b', condition: 'started' }] },
    { name: 'b', depends_on: [{ service: 'a', condition: 'started' }] },
  ]);
  assert.equal(cyc.nodes.length, 2);
});

test('line diff: one hunk with context; an insertion; equal texts give nothing', () => {
  const before = 'a\nb\nreplicas: 1\nc\nd\ne\n';
  assert.equal(
    lineDiff(before, before.replace('replicas: 1', 'replicas: 3'), 'web.yaml'),
    '--- a/web.yaml\n+++ b/web.yaml\n@@ -1,5 +1,5 @@\n a\n b\n-replicas: 1\n+replicas: 3\n c\n d\n',
  );
  assert.equal(lineDiff('name: x\ncmd: y\n', 'name: x\nreplicas: 2\ncmd: y\n', 'f.yaml', 1), '--- a/f.yaml\n+++ b/f.yaml\n@@ -1,2 +1,3 @@\n name: x\n+replicas: 2\n cmd: y\n');
  assert.equal(lineDiff('same', 'same', 'f'), '');
});
