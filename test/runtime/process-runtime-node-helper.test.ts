// Every ProcessRuntime test, and every spawn helper test, through node's spawn helper
// (libexec/tend-spawn-helper.mjs): what a machine without a C compiler runs.

process.env['TEND_TEST_RUNTIME'] = 'node-helper';
await import('./process-runtime-helper.test.js');
