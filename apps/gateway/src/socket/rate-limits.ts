/** Whole milliseconds of a clock that never goes back (wall-clock steps must not refill a budget). */
export type Clock = () => number;

export const monotonicMs: Clock = () => Math.floor(performance.now());

/**
 * A per-connection budget checked synchronously on the hot path: `perSecond` sustained and a
 * burst of `burst` at once (a token bucket of `burst` tokens refilled at `perSecond` a second).
 *
 * Kept as GCRA: one number per key, the time at which the bucket would be full again. Times are
 * counted in 1/perSecond ms so that every step is integer arithmetic: the wait it answers is
 * exact, and a call made that many ms later is allowed. No timer: `forget` frees a key.
 */
export class TokenBucket {
  /** Per key: when the bucket is full again, in 1/perSecond ms since the clock's origin. */
  private readonly full = new Map<string, number>();
  private readonly perSecond: number;
  /** How far ahead of now `full` may be for a call to pass: (burst - 1) tokens. */
  private readonly tolerance: number;

  constructor(
    perSecond: number,
    burst: number,
    private readonly clock: Clock = monotonicMs,
  ) {
    this.perSecond = Math.max(1, Math.floor(perSecond));
    this.tolerance = (Math.max(1, Math.floor(burst)) - 1) * 1000;
  }

  /** Takes one call of `key`'s budget: 0 when it is allowed, else the ms until one would be. */
  take(key: string): number {
    const now = this.clock() * this.perSecond;
    const full = this.full.get(key);
    const from = full === undefined || full < now ? now : full;
    const over = from - this.tolerance - now;
    if (over > 0) return Math.ceil(over / this.perSecond);
    this.full.set(key, from + 1000);
    return 0;
  }

  forget(key: string): void {
    this.full.delete(key);
  }
}

/** `message:send` and updates per connection (RATE_LIMIT_PER_SEC, RATE_LIMIT_BURST). */
export class SendLimiter extends TokenBucket {}

/**
 * Every client event per connection, reads included (RATE_LIMIT_EVENTS_PER_SEC, _BURST): a join
 * or a history read can answer far more bytes than it costs to ask for.
 */
export class EventLimiter extends TokenBucket {}

/**
 * At most `count` calls per key in any `windowMs` (a window that slides: the times of the last
 * `count` allowed calls, in a ring).
 */
export class WindowLimiter {
  private readonly calls = new Map<string, { times: number[]; next: number }>();

  constructor(
    private readonly count: number,
    private readonly windowMs: number,
    private readonly clock: Clock = monotonicMs,
  ) {}

  /** Takes one call of `key`'s budget: 0 when it is allowed, else the ms until one would be. */
  take(key: string): number {
    const now = this.clock();
    const ring = this.calls.get(key);
    if (ring === undefined) {
      this.calls.set(key, { times: [now], next: 1 % this.count });
      return 0;
    }
    const { times, next } = ring;
    if (times.length < this.count) {
      times.push(now);
    } else {
      // times[next] is the oldest of the last `count` allowed calls.
      const wait = times[next] + this.windowMs - now;
      if (wait > 0) return wait;
      times[next] = now;
    }
    ring.next = (next + 1) % this.count;
    return 0;
  }

  forget(key: string): void {
    this.calls.delete(key);
  }
}

/**
 * `rooms:unread` per connection: `per10s` calls in any 10 s (RATE_LIMIT_UNREAD_PER_10S). One call
 * reads up to 200 rooms' cursors, so it has a budget of its own far below the event budget (which
 * it counts against as well): a client spending it does not touch its sends' budget.
 */
export class UnreadLimiter extends WindowLimiter {
  constructor(per10s: number, clock: Clock = monotonicMs) {
    super(Math.max(1, Math.floor(per10s)), 10_000, clock);
  }
}
