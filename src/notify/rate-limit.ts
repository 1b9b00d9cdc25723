// A token bucket per replica: a chatty child may burst, but over time it gets `ratePerSec`
// messages through and the rest are dropped (and counted) before tend parses them.

export interface Bucket {
  tokens: number;
  at: number;
}

export class RateLimiter {
  constructor(
    readonly ratePerSec: number,
    readonly burst: number,
    private readonly now: () => number = () => performance.now(),
  ) {}

  fresh(): Bucket {
    return { tokens: this.burst, at: this.now() };
  }

  /** Takes one token; false when the bucket is empty (the message is to be dropped). */
  take(b: Bucket): boolean {
    const t = this.now();
    b.tokens = Math.min(this.burst, b.tokens + ((t - b.at) / 1000) * this.ratePerSec);
    b.at = t;
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }
}
