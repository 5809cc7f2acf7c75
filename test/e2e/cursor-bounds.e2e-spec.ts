import type { JoinResult, ReadResult, UnreadResult } from '@roomcast/contracts';
import { MAX_CURSOR_ROOMS, RedisKeys, RoomHistory } from '@roomcast/store';
import {
  connectClient,
  hostileString,
  internalTextIn,
  requireServices,
  runFuzz,
  specialNumber,
  startCluster,
  validRoom,
  waitFor,
  type AnyAck,
  type TestClient,
  type TestCluster,
} from '@roomcast/testing';
import fc from 'fast-check';
import Redis from 'ioredis';

/**
 * What one user can make Redis keep through read cursors (issue #27, items 4 and 9): `room:read`
 * of any name, read cursors in ever more rooms, and `rooms:unread` at the event budget's pace.
 * One gateway on the machine's Redis under a prefix of this run, whose keys are counted.
 */
describe('read cursors a user cannot grow without bound (1 gateway)', () => {
  let cluster: TestCluster;
  let redis: Redis;
  let keys: RedisKeys;
  let log: RoomHistory;
  const clients: TestClient[] = [];

  beforeAll(async () => {
    await requireServices('redis', 'rabbitmq');
    cluster = await startCluster({
      label: 'curb',
      gateways: 1,
      // The event budget out of the way: the cursor rules and the unread budget are under test.
      gatewayEnv: { RATE_LIMIT_EVENTS_PER_SEC: '5000', RATE_LIMIT_EVENTS_BURST: '5000' },
    });
    redis = new Redis(cluster.env.REDIS_URL);
    keys = new RedisKeys(cluster.env.REDIS_PREFIX);
    log = new RoomHistory(redis, cluster.env.REDIS_PREFIX);
  }, 60000);

  afterAll(async () => {
    for (const c of clients) c.close();
    await redis?.quit();
    await cluster?.stop();
  }, 30000);

  const connect = async (name: string) => {
    const c = await connectClient(cluster.gateways[0].url, name);
    clients.push(c);
    return c;
  };
  const ok = <T>(c: TestClient, event: string, payload: unknown) => c.ok<T>(event, payload);
  /**
   * Every key of this run (SCAN, not KEYS: the machine's Redis is shared), but presence's own
   * locks, which come and go with their TTL whatever the users do.
   */
  const runKeys = async (): Promise<Set<string>> => {
    const locks = new Set([keys.sweepLock(), keys.queueWatchLock(), keys.migrationLock()]);
    const found = new Set<string>();
    let cursor = '0';
    do {
      const [next, batch] = await redis.scan(cursor, 'MATCH', `${keys.prefix}*`, 'COUNT', 5000);
      cursor = next;
      for (const k of batch) if (!locks.has(k)) found.add(k);
    } while (cursor !== '0');
    return found;
  };
  /** A message in `room` from someone else, straight into the log (its counter starts). */
  const seed = (room: string) =>
    log.appendMessage({
      id: `seed-${room}`,
      room,
      text: 'seeded',
      user: { id: 'u-seeder', name: 'Seeder' },
      ts: Date.now(),
      serverId: 'test',
    });
  /** A connected user and its id (from its own join of a room of its own). */
  const user = async (name: string) => {
    const c = await connect(name);
    const home = `home-${name}`;
    const joined = await ok<JoinResult>(c, 'room:join', { room: home });
    const id = joined.members.find((m) => m.name === name)!.id;
    return { c, id };
  };
  /** Waits until what the user's connection and join put in Redis stands still. */
  const settled = async () => {
    let last = -1;
    await waitFor(
      async () => {
        const n = (await runKeys()).size;
        const still = n === last;
        last = n;
        return still;
      },
      5000,
      'the key count to settle',
      200,
    );
    return runKeys();
  };

  it('stores nothing for room:read of rooms nobody joined and nobody wrote in', async () => {
    const { c } = await user('Prober');
    const before = await settled();
    const answers = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        ok<ReadResult>(c, 'room:read', { room: `nothing-${i}`, seq: i * 1000 + 7 }),
      ),
    );
    expect(answers.every((a) => a.readSeq === 0 && a.unread === 0)).toBe(true);
    const after = await runKeys();
    expect([...after].filter((k) => !before.has(k))).toEqual([]);
    expect(await ok<UnreadResult>(c, 'rooms:unread', {})).toMatchObject({
      rooms: [{ room: 'home-Prober' }],
    });
  });

  it('still keeps a cursor for a read of a room with messages, joined or not', async () => {
    const { c, id } = await user('Visitor');
    const room = 'written-in';
    const first = await seed(room);
    await seed(room);
    const read = await ok<ReadResult>(c, 'room:read', { room, seq: first.ack.seq });
    expect(read).toEqual({ ok: true, room, readSeq: first.ack.seq, unread: 1 });
    expect(await redis.hget(keys.roomReads(room), id)).toBe(String(first.ack.seq));
    const listed = await ok<UnreadResult>(c, 'rooms:unread', {});
    expect(listed.rooms.find((r) => r.room === room)).toMatchObject({ unread: 1 });
  });

  it(`keeps a user's cursors to the ${MAX_CURSOR_ROOMS} rooms of its index`, async () => {
    const { c, id } = await user('Collector');
    const rooms = Array.from({ length: MAX_CURSOR_ROOMS + 40 }, (_, i) => `many-${i}`);
    for (let i = 0; i < rooms.length; i += 40) await Promise.all(rooms.slice(i, i + 40).map(seed));
    // One at a time: the index orders rooms by the time of their last read.
    for (const room of rooms) {
      await ok<ReadResult>(c, 'room:read', { room, seq: Number.MAX_SAFE_INTEGER });
      await new Promise((r) => setTimeout(r, 1));
    }
    const all = ['home-Collector', ...rooms];
    const held = await Promise.all(all.map((r) => redis.hexists(keys.roomReads(r), id)));
    // The most recent 200 of its join and its reads; the join's room fell out with the first.
    const kept = all.filter((_, i) => held[i] === 1);
    expect(kept).toEqual(rooms.slice(-MAX_CURSOR_ROOMS));
    expect(await redis.zcard(keys.userCursors(id))).toBe(MAX_CURSOR_ROOMS);
    const listed = await ok<UnreadResult>(c, 'rooms:unread', {});
    expect(listed.rooms).toHaveLength(MAX_CURSOR_ROOMS);
    expect(new Set(listed.rooms.map((r) => r.room))).toEqual(new Set(kept));
  }, 60000);

  it('answers rooms:unread RATE_LIMITED past its own budget, and the sends go on', async () => {
    const { c } = await user('Poller');
    const answers = await Promise.all(
      Array.from({ length: 25 }, () => c.ack<AnyAck>('rooms:unread', {})),
    );
    // RATE_LIMIT_UNREAD_PER_10S: 10 by default.
    expect(answers.filter((a) => a.ok)).toHaveLength(10);
    expect(answers.filter((a) => a.error?.code === 'RATE_LIMITED')).toHaveLength(15);
    // Each refusal says when a retry passes: when the first call leaves its 10 s window.
    const waits = answers.flatMap((a) =>
      a.ok ? [] : [(a.error as { retryAfterMs?: number } | undefined)?.retryAfterMs ?? NaN],
    );
    expect(waits.filter((w) => !(Number.isInteger(w) && w > 0 && w <= 10_000))).toEqual([]);
    const sends = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        c.ack<AnyAck>('message:send', { room: 'home-Poller', text: `still ${i}` }),
      ),
    );
    expect(sends.filter((s) => !s.ok)).toEqual([]);
    expect(await c.ack<AnyAck>('rooms:unread', {})).toMatchObject({
      ok: false,
      error: { code: 'RATE_LIMITED' },
    });
  });

  it('keeps the key count bounded whatever rooms and seqs room:read is given (property)', async () => {
    const { c, id } = await user('Fuzzer');
    const written = ['fz-a', 'fz-b', 'fz-c'];
    for (const r of written) await seed(r);
    const baseline = await settled();
    // The only key a read may add: the user's index, once a written room has been read.
    const allowed = new Set([...baseline, keys.userCursors(id)]);
    // Within the transport's frame limit: a bigger payload ends the connection (PROTOCOL.md).
    const hostile = hostileString().filter((t) => t.length <= 2000);
    const call = fc.record({
      room: fc.oneof(hostile, validRoom(), fc.constantFrom(...written), fc.constant(undefined)),
      seq: fc.oneof(specialNumber(), fc.constant(undefined), hostile),
    });
    await runFuzz(
      'room:read of any room and seq',
      fc.asyncProperty(fc.array(call, { minLength: 1, maxLength: 12 }), async (calls) => {
        for (const payload of calls) {
          const ack = await c.ack<AnyAck & ReadResult>('room:read', payload);
          if (ack.ok) {
            const counted = (await redis.exists(keys.roomSeq(ack.room))) === 1;
            if (!counted) expect([ack.readSeq, ack.unread]).toEqual([0, 0]);
          } else {
            expect(['INVALID_PAYLOAD', 'FORBIDDEN']).toContain(ack.error?.code);
            expect(internalTextIn(ack.error?.message ?? '', payload)).toBeUndefined();
          }
        }
        const now = await runKeys();
        expect([...now].filter((k) => !allowed.has(k))).toEqual([]);
      }),
      { defaultRuns: 100 },
    );
  }, 120000);
});
