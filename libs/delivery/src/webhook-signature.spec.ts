import { createHmac, randomBytes } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { retryDelay, WebhookSigner, webhookSecretProblem } from './webhook-signature';

const SECRET = `whsec_${Buffer.from('a-key-of-32-bytes-for-the-tests!').toString('base64')}`;

describe('webhook signature and retry schedule', () => {
  it('signs "<id>.<t>.<body>" with HMAC-SHA256 of the whsec_ key, as Standard Webhooks says', () => {
    const body = '{"id":"e1","type":"room.occupied","ts":1,"data":{"room":"r"}}';
    const headers = new WebhookSigner(SECRET).headers('e1', body, 1_700_000_123_456);
    const key = Buffer.from(SECRET.slice('whsec_'.length), 'base64');
    const expected = createHmac('sha256', key).update(`e1.1700000123.${body}`).digest('base64');
    expect(headers).toEqual({
      'webhook-id': 'e1',
      'webhook-timestamp': '1700000123',
      'webhook-signature': `v1,${expected}`,
    });
  });

  it('is accepted by the reference verifier, and a tampered body or another key is not', () => {
    const body = '{"id":"e2","type":"member.joined"}';
    const headers = new WebhookSigner(SECRET).headers('e2', body);
    expect(new Webhook(SECRET).verify(body, { ...headers })).toEqual(JSON.parse(body));
    expect(() => new Webhook(SECRET).verify(`${body} `, { ...headers })).toThrow();
    const other = `whsec_${randomBytes(32).toString('base64')}`;
    expect(() => new Webhook(other).verify(body, { ...headers })).toThrow();
  });

  it('refuses a secret that is not whsec_ and a base64 key of 24 to 64 bytes, saying how to make one', () => {
    for (const bad of [
      'a-secret-of-16-chars',
      'whsec_',
      'whsec_not base64!',
      `whsec_${randomBytes(8).toString('base64')}`,
    ]) {
      expect(webhookSecretProblem(bad)).toMatch(/randomBytes\(32\)/);
      expect(() => new WebhookSigner(bad)).toThrow(/WEBHOOK_SECRET/);
    }
    expect(webhookSecretProblem(SECRET)).toBeUndefined();
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
