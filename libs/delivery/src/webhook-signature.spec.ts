import { createHmac } from 'node:crypto';
import { retryDelay, signWebhook } from './webhook-signature';

describe('webhook signature and retry schedule', () => {
  it('signs "<t>.<body>" with HMAC-SHA256 under t in unix seconds', () => {
    const body = '{"id":"e1","type":"room.occupied","ts":1,"data":{"room":"r"}}';
    const header = signWebhook('s3cret-s3cret-s3cret', body, 1_700_000_123_456);
    const expected = createHmac('sha256', 's3cret-s3cret-s3cret')
      .update(`1700000123.${body}`)
      .digest('hex');
    expect(header).toBe(`t=1700000123,v1=${expected}`);
    expect(signWebhook('another-secret-value', body, 1_700_000_123_456)).not.toBe(header);
  });

  it('doubles the wait per attempt up to the cap, with jitter between half and all of it', () => {
    const low = (a: number) => retryDelay(a, 500, 30_000, () => 0);
    const high = (a: number) => retryDelay(a, 500, 30_000, () => 1);
    expect([1, 2, 3, 4].map(high)).toEqual([500, 1000, 2000, 4000]);
    expect([1, 2, 3, 4].map(low)).toEqual([250, 500, 1000, 2000]);
    expect(high(7)).toBe(30_000);
    expect(high(1000)).toBe(30_000);
    expect(low(1000)).toBe(15_000);
  });

  it('reaches a receiver that was down 5 minutes within the cap after it is back', () => {
    // Attempts of a delivery that keeps failing for 5 minutes: the gap after the outage is
    // never more than the cap (30 s by default).
    let t = 0;
    let attempt = 1;
    while (t < 300_000) t += retryDelay(attempt++, 500, 30_000, () => 1);
    expect(t - 300_000).toBeLessThanOrEqual(30_000);
    expect(attempt).toBeLessThan(20);
  });
});
