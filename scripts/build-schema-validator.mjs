#!/usr/bin/env node
// Compiles schemas/service.schema.json into standalone validation code (ajv standalone), so that
// neither the daemon nor `tend validate` compiles the schema at start-up. Run by `npm run build`;
// the output is committed too (tests run from src/), and a test checks that it is up to date.
//   node scripts/build-schema-validator.mjs          write src/spec/schema-validator.generated.ts
//   node scripts/build-schema-validator.mjs --print  print it instead
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { generateValidatorSource } from './schema-validator-source.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const source = generateValidatorSource(readFileSync(`${root}schemas/service.schema.json`, 'utf8'));
if (process.argv.includes('--print')) process.stdout.write(source);
else {
  const out = `${root}src/spec/schema-validator.generated.ts`;
  let old = '';
  try {
    old = readFileSync(out, 'utf8');
  } catch {}
  if (old !== source) writeFileSync(out, source);
}
