// The published JSON Schema (schemas/service.schema.json) checked with ajv, and ajv's errors turned
// into plain sentences that say what was expected and what was received, each tied to the path of
// the node at fault so that the caller can point at its line and column.

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { ErrorObject, ValidateFunction } from 'ajv';
import type { PathProblem, YamlPath } from './located.js';
import { didYouMean } from './suggest.js';
import { COMPOSE_KEYS } from './compose.js';
import { DURATION_HINT, SIZE_HINT } from './units.js';
// Compiled at build time (scripts/build-schema-validator.mjs): compiling the schema at start-up
// cost more than the rest of loading a small directory.
import generated from './schema-validator.generated.js';

type SchemaNode = Record<string, unknown>;

/** Absolute path of the schema file, two levels up from src/spec or dist/spec. */
export const SCHEMA_PATH = fileURLToPath(new URL('../../schemas/service.schema.json', import.meta.url));

const validate = generated as unknown as ValidateFunction;

let schemaCache: SchemaNode | undefined;

/** The schema as published, parsed (for docs and editors' sake; read-only). */
export function serviceSchema(): Readonly<SchemaNode> {
  schemaCache ??= JSON.parse(readFileSync(SCHEMA_PATH, 'utf8')) as SchemaNode;
  return schemaCache;
}

// What each shared definition expects, in words. ajv's verbose errors carry the schema node that
// failed; the generated code holds its own copies of the nodes, so a node is recognised by its
// JSON text (each definition has its own description, so the texts differ).
const EXPECTATIONS: Record<string, string> = {
  name: 'a name of lowercase letters, digits, "-" and "_" that starts with a letter or digit (at most 63 characters)',
  env_name: 'a variable name (letters, digits and "_", not starting with a digit)',
  env_value: 'a string, number or boolean',
  command: 'a string (run by /bin/sh -c) or a list of strings (argv)',
  depends_on: 'a list of service names or a mapping of service name to condition',
  condition: 'one of "started", "healthy", "completed"',
  probe: 'a mapping with one of exec, http or tcp (or, for readiness, notify: true)',
  port: 'a port number from 1 to 65535',
  duration: DURATION_HINT,
  size: SIZE_HINT,
  signal: 'a signal name such as SIGTERM',
  event_name: 'an event name (letters, digits, "_", ".", ":" and "-", starting with a letter or digit, at most 64 characters)',
};
let expectationsByText: Map<string, string> | undefined;

function knownExpectation(node: unknown): string | undefined {
  if (expectationsByText === undefined) {
    const defs = serviceSchema().definitions as Record<string, SchemaNode>;
    expectationsByText = new Map(Object.entries(EXPECTATIONS).map(([k, v]) => [JSON.stringify(defs[k]), v]));
  }
  return expectationsByText.get(JSON.stringify(node));
}

// Every problem the schema finds in one document, in document order, with plain-words messages.
export function schemaProblems(value: unknown): PathProblem[] {
  if (validate(value)) return [];
  const errors = validate.errors ?? [];
  const seen = new Set<string>();
  const out: PathProblem[] = [];
  for (const err of errors) {
    const p = translate(err);
    if (!p) continue;
    const key = `${p.path.join('\0')}\0${p.message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(p);
  }
  return out;
}

function pathOf(instancePath: string): YamlPath {
  if (instancePath === '') return [];
  return instancePath
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((s) => (/^\d+$/.test(s) ? Number(s) : s));
}

/** `backoff.initial`, `command[2]`: how a path reads in a message. */
export function label(path: YamlPath): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else out += out === '' ? seg : `.${seg}`;
  }
  return out === '' ? 'the service' : out;
}

/** A value as the user wrote it, for "got ..." in messages. */
export function describeValue(v: unknown): string {
  if (v === null || v === undefined) return 'nothing';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  return JSON.stringify(v);
}

function expectation(node: unknown): string {
  const known = knownExpectation(node);
  if (known) return known;
  const s = (node ?? {}) as SchemaNode;
  if (s.const !== undefined) return JSON.stringify(s.const);
  if (Array.isArray(s.enum)) return `one of ${s.enum.map((e) => JSON.stringify(e)).join(', ')}`;
  const types = ([] as unknown[]).concat(s.type ?? []);
  if (types.length === 1) {
    switch (types[0]) {
      case 'integer':
      case 'number': {
        const noun = types[0] === 'integer' ? 'an integer' : 'a number';
        if (s.minimum !== undefined && s.maximum !== undefined) return `${noun} from ${s.minimum} to ${s.maximum}`;
        if (s.minimum !== undefined) return `${noun} >= ${s.minimum}`;
        return noun;
      }
      case 'boolean':
        return 'true or false';
      case 'object':
        return 'a mapping';
      case 'array':
        return 'a list';
      case 'string':
        if (s.pattern === '^https?://') return 'an http:// or https:// URL';
        return 'a string';
    }
  }
  if (types.includes('string') && types.includes('integer') && s.maximum === 65535) return 'a port number from 1 to 65535 or a ${VAR} such as ${PORT}';
  const nouns = types.map((t) => ({ string: 'a string', integer: 'an integer', number: 'a number', boolean: 'a boolean', array: 'a list', object: 'a mapping' })[t as string] ?? String(t));
  return nouns.length > 1 ? `${nouns.slice(0, -1).join(', ')} or ${nouns.at(-1)}` : (nouns[0] ?? 'something else');
}

function allowedKeys(parentSchema: unknown): string[] {
  const props = ((parentSchema ?? {}) as SchemaNode).properties;
  return props && typeof props === 'object' ? Object.keys(props).filter((k) => !COMPOSE_KEYS.has(k)) : [];
}

function translate(err: ErrorObject): PathProblem | undefined {
  const path = pathOf(err.instancePath);
  const where = label(path);
  // The branches of a oneOf only say which key is missing; the oneOf error itself says it better.
  if (/\/oneOf\/\d+\//.test(err.schemaPath)) return undefined;
  // An invalid key name: the inner error carries the name, the outer `propertyNames` one repeats it.
  if (err.keyword === 'propertyNames') return undefined;
  const propertyName = (err as ErrorObject & { propertyName?: string }).propertyName;
  if (propertyName !== undefined) {
    return {
      path: [...path, propertyName],
      at: 'key',
      code: 'SPEC_INVALID',
      message: `key ${JSON.stringify(propertyName)} in ${where} must be ${expectation(err.parentSchema)}`,
    };
  }
  switch (err.keyword) {
    case 'additionalProperties': {
      const key = String((err.params as { additionalProperty: string }).additionalProperty);
      const keys = allowedKeys(err.parentSchema);
      const inWhat = path.length === 0 ? '' : ` in ${where}`;
      return {
        path: [...path, key],
        at: 'key',
        code: 'SPEC_INVALID',
        message: `unknown key ${JSON.stringify(key)}${inWhat}${didYouMean(key, keys) || ` (expected one of: ${keys.join(', ')})`}`,
      };
    }
    case 'required': {
      const missing = (err.params as { missingProperty: string }).missingProperty;
      const owner = path.length === 0 ? 'a service' : where;
      return { path, at: 'key', code: 'SPEC_INVALID', message: `${owner} needs a ${JSON.stringify(missing)} key` };
    }
    case 'oneOf': {
      const passing = (err.params as { passingSchemas: number[] | null }).passingSchemas;
      const kinds = ['exec', 'http', 'tcp', 'notify'];
      const choices = where === 'readiness' ? 'exec, http, tcp or notify' : 'exec, http or tcp'; // notify: readiness only
      const message =
        passing === null
          ? `${where} needs one of exec, http or tcp`
          : `${where} must have only one of ${choices}, got ${passing.map((i) => kinds[i]).join(' and ')}`;
      return { path, at: 'key', code: 'SPEC_INVALID', message };
    }
    case 'minLength':
    case 'minItems':
      return { path, at: 'value', code: 'SPEC_INVALID', message: `${where} must not be empty` };
    case 'uniqueItems': {
      const { i } = err.params as { i: number; j: number };
      const dup = (err.data as unknown[])[i];
      return { path, at: 'value', code: 'SPEC_INVALID', message: `${where} lists ${describeValue(dup)} twice` };
    }
    default:
      return {
        path,
        at: 'value',
        code: 'SPEC_INVALID',
        message: `${where} must be ${expectation(err.parentSchema)}, got ${describeValue(err.data)}`,
      };
  }
}
