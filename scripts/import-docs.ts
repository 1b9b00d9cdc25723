// npm run docs:import — rewrites the mapping tables of docs/import.md from src/import/*.ts.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { withMappingTables } from '../src/import/docs.js';

const path = join(fileURLToPath(new URL('..', import.meta.url)), 'docs', 'import.md');
const before = readFileSync(path, 'utf8');
const after = withMappingTables(before);
if (after !== before) writeFileSync(path, after);
console.log(after === before ? 'docs/import.md is up to date' : 'docs/import.md updated');
