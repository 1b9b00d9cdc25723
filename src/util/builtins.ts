// Node's own modules that only some work needs (a request to a daemon, an http probe), loaded at
// their first use rather than with the module that uses them: node:http took ~1.5 ms to load and
// node:https ~1 ms more, on the way to a daemon's first replica, which needs neither
// (bench/FINDINGS.md §16).

import { createRequire } from 'node:module';

const load = createRequire(import.meta.url);
let http: typeof import('node:http') | undefined;
let https: typeof import('node:https') | undefined;
let v8: typeof import('node:v8') | undefined;

export const nodeHttp = (): typeof import('node:http') => (http ??= load('node:http') as typeof import('node:http'));
export const nodeHttps = (): typeof import('node:https') => (https ??= load('node:https') as typeof import('node:https'));
/** node:v8, for the memory reducer's looks at the heap, which come after a burst of work: ~1 ms and
 *  ~17 pages of a daemon's start-up otherwise (bench/FINDINGS.md §19). */
export const nodeV8 = (): typeof import('node:v8') => (v8 ??= load('node:v8') as typeof import('node:v8'));
