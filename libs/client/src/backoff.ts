/**
 * Full-jitter exponential backoff (the AWS architecture blog's "full jitter"): a uniform delay
 * in [0, min(cap, base * 2^attempt)), so clients that lost the same gateway do not come back in
 * step.
 */
export function fullJitter(
  attempt: number,
  baseMs: number,
  capMs: number,
  random: () => number = Math.random,
): number {
  return Math.floor(random() * Math.min(capMs, baseMs * 2 ** Math.min(attempt, 30)));
}

/**
 * A token bucket mirroring one of the server's per-connection budgets, so the client paces itself
 * under it instead of being refused. `pause` holds it for a `retryAfterMs` the server named.
 */
export class Bucket {
  private tokens: number;
  private last: number;
  private until = 0;

  constructor(
    private rate: number,
    private burst: number,
    private readonly now: () => number = Date.now,
  ) {
    this.tokens = burst;
    this.last = now();
  }

  /** New limits (the session's), keeping what is spent. */
  setLimits(rate: number, burst: number): void {
    this.refill();
    this.rate = rate;
    this.burst = burst;
    this.tokens = Math.min(this.tokens, burst);
  }

  /** Nothing passes for `ms`, and the bucket starts empty after it. */
  pause(ms: number): void {
    this.until = Math.max(this.until, this.now() + ms);
    this.tokens = 0;
    this.last = this.until;
  }

  /** Takes a token and answers 0, or answers the ms until one may be taken (none is taken). */
  take(): number {
    const now = this.now();
    if (now < this.until) return this.until - now;
    this.refill();
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil(((1 - this.tokens) / this.rate) * 1000));
  }

  private refill(): void {
    const now = this.now();
    if (now > this.last) {
      this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 1000) * this.rate);
      this.last = now;
    }
  }
}
