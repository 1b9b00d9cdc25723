#!/usr/bin/env node
// `tend` as built: dist/bin/tend.js runs the bundled CLI (tend.cjs beside it, from src/cli/index.ts)
// from V8's code cache (see src/util/code-cache.ts).

import { fileURLToPath } from 'node:url';
import { runCached } from '../util/code-cache.js';

const bundle = fileURLToPath(new URL('./tend.cjs', import.meta.url));
// Set by the build for the one run that writes the cache; not passed on to what tend starts.
const writeCache = process.env['TEND_WRITE_CODE_CACHE'] === '1';
delete process.env['TEND_WRITE_CODE_CACHE'];
runCached(bundle, `${bundle}.cache`, { writeCache });
