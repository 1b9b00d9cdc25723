// FailureLimiter with a clock passed in: the burst, the refill, per-client and global buckets.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FailureLimiter } from '../../src/api/rate-limit.js';

const opts = { burst: 3, perSecond: 1, globalBurst: 5, globalPerSecond: 2, maxClients: 2 };

test('a client may fail `burst` times; then it waits until one attempt has been regained', () => {
  const l = new FailureLimiter(opts);
  for (let i = 0; i < 3; i++) {
    assert.equal(l.retryAfter('a', 0), 0);
    l.failed('a', 0);
  }
  assert.equal(l.retryAfter('a', 0), 1);
  assert.equal(l.retryAfter('a', 999), 1);
  assert.equal(l.retryAfter('a', 1000), 0);
  assert.equal(l.retryAfter('b', 0), 0, 'another client is not slowed by a');
});

test('all clients together are bounded by the global bucket', () => {
  const l = new FailureLimiter(opts);
  for (const c of ['a', 'b', 'c', 'd', 'e']) l.failed(c, 0);
  assert.equal(l.retryAfter('f', 0), 1);
  assert.equal(l.retryAfter('f', 500), 0);
});

test('the oldest clients are forgotten past maxClients', () => {
  const l = new FailureLimiter({ ...opts, globalBurst: 100 });
  for (let i = 0; i < 3; i++) l.failed('a', 0);
  l.failed('b', 0);
  l.failed('c', 0); // a is forgotten (maxClients 2)
  assert.equal(l.retryAfter('a', 0), 0);
});
