// Port names in exported objects: a tend port is an environment variable name (PORT, port and
// PROMETHEUS_METRICS_PORT_TLS are all fine), but Kubernetes names ports as IANA service names and
// Nomad labels them, and both refuse a name used twice. Each case is a list of `ports:` names and
// the names the export gives them, in order.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { k8sPortNames, NomadPortLabels } from '../../src/export/port-names.js';

// Kubernetes' IANA_SVC_NAME (validation.IsValidPortName).
const IANA_SVC_NAME = /^(?=.*[a-z])(?!-)(?!.*--)[a-z0-9-]{1,15}(?<!-)$/;

// [ports: names, the names given, the notes given (undefined: none; a RegExp: one that matches)]
const K8S_CASES: Record<string, [string[], string[], (RegExp | undefined)[]]> = {
  'everything is good; do nothing': [['PORT'], ['port'], [undefined]],
  'lower case with - for _, no note': [['DB_PORT', 'ADMIN', '_X_'], ['db-port', 'admin', 'x'], [undefined, undefined, undefined]],
  'exactly 15 characters is kept': [['ABCDEFGHIJ_LMNO'], ['abcdefghij-lmno'], [undefined]],
  'a longer name is shortened, and says so': [['PROMETHEUS_METRICS_PORT'], ['prometheus-metr'], [/^shortened: port names are at most 15 characters$/]],
  'a cut that would end in - drops it': [['METRICS_PORT_X_Y'], ['metrics-port-x'], [/^shortened/]],
  'two long names with the same first 15 characters: the second is numbered (the tester\'s repro)': [
    ['PROMETHEUS_METRICS_PORT', 'PROMETHEUS_METRICS_PORT_TLS'],
    ['prometheus-metr', 'prometheus-me-2'],
    [/^shortened/, /^shortened and numbered: prometheus-metr is PROMETHEUS_METRICS_PORT's$/],
  ],
  'names that differ only in case are numbered': [['PORT', 'port'], ['port', 'port-2'], [undefined, /^numbered: port is PORT's$/]],
  'runs of _ that become one -': [['A__B', 'A_B'], ['a-b', 'a-b-2'], [undefined, /^numbered: a-b is A__B's$/]],
  'a name that fits is never displaced by a numbered one': [['PORT', 'port', 'PORT_2'], ['port', 'port-3', 'port-2'], [undefined, /^numbered: port is PORT's$/, undefined]],
  'a name without a letter gets one': [['_8080', '__8080'], ['p-8080', 'p-8080-2'], [/^p- added: a port name needs a letter$/, /^p- added and numbered: p-8080 is _8080's$/]],
  'a name whose only letter is last, and fits': [['_123456789012_A'], ['123456789012-a'], [undefined]],
  'a long name whose only letter would be cut off': [['_1234567890123456_A'], ['p-1234567890123'], [/^p- added and shortened: port names are at most 15 characters$/]],
  'ten names with the same first 15 characters': [
    Array.from({ length: 10 }, (_, i) => `ABCDEFGHIJKLMNOP${i}`),
    ['abcdefghijklmno', ...Array.from({ length: 8 }, (_, i) => `abcdefghijklm-${i + 2}`), 'abcdefghijkl-10'],
    Array.from({ length: 10 }, () => /^shortened/),
  ],
};

test('Kubernetes port names: valid IANA service names, unique, the same for the same input', () => {
  for (const [desc, [input, names, notes]] of Object.entries(K8S_CASES)) {
    const got = k8sPortNames(input);
    assert.deepEqual(input.map((n) => got.get(n)!.name), names, desc);
    input.forEach((n, i) => {
      const note = got.get(n)!.note;
      if (notes[i] === undefined) assert.equal(note, undefined, `${desc}: ${n}`);
      else assert.match(note ?? '', notes[i]!, `${desc}: ${n}`);
    });
    for (const n of names) assert.match(n, IANA_SVC_NAME, `${desc}: ${n}`);
    assert.equal(new Set(names).size, names.length, `${desc}: unique`);
    assert.deepEqual(k8sPortNames(input), got, `${desc}: deterministic`);
  }
});

// Each step asks a group's labels for a port: [kind, name or number, preferred label] → label.
type Step = ['dynamic', string, string] | ['reserved', number, string];
const NOMAD_CASES: Record<string, [Step[], string[]]> = {
  'everything is good; do nothing': [[['dynamic', 'PORT', 'port']], ['port']],
  'names that differ only in case get two dynamic ports': [[['dynamic', 'PORT', 'port'], ['dynamic', 'port', 'port']], ['port', 'port_2']],
  'the same name in two tasks of a group shares its dynamic port': [[['dynamic', 'PORT', 'port'], ['dynamic', 'PORT', 'port']], ['port', 'port']],
  'one reservation per number': [[['reserved', 8080, 'port'], ['reserved', 8080, 'port_8080']], ['port', 'port']],
  'the same name at another number (a prestart oneshot\'s PORT) is another reservation': [[['reserved', 8080, 'port'], ['reserved', 5000, 'port']], ['port', 'port_2']],
  'a probe\'s fixed port does not take a dynamic port\'s label': [[['dynamic', 'PORT_9000', 'port_9000'], ['reserved', 9000, 'port_9000']], ['port_9000', 'port_9000_2']],
  'a numbered label already taken is skipped': [[['dynamic', 'PORT', 'port'], ['dynamic', 'PORT_2', 'port_2'], ['dynamic', 'port', 'port']], ['port', 'port_2', 'port_3']],
};

test('Nomad port labels: unique in a group, one per dynamic name and one per reserved number', () => {
  for (const [desc, [steps, labels]] of Object.entries(NOMAD_CASES)) {
    const group = new NomadPortLabels();
    const got = steps.map((s) => (s[0] === 'dynamic' ? group.dynamic(s[1], s[2]) : group.reserved(s[1], s[2])));
    assert.deepEqual(got, labels, desc);
    const all = [...group.dynamicPorts.map((p) => p.Label), ...group.reservedPorts.map((p) => p.Label)];
    assert.equal(new Set(all).size, all.length, `${desc}: unique in the group's network`);
    assert.deepEqual(new Set(all), new Set(labels), `${desc}: every label is in the network`);
  }
});
