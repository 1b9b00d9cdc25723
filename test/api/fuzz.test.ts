// The API fuzzer (test/api/api-fuzz.ts), bounded for `npm test`: a few seconds of generated requests
// against the real server on a temp Unix socket. The long run is `npm run fuzz:api`.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fuzzApi } from './api-fuzz.js';

test('generated requests never get a 5xx, never hang, never crash the server', async () => {
  // A fixed number of requests (a few seconds on an idle machine), not a time budget: what the test
  // checks must not depend on how busy the machine is.
  const r = await fuzzApi({ numRuns: 500 });
  assert.equal(r.requests, 500);
  // The generator reaches past the router's front door: real routes answered, not only 400/404.
  assert.ok((r.statuses['200'] ?? 0) > 0, JSON.stringify(r.statuses));
  assert.ok((r.statuses['404'] ?? 0) > 0 && (r.statuses['400'] ?? 0) > 0, JSON.stringify(r.statuses));
});
