import { randomUUID } from 'node:crypto';
import { startRedisServer, type RedisServer } from '@roomcast/testing';
import Redis from 'ioredis';
import { RoomHistory } from './room-history';

const MAX_AGE_MS = 60_000;
const user = { id: 'u-cost', name: 'cost' };

/**
 * Issue #28 item 3: an append does the retention work that is due, not all of it every time.
 * Redis calls per append are counted from INFO commandstats, which counts the calls a script
 * makes, on a Redis of the test's own (its counters are this test's alone).
 */
describe('append cost (a Redis of its own)', () => {
  let server: RedisServer;
  let redis: Redis;
  let history: RoomHistory;

  beforeAll(async () => {
    server = await startRedisServer();
    redis = new Redis(server.url);
    history = new RoomHistory(redis, 'cost:', { maxMessages: 20, maxAgeMs: MAX_AGE_MS });
  });
  afterAll(async () => {
    await redis?.quit();
    await server?.stop();
  });

  const append = (room: string) =>
    history.appendMessage({
      id: randomUUID(),
      room,
      text: 'hello',
      user,
      ts: Date.now(),
      serverId: 'cost',
    });

  /** Redis calls the scripts made per append over `n` appends to `room`. */
  async function callsPerAppend(room: string, n: number): Promise<number> {
    await redis.config('RESETSTAT');
    for (let i = 0; i < n; i++) await append(room);
    const stats = await redis.info('commandstats');
    let calls = 0;
    for (const [, cmd, count] of stats.matchAll(/^cmdstat_([\w|]+):calls=(\d+)/gm))
      if (!/^(eval|evalsha|script|info|config)/.test(cmd)) calls += Number(count);
    return calls / n;
  }

  it('costs at most 10 Redis calls an append below the count bound (17 before)', async () => {
    await append('below');
    expect(await callsPerAppend('below', 15)).toBeLessThanOrEqual(10);
  });

  it('costs at most 15 Redis calls an append that drops the oldest (22 before)', async () => {
    for (let i = 0; i < 20; i++) await append('full');
    expect(await callsPerAppend('full', 30)).toBeLessThanOrEqual(15);
    expect(await redis.zcard(history.keys.roomHistory('full'))).toBe(20);
  });

  it('leaves every key of the log with an expiry, keys made by an edit or a reaction too', async () => {
    const room = 'ttl';
    const { id } = (await append(room)).ack;
    await append(room);
    await history.appendUpdate({ room, id, user, ts: Date.now(), kind: 'edit', text: 'hi' });
    await history.appendUpdate({
      room,
      id,
      user,
      ts: Date.now(),
      kind: 'react',
      emoji: '👍',
      on: true,
    });
    // A log whose expiry has run down past the margin is refreshed by the next append.
    await redis.pexpire(history.keys.roomHistory(room), MAX_AGE_MS / 2);
    await append(room);
    const k = history.keys;
    const log = [k.roomSeq, k.roomGen, k.roomHistory, k.roomIds, k.roomEdits, k.roomUpdates];
    for (const key of [...log.map((f) => f(room)), k.roomReactors(room)]) {
      const ttl = await redis.pttl(key);
      expect({ key, fresh: ttl > MAX_AGE_MS - 1000 && ttl <= MAX_AGE_MS }).toEqual({
        key,
        fresh: true,
      });
    }
    expect(await redis.pttl(k.roomReads(room))).toBeGreaterThan(MAX_AGE_MS);
  });
});
