import { BurstyRateLimiter, RateLimiterMemory } from 'rate-limiter-flexible';

/**
 * A per-connection budget: `perSecond` sustained, and a burst of `burst` in all
 * (rate-limiter-flexible's BurstyRateLimiter: the burst pool refills over 10 s).
 */
export class BurstLimiter {
  private readonly base: RateLimiterMemory;
  private readonly extra: RateLimiterMemory;
  private readonly limiter: BurstyRateLimiter;

  constructor(perSecond: number, burst: number) {
    this.base = new RateLimiterMemory({ points: perSecond, duration: 1 });
    this.extra = new RateLimiterMemory({
      keyPrefix: 'burst',
      points: Math.max(1, burst - perSecond),
      duration: 10,
    });
    this.limiter = new BurstyRateLimiter(this.base, this.extra);
  }

  /** True when `key` may send now. */
  async allow(key: string): Promise<boolean> {
    try {
      await this.limiter.consume(key, 1);
      return true;
    } catch (res) {
      if (res instanceof Error) throw res;
      return false;
    }
  }

  forget(key: string): void {
    void this.base.delete(key).catch(() => undefined);
    void this.extra.delete(key).catch(() => undefined);
  }
}

/** `message:send` per connection (RATE_LIMIT_PER_SEC, RATE_LIMIT_BURST). */
export class SendLimiter extends BurstLimiter {}

/**
 * Every client event per connection, reads included (RATE_LIMIT_EVENTS_PER_SEC, _BURST): a join
 * or a history read can answer far more bytes than it costs to ask for.
 */
export class EventLimiter extends BurstLimiter {}
