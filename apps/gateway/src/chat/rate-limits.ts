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
  allow(key: string): Promise<boolean> {
    return take(this.limiter, key);
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

/**
 * `rooms:unread` per connection: `per10s` calls in any 10 s (RATE_LIMIT_UNREAD_PER_10S). One call
 * reads up to 200 rooms' cursors, so it has a budget of its own far below the event budget (which
 * it counts against as well): a client spending it does not touch its sends' budget.
 */
export class UnreadLimiter {
  private readonly limiter: RateLimiterMemory;

  constructor(per10s: number) {
    this.limiter = new RateLimiterMemory({ keyPrefix: 'unread', points: per10s, duration: 10 });
  }

  allow(key: string): Promise<boolean> {
    return take(this.limiter, key);
  }

  forget(key: string): void {
    void this.limiter.delete(key).catch(() => undefined);
  }
}

/** One point of `key`'s budget: false when it is spent (the limiter rejects with its state). */
async function take(limiter: RateLimiterMemory | BurstyRateLimiter, key: string): Promise<boolean> {
  try {
    await limiter.consume(key, 1);
    return true;
  } catch (res) {
    if (res instanceof Error) throw res;
    return false;
  }
}
