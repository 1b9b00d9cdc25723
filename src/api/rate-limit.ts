// Slows down guessing of the listener's token: a token bucket of failed attempts per client address
// and one for all of them (a guesser with many addresses). While a bucket is empty every request
// from that address is refused with 429 before its token is even looked at, so the refusals give
// no answer to learn from. Pure apart from the clock, which is passed in.

export interface RateLimitOptions {
  /** Failures allowed in a burst per address. */
  burst: number;
  /** Failures per second regained per address. */
  perSecond: number;
  /** Burst and rate for all addresses together. */
  globalBurst: number;
  globalPerSecond: number;
  /** Addresses tracked at most (the oldest are forgotten). */
  maxClients: number;
}

export const DEFAULT_RATE_LIMIT: RateLimitOptions = { burst: 10, perSecond: 1, globalBurst: 100, globalPerSecond: 10, maxClients: 10_000 };

interface Bucket {
  tokens: number;
  at: number;
}

export class FailureLimiter {
  private readonly clients = new Map<string, Bucket>();
  private readonly global: Bucket;

  constructor(private readonly opts: RateLimitOptions = DEFAULT_RATE_LIMIT) {
    this.global = { tokens: opts.globalBurst, at: 0 };
  }

  /** Seconds to wait before `client` may try again; 0 when it may try now. */
  retryAfter(client: string, now: number): number {
    const own = this.clients.get(client);
    const wait = (b: Bucket | undefined, burst: number, rate: number) => {
      if (!b) return 0;
      const tokens = Math.min(burst, b.tokens + ((now - b.at) / 1000) * rate);
      return tokens >= 1 ? 0 : Math.ceil((1 - tokens) / rate);
    };
    return Math.max(wait(own, this.opts.burst, this.opts.perSecond), wait(this.global, this.opts.globalBurst, this.opts.globalPerSecond));
  }

  /** Records one failed attempt. */
  failed(client: string, now: number): void {
    const own = this.clients.get(client) ?? { tokens: this.opts.burst, at: now };
    this.take(own, this.opts.burst, this.opts.perSecond, now);
    this.clients.delete(client); // re-insert: the Map's order is then least recently failed first
    this.clients.set(client, own);
    if (this.clients.size > this.opts.maxClients) this.clients.delete(this.clients.keys().next().value as string);
    this.take(this.global, this.opts.globalBurst, this.opts.globalPerSecond, now);
  }

  private take(b: Bucket, burst: number, rate: number, now: number): void {
    b.tokens = Math.max(0, Math.min(burst, b.tokens + ((now - b.at) / 1000) * rate) - 1);
    b.at = now;
  }
}
