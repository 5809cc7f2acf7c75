import fc from 'fast-check';
import { runFuzz } from '@roomcast/testing';
import { TokenBucket, UnreadLimiter, WindowLimiter } from './rate-limits';

/** A clock the test moves by hand. */
function manualClock(start = 0) {
  const clock = { now: start, read: () => clock.now };
  return clock;
}

/** How many of `n` calls at the clock's current time pass. */
function burstOf(limiter: { take(key: string): number }, n: number, key = 'k'): number {
  let passed = 0;
  for (let i = 0; i < n; i++) if (limiter.take(key) === 0) passed++;
  return passed;
}

describe('TokenBucket: perSecond sustained, a burst of burst', () => {
  it('lets a burst through at once, then answers the exact wait for the next token', () => {
    const clock = manualClock(1_000);
    const bucket = new TokenBucket(5, 10, clock.read);
    expect(burstOf(bucket, 10)).toBe(10);
    expect(bucket.take('k')).toBe(200);
    clock.now += 199;
    expect(bucket.take('k')).toBe(1);
    clock.now += 1;
    expect(bucket.take('k')).toBe(0);
    expect(bucket.take('k')).toBe(200);
  });

  it('rounds a fractional interval up to whole ms, and the call at that ms passes', () => {
    const clock = manualClock();
    const bucket = new TokenBucket(3, 1, clock.read);
    expect(bucket.take('k')).toBe(0);
    // One token every 333.3 ms.
    expect(bucket.take('k')).toBe(334);
    clock.now = 333;
    expect(bucket.take('k')).toBe(1);
    clock.now = 334;
    expect(bucket.take('k')).toBe(0);
  });

  it('sustains perSecond once the burst is spent: burst + 20/s over 10 s of calls every ms', () => {
    const clock = manualClock();
    const bucket = new TokenBucket(20, 40, clock.read);
    let passed = 0;
    for (clock.now = 0; clock.now <= 10_000; clock.now++) if (bucket.take('k') === 0) passed++;
    expect(passed).toBe(40 + 200);
    // Steady state: one every 50 ms, and each refusal names the ms of the next token.
    clock.now = 20_000;
    const fresh = new TokenBucket(20, 1, clock.read);
    for (let i = 0; i < 100; i++) {
      expect(fresh.take('k')).toBe(0);
      expect(fresh.take('k')).toBe(50);
      clock.now += 50;
    }
  });

  it('refills to the burst and no further, however long a connection was idle', () => {
    const clock = manualClock();
    const bucket = new TokenBucket(5, 10, clock.read);
    expect(burstOf(bucket, 12)).toBe(10);
    clock.now += 1_000; // 5 tokens back
    expect(burstOf(bucket, 12)).toBe(5);
    clock.now += 3_600_000;
    expect(burstOf(bucket, 12)).toBe(10);
  });

  it('keeps keys apart, and a forgotten key starts with a full burst', () => {
    const clock = manualClock();
    const bucket = new TokenBucket(1, 2, clock.read);
    expect(burstOf(bucket, 3, 'a')).toBe(2);
    expect(burstOf(bucket, 3, 'b')).toBe(2);
    expect(bucket.take('a')).toBe(1_000);
    bucket.forget('a');
    expect(burstOf(bucket, 3, 'a')).toBe(2);
    expect(bucket.take('b')).toBe(1_000);
  });

  it('never lets more through in any window than the budget, answers exact waits, and agrees with a bucket of thousandths of a token (property)', async () => {
    await runFuzz(
      'token bucket budget',
      fc.property(
        fc.integer({ min: 1, max: 60 }),
        fc.integer({ min: 1, max: 80 }),
        fc.nat(1e9),
        fc.array(
          fc.record({
            gapMs: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 40 }), fc.nat(5_000)),
            // After a refusal: try again exactly when told (probing the ms before first).
            retry: fc.boolean(),
          }),
          { maxLength: 400 },
        ),
        (perSecond, burst, start, steps) => {
          const clock = manualClock(start);
          const bucket = new TokenBucket(perSecond, burst, clock.read);
          // Reference: a token bucket counted in thousandths of a token, full at the start.
          let milli = burst * 1000;
          let last = clock.now;
          const reference = (): number => {
            milli = Math.min(burst * 1000, milli + (clock.now - last) * perSecond);
            last = clock.now;
            if (milli >= 1000) {
              milli -= 1000;
              return 0;
            }
            return Math.ceil((1000 - milli) / perSecond);
          };
          const allowed: number[] = [];
          const call = (): number => {
            const wait = bucket.take('k');
            expect(wait).toBe(reference());
            expect(Number.isInteger(wait) && wait >= 0).toBe(true);
            if (wait === 0) allowed.push(clock.now);
            return wait;
          };
          for (const { gapMs, retry } of steps) {
            clock.now += gapMs;
            const wait = call();
            if (wait > 0 && retry) {
              if (wait > 1) {
                clock.now += wait - 1;
                expect(call()).toBe(1);
              }
              clock.now += 1;
              expect(call()).toBe(0);
            }
          }
          // Any calls i..j that passed: at most burst + perSecond per second between them.
          for (let i = 0; i < allowed.length; i++) {
            for (let j = i; j < allowed.length; j++) {
              const budget = burst + Math.floor(((allowed[j] - allowed[i]) * perSecond) / 1000);
              expect(j - i + 1).toBeLessThanOrEqual(budget);
            }
          }
        },
      ),
      { defaultRuns: 300 },
    );
  });
});

describe('UnreadLimiter: per10s calls in any 10 s', () => {
  it('lets per10s through, then answers the wait until the oldest leaves the window', () => {
    const clock = manualClock(50);
    const unread = new UnreadLimiter(10, clock.read);
    for (let i = 0; i < 10; i++) {
      expect(unread.take('k')).toBe(0);
      clock.now += 100;
    }
    // The first passed at 50, now is 1050.
    expect(unread.take('k')).toBe(9_000);
    clock.now += 8_999;
    expect(unread.take('k')).toBe(1);
    clock.now += 1;
    expect(unread.take('k')).toBe(0);
    // The second passed at 150.
    expect(unread.take('k')).toBe(100);
  });

  it('keeps keys apart, and a forgotten key starts afresh', () => {
    const clock = manualClock();
    const unread = new UnreadLimiter(2, clock.read);
    expect(burstOf(unread, 3, 'a')).toBe(2);
    expect(burstOf(unread, 3, 'b')).toBe(2);
    unread.forget('a');
    expect(burstOf(unread, 3, 'a')).toBe(2);
    expect(unread.take('b')).toBe(10_000);
  });

  it('never lets more than count through in any window, passes exactly when under it, and a call at the wait passes (property)', async () => {
    await runFuzz(
      'window limiter budget',
      fc.property(
        fc.integer({ min: 1, max: 20 }),
        fc.integer({ min: 1, max: 20_000 }),
        fc.array(
          fc.record({
            gapMs: fc.oneof(fc.constant(0), fc.nat(500), fc.nat(30_000)),
            retry: fc.boolean(),
          }),
          { maxLength: 300 },
        ),
        (count, windowMs, steps) => {
          const clock = manualClock();
          const limiter = new WindowLimiter(count, windowMs, clock.read);
          const allowed: number[] = [];
          const call = (): number => {
            const inWindow = allowed.filter((t) => t > clock.now - windowMs);
            const expected = inWindow.length < count ? 0 : inWindow[0] + windowMs - clock.now;
            const wait = limiter.take('k');
            expect(wait).toBe(expected);
            if (wait === 0) allowed.push(clock.now);
            return wait;
          };
          for (const { gapMs, retry } of steps) {
            clock.now += gapMs;
            const wait = call();
            if (wait > 0 && retry) {
              clock.now += wait;
              expect(call()).toBe(0);
            }
          }
          for (let i = 0; i + count < allowed.length; i++)
            expect(allowed[i + count] - allowed[i]).toBeGreaterThanOrEqual(windowMs);
        },
      ),
      { defaultRuns: 300 },
    );
  });
});
