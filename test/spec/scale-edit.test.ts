// setReplicas table: every byte but the number stays; an absent key is added in the document's
// own style; several documents edit the right one.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setReplicas } from '../../src/spec/scale-edit.js';
import { TendError } from '../../src/errors.js';

const cases: Record<string, { file?: string; service?: string; n?: number; text: string; want: string }> = {
  'a plain number with comments around it: only the digits change': {
    text: '# web tier\ncommand: ["node",   "server.js"]   # flow seq kept as written\nreplicas: 2    # two\nenv:\n  A: "1"\n',
    want: '# web tier\ncommand: ["node",   "server.js"]   # flow seq kept as written\nreplicas: 10    # two\nenv:\n  A: "1"\n',
    n: 10,
  },
  'a quoted number becomes a plain one': {
    text: 'command: x\nreplicas: "2"\n',
    want: 'command: x\nreplicas: 4\n',
  },
  'a key with no value gets one': {
    text: 'command: x\nreplicas:\nenv: {}\n',
    want: 'command: x\nreplicas: 4\nenv: {}\n',
  },
  'absent key: added after name:, at the map\'s indentation': {
    text: 'command: [a]\nname: web\nenv:\n  A: b\n',
    want: 'command: [a]\nname: web\nreplicas: 4\nenv:\n  A: b\n',
  },
  'absent key without name: added after the first key and its block value': {
    text: '# c\ncommand:\n  - node\n  - x.js\n# about env\nenv: {}\n',
    want: '# c\ncommand:\n  - node\n  - x.js\nreplicas: 4\n# about env\nenv: {}\n',
  },
  'absent key after a value with a trailing comment': {
    text: 'command: x   # run x\nenv: {}\n',
    want: 'command: x   # run x\nreplicas: 4\nenv: {}\n',
  },
  'absent key in a file without a final newline': {
    text: 'command: x',
    want: 'command: x\nreplicas: 4',
  },
  'a flow map: the number is spliced': {
    text: '{ command: [a, b], replicas: 2 }  # compact\n',
    want: '{ command: [a, b], replicas: 4 }  # compact\n',
  },
  'a flow map without the key: added after the first pair': {
    text: '{ command: [a, b], env: {} }\n',
    want: '{ command: [a, b], replicas: 4, env: {} }\n',
  },
  'several documents: only the named one changes': {
    file: 'all.yaml',
    service: 'worker',
    text: '---\nname: web\nreplicas: 2\ncommand: x\n---\n# the worker\nname: worker\nreplicas: 2 # keep\ncommand: y\n',
    want: '---\nname: web\nreplicas: 2\ncommand: x\n---\n# the worker\nname: worker\nreplicas: 4 # keep\ncommand: y\n',
  },
  'several documents, key absent in the named one, indented map': {
    file: 'all.yaml',
    service: 'worker',
    text: 'name: web\ncommand: x\n---\n  name: worker\n  command: y\n',
    want: 'name: web\ncommand: x\n---\n  name: worker\n  replicas: 4\n  command: y\n',
  },
  'CRLF line endings are kept around the number': {
    text: 'command: x\r\nreplicas: 1\r\n',
    want: 'command: x\r\nreplicas: 4\r\n',
  },
  'CRLF: an added line ends like the others': {
    text: 'command: x\r\nenv: {}\r\n',
    want: 'command: x\r\nreplicas: 4\r\nenv: {}\r\n',
  },
};

for (const [name, c] of Object.entries(cases)) {
  test(`setReplicas: ${name}`, () => {
    assert.equal(setReplicas(c.text, `/specs/${c.file ?? 'web.yaml'}`, c.service ?? 'web', c.n ?? 4), c.want);
  });
}

test('setReplicas: a file that does not define the service is API_NOT_FOUND', () => {
  assert.throws(
    () => setReplicas('name: web\ncommand: x\n---\nname: db\ncommand: y\n', '/specs/all.yaml', 'worker', 1),
    (err: unknown) => err instanceof TendError && err.code === 'API_NOT_FOUND' && /does not define service "worker"/.test(err.message),
  );
});

test('setReplicas: a document that does not parse is refused, not rewritten', () => {
  assert.throws(
    () => setReplicas('command: [a\nreplicas: 2\n', '/specs/web.yaml', 'web', 3),
    (err: unknown) => err instanceof TendError && err.code === 'SPEC_PARSE',
  );
});

test('setReplicas: a non-number replicas value is refused', () => {
  assert.throws(
    () => setReplicas('command: x\nreplicas: [1]\n', '/specs/web.yaml', 'web', 3),
    (err: unknown) => err instanceof TendError && err.code === 'SPEC_INVALID',
  );
});
