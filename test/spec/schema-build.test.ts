// The schema validator is compiled at build time (ajv standalone): the committed code must be the
// code the current schema compiles to, or validation would silently follow an old schema.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../helpers/index.js';
// @ts-expect-error: a plain .mjs module of the build, without types
import { generateValidatorSource } from '../../scripts/schema-validator-source.mjs';

test('src/spec/schema-validator.generated.ts is what schemas/service.schema.json compiles to', () => {
  const schema = readFileSync(join(ROOT, 'schemas/service.schema.json'), 'utf8');
  const committed = readFileSync(join(ROOT, 'src/spec/schema-validator.generated.ts'), 'utf8');
  assert.ok(committed === (generateValidatorSource as (s: string) => string)(schema), 'stale: run npm run build');
});

test('loading a spec does not load the ajv compiler', async () => {
  const { execFileSync } = await import('node:child_process');
  const script = `const { loadFiles } = await import(${JSON.stringify(join(ROOT, 'src/spec/load.ts'))}); await loadFiles([${JSON.stringify(join(ROOT, 'services.d/api.yaml'))}]); const { createRequire } = await import('node:module'); const req = createRequire(import.meta.url); console.log(Object.keys(req.cache).filter((k) => k.includes('/ajv/dist/') && !k.includes('/runtime/')).length);`;
  const out = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8', cwd: ROOT });
  assert.equal(out.trim(), '0');
});
