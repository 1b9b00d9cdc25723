// docs/spec.md is the user's reference: every property of the schema must be documented there, and
// every property must carry a description for editors.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { serviceSchema } from '../../src/spec/schema.js';
import { ROOT } from '../helpers/index.js';

type Node = Record<string, unknown>;

// Every property path (`backoff.initial`, `readiness.http.url`), following $refs, with its node.
function propertyPaths(schema: Node): [string, Node][] {
  const defs = schema.definitions as Record<string, Node>;
  const deref = (n: Node): Node => (typeof n.$ref === 'string' ? { ...defs[n.$ref.split('/').pop()!], ...n } : n);
  const out: [string, Node][] = [];
  const walk = (node: Node, prefix: string) => {
    const props = deref(node).properties as Record<string, Node> | undefined;
    for (const [key, child] of Object.entries(props ?? {})) {
      const path = prefix ? `${prefix}.${key}` : key;
      out.push([path, deref(child)]);
      walk(child, path);
    }
  };
  walk(schema, '');
  return out;
}

test('every schema property appears in docs/spec.md', () => {
  const docs = readFileSync(join(ROOT, 'docs/spec.md'), 'utf8');
  const paths = propertyPaths(serviceSchema() as Node).map(([p]) => p);
  assert.ok(paths.includes('readiness.http.url') && paths.includes('liveness.tcp.port') && paths.includes('update.max_surge'));
  const missing = paths.filter((p) => !docs.includes(`\`${p}\``));
  assert.deepEqual(missing, []);
});

test('every schema property has a description', () => {
  const undocumented = propertyPaths(serviceSchema() as Node)
    .filter(([, node]) => typeof node.description !== 'string' || node.description.length < 10)
    .map(([p]) => p);
  assert.deepEqual(undocumented, []);
});

test('the demo files point editors at the schema', () => {
  for (const name of ['api', 'db', 'migrate', 'worker', 'indexer']) {
    const text = readFileSync(join(ROOT, 'services.d', `${name}.yaml`), 'utf8');
    assert.ok(text.startsWith('# yaml-language-server: $schema=../schemas/service.schema.json\n'), name);
  }
});
