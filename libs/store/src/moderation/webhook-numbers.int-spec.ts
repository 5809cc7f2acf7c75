import { randomUUID } from 'node:crypto';
import { REDIS_URL, requireServices, runPrefix } from '@roomcast/testing';
import Redis from 'ioredis';
import { RedisKeys } from '../redis/keys';
import { RoomHistory } from '../room-log/room-history';
import { WebhookNumbers } from './webhook-numbers';

/**
 * The server API's webhook numbers come from the room's own counter, the one the store scripts
 * number messages (and membership changes) on, so the events of both share one order.
 */
describe('WebhookNumbers (the shared Redis, a prefix of its own)', () => {
  const prefix = `${runPrefix('hooknum')}:`;
  let redis: Redis;
  let numbers: WebhookNumbers;
  let history: RoomHistory;
  const keys = new RedisKeys(prefix);

  beforeAll(async () => {
    await requireServices('redis');
    redis = new Redis(REDIS_URL);
    numbers = new WebhookNumbers(redis, prefix);
    history = new RoomHistory(redis, prefix, { maxMessages: 10, maxAgeMs: 60_000 }, true);
  });
  afterAll(async () => {
    const found = await redis.keys(`${prefix}*`);
    if (found.length) await redis.del(...found);
    await redis.quit();
  });

  const append = async (room: string) =>
    (
      await history.appendMessage({
        id: randomUUID(),
        room,
        text: 'hello',
        user: { id: 'u', name: 'U' },
        ts: Date.now(),
        serverId: 'hooknum',
      })
    ).hook;

  it("continues the room's counter the scripts number on, and they continue it", async () => {
    expect(await append('a')).toBe(1);
    expect(await append('a')).toBe(2);
    expect(await numbers.next('a')).toBe(3);
    expect(await numbers.next('a')).toBe(4);
    expect(await append('a')).toBe(5);
    // Another room has a counter of its own.
    expect(await numbers.next('b')).toBe(1);
  });

  it('keeps the counter a day past its last number, as the scripts do', async () => {
    await numbers.next('c');
    const ttl = await redis.pttl(keys.roomHooks('c'));
    expect(ttl).toBeGreaterThan(86_400_000 - 60_000);
    expect(ttl).toBeLessThanOrEqual(86_400_000);
  });
});
