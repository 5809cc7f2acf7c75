import { Bucket, fullJitter } from './backoff';

describe('fullJitter', () => {
  it('waits uniformly between 0 and the doubled base, capped', () => {
    expect(fullJitter(0, 100, 10_000, () => 0)).toBe(0);
    expect(fullJitter(0, 100, 10_000, () => 0.5)).toBe(50);
    expect(fullJitter(3, 100, 10_000, () => 0.999)).toBe(799);
    expect(fullJitter(20, 100, 10_000, () => 0.999)).toBe(9990);
    expect(fullJitter(5000, 100, 10_000, () => 0.5)).toBe(5000);
  });
});

describe('Bucket', () => {
  it('lets a burst through, then one token per 1/rate s', () => {
    let now = 0;
    const b = new Bucket(10, 3, () => now);
    expect([b.take(), b.take(), b.take()]).toEqual([0, 0, 0]);
    expect(b.take()).toBe(100);
    now = 100;
    expect(b.take()).toBe(0);
    expect(b.take()).toBe(100);
  });

  it('holds everything for a retryAfterMs, and starts empty after it', () => {
    let now = 0;
    const b = new Bucket(10, 5, () => now);
    b.pause(300);
    expect(b.take()).toBe(300);
    now = 300;
    expect(b.take()).toBe(100);
    now = 400;
    expect(b.take()).toBe(0);
  });

  it('takes new limits, keeping what is spent', () => {
    const now = 0;
    const b = new Bucket(100, 100, () => now);
    for (let i = 0; i < 99; i++) b.take();
    b.setLimits(1, 2);
    expect([b.take(), b.take()]).toEqual([0, 1000]);
  });
});
