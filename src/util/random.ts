// Random bytes for nonces and tokens, drawn from a pool refilled 4 KiB at a time. Each spawn takes
// two (a replica nonce, a notify token): one randomFillSync per spawn cost ~0.3 ms on a loaded
// 2-core machine, ~4% of a cold start of 3000 replicas. The bytes are the same CSPRNG output;
// Node's randomUUID caches its entropy the same way.

import { randomFillSync } from 'node:crypto';

const POOL_BYTES = 4096;
const pool = Buffer.alloc(POOL_BYTES);
let used = POOL_BYTES;

/** `n` fresh random bytes (n ≤ 4096); never handed out twice. */
export function randomBytesPooled(n: number): Buffer {
  if (n > POOL_BYTES) throw new RangeError(`at most ${POOL_BYTES} bytes at a time`);
  if (used + n > POOL_BYTES) {
    randomFillSync(pool);
    used = 0;
  }
  const out = Buffer.from(pool.subarray(used, used + n));
  pool.fill(0, used, used + n); // a secret handed out does not linger in the pool
  used += n;
  return out;
}
