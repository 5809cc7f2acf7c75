import Redis from 'ioredis';
import { REDIS_URL, requireServices, runPrefix } from '@roomcast/testing';
import { UnreachableError } from '@roomcast/config';
import { PresenceStore } from './presence.store';
import { probeRedis } from './redis';

const ann = { id: 'u-ann', name: 'Ann' };
const bob = { id: 'u-bob', name: 'Bob' };

describe('PresenceStore (real Redis)', () => {
  let redis: Redis;
  let store: PresenceStore;
  let prefix: string;

  beforeAll(async () => {
    await requireServices('redis');
    redis = new Redis(REDIS_URL);
  });

  beforeEach(() => {
    prefix = `${runPrefix('store')}-${Math.random().toString(36).slice(2, 6)}:`;
    store = new PresenceStore(redis, prefix, { maxMessages: 20, maxAgeMs: 60_000 });
  });

  afterEach(async () => {
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length) await redis.del(...keys);
  });

  afterAll(async () => {
    await redis?.quit();
  });

  it('counts two tabs of one user as one online user and one room member', async () => {
    await store.connect('g1', 's1', ann);
    await store.connect('g2', 's2', ann);
    expect(await store.join('s1', 'general')).toEqual(ann);
    expect(await store.join('s2', 'general')).toBeNull();
    const stats = await store.clusterStats();
    expect(stats).toMatchObject({ online: 1, connections: 2, rooms: 1 });
    expect(await store.roomStats('general')).toEqual({
      room: 'general',
      users: 1,
      connections: 2,
      members: [ann],
    });
    expect(await store.leave('s1', 'general')).toBeNull();
    expect(await store.leave('s2', 'general')).toEqual(ann);
    expect((await store.clusterStats()).rooms).toBe(0);
  });

  it('is idempotent for repeated connects and joins', async () => {
    expect(await store.connect('g1', 's1', ann)).toBe(true);
    expect(await store.connect('g1', 's1', ann)).toBe(false);
    await store.join('s1', 'r');
    await store.join('s1', 'r');
    expect(await store.roomStats('r')).toMatchObject({ users: 1, connections: 1 });
  });

  it('reports the rooms a user left for good when its connection drops', async () => {
    await store.connect('g1', 's1', ann);
    await store.connect('g1', 's2', ann);
    await store.connect('g1', 's3', bob);
    await store.join('s1', 'a');
    await store.join('s2', 'b');
    await store.join('s1', 'b');
    await store.join('s3', 'a');
    const departures = await store.disconnect('s1');
    expect(departures).toEqual([{ room: 'a', user: ann }]);
    expect(await store.members('a')).toEqual([bob]);
    expect(await store.members('b')).toEqual([ann]);
    expect((await store.clusterStats()).online).toBe(2);
  });

  it('removes every connection of a dead instance and nothing else', async () => {
    await store.connect('dead', 's1', ann);
    await store.connect('alive', 's2', bob);
    await store.join('s1', 'general');
    await store.join('s2', 'general');
    await store.heartbeat('dead', 1, 1, 1000);
    await store.heartbeat('alive', 1, 1, 5000);
    expect(await store.staleInstances(2000)).toEqual(['dead']);
    expect(await store.removeInstance('dead')).toEqual([{ room: 'general', user: ann }]);
    const stats = await store.clusterStats();
    expect(stats).toMatchObject({ online: 1, connections: 1, rooms: 1 });
    expect(stats.instances.map((i) => i.id)).toEqual(['alive']);
    expect(await store.removeInstance('dead')).toEqual([]);
  });

  it('ranks rooms by distinct users', async () => {
    await store.connect('g', 's1', ann);
    await store.connect('g', 's2', bob);
    await store.join('s1', 'small');
    await store.join('s1', 'big');
    await store.join('s2', 'big');
    expect(await store.topRooms(10)).toEqual([
      { room: 'big', users: 2, connections: 2 },
      { room: 'small', users: 1, connections: 1 },
    ]);
    expect(await store.topRooms(1)).toHaveLength(1);
  });

  it('assigns strictly increasing seqs and pages history both ways', async () => {
    const seqs: number[] = [];
    await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        store
          .appendMessage({
            id: `m${i}`,
            room: 'r',
            text: `t${i}`,
            user: ann,
            ts: Date.now(),
            serverId: 'g',
          })
          .then((r) => seqs.push(r.ack.seq)),
      ),
    );
    expect([...seqs].sort((a, b) => a - b)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
    const recent = await store.recentMessages('r', 50);
    expect(recent.map((m) => m.seq)).toEqual(Array.from({ length: 20 }, (_, i) => i + 11));
    expect((await store.history('r', { afterSeq: 25, limit: 100 })).map((m) => m.seq)).toEqual([
      26, 27, 28, 29, 30,
    ]);
    expect((await store.history('r', { beforeSeq: 15, limit: 3 })).map((m) => m.seq)).toEqual([
      12, 13, 14,
    ]);
    expect(recent[0]).toMatchObject({ room: 'r', user: ann, serverId: 'g' });
  });

  it('drops messages past the age limit, on append and on read', async () => {
    const aged = new PresenceStore(redis, prefix, { maxMessages: 100, maxAgeMs: 5000 });
    const draft = (id: string, ts: number) => ({
      id,
      room: 'old',
      text: id,
      user: ann,
      ts,
      serverId: 'g',
    });
    const now = Date.now();
    await aged.appendMessage(draft('a', now - 9000), 0, now - 9000);
    await aged.appendMessage(draft('b', now - 6000), 0, now - 6000);
    // Read filter: both are past 5 s already.
    expect(await aged.recentMessages('old', 50)).toEqual([]);
    await aged.appendMessage(draft('c', now), 0, now);
    // Append trim: only `c` is still stored.
    expect(await redis.zcard(`${prefix}room:old:history`)).toBe(1);
    expect((await aged.history('old', { afterSeq: 0, limit: 10 })).map((m) => m.id)).toEqual(['c']);
    expect(await aged.currentSeq('old')).toBe(3);
  });

  it('answers a retried clientId with the first ack and stores the message once', async () => {
    const draft = (id: string) => ({
      id,
      room: 'r',
      text: 'hi',
      user: ann,
      ts: Date.now(),
      serverId: 'g',
      clientId: 'c-1',
    });
    const first = await store.appendMessage(draft('first'));
    const again = await store.appendMessage(draft('second'));
    expect(first.duplicate).toBe(false);
    expect(again).toEqual({ ack: first.ack, duplicate: true });
    expect(first.ack).toMatchObject({ id: 'first', seq: 1 });
    expect(await store.recentMessages('r', 50)).toHaveLength(1);
    // Another user with the same clientId is another message.
    const other = await store.appendMessage({ ...draft('third'), user: bob });
    expect(other).toMatchObject({ duplicate: false, ack: { seq: 2 } });
  });

  it('never lets the seq fall below the floor a gateway passes (Redis lost its counter)', async () => {
    const draft = { id: 'x', room: 'reset', text: 't', user: ann, ts: Date.now(), serverId: 'g' };
    expect((await store.appendMessage(draft, 41)).ack.seq).toBe(42);
    expect((await store.appendMessage(draft, 10)).ack.seq).toBe(43);
  });

  it('leaves private rooms out of public answers', async () => {
    await store.connect('g', 's1', ann);
    await store.connect('g', 's2', bob);
    await store.join('s1', 'private-ops');
    await store.join('s2', 'private-ops');
    await store.join('s1', 'lobby');
    expect(await store.topRooms(10)).toEqual([{ room: 'lobby', users: 1, connections: 1 }]);
    expect((await store.clusterStats()).rooms).toBe(1);
    expect((await store.topRooms(10, true)).map((r) => r.room)).toEqual(['private-ops', 'lobby']);
    expect((await store.clusterStats(true)).rooms).toBe(2);
    await store.disconnect('s1');
    await store.disconnect('s2');
    expect(await store.topRooms(10, true)).toEqual([]);
  });

  it('keeps working after Redis forgets its scripts', async () => {
    await store.connect('g', 's1', ann);
    await redis.script('FLUSH');
    await expect(store.join('s1', 'r')).resolves.toEqual(ann);
  });

  it('names the URL when Redis cannot be reached', async () => {
    const err = await probeRedis('redis://127.0.0.1:1', 1000).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnreachableError);
    expect((err as Error).message).toBe('cannot reach Redis at redis://127.0.0.1:1');
  });
});
