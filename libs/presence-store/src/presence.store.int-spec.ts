import Redis from 'ioredis';
import { REDIS_URL, requireServices, runPrefix } from '@roomcast/testing';
import { UnreachableError } from '@roomcast/config';
import { PresenceStore } from './presence.store';
import { RoomHistory } from './room-history';
import { probeRedis } from './redis';

const ann = { id: 'u-ann', name: 'Ann' };
const bob = { id: 'u-bob', name: 'Bob' };

describe('PresenceStore (real Redis)', () => {
  let redis: Redis;
  let store: PresenceStore;
  let log: RoomHistory;
  let prefix: string;

  beforeAll(async () => {
    await requireServices('redis');
    redis = new Redis(REDIS_URL);
  });

  beforeEach(() => {
    prefix = `${runPrefix('store')}-${Math.random().toString(36).slice(2, 6)}:`;
    store = new PresenceStore(redis, prefix);
    log = new RoomHistory(redis, prefix, { maxMessages: 20, maxAgeMs: 60_000 });
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
    expect((await store.members('a')).members).toEqual([bob]);
    expect((await store.members('b')).members).toEqual([ann]);
    expect((await store.clusterStats()).online).toBe(2);
  });

  it('removes every connection of a dead instance and nothing else', async () => {
    await store.connect('dead', 's1', ann);
    await store.connect('alive', 's2', bob);
    await store.join('s1', 'general');
    await store.join('s2', 'general');
    await store.heartbeat('dead', 1, 1000);
    await store.heartbeat('alive', 1, 5000);
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
        log
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
    // A new room's counter starts at Redis's clock (µs): above any seq of an earlier life.
    const base = Math.min(...seqs) - 1;
    expect(base).toBeGreaterThan((Date.now() - 60_000) * 1000);
    expect(Number.isSafeInteger(base + 30)).toBe(true);
    expect(await log.seqState('r')).toEqual({ current: base + 30, gen: base });
    expect([...seqs].sort((a, b) => a - b)).toEqual(
      Array.from({ length: 30 }, (_, i) => base + i + 1),
    );
    const recent = await log.recentMessages('r', 50);
    expect(recent.map((m) => m.seq - base)).toEqual(Array.from({ length: 20 }, (_, i) => i + 11));
    expect(
      (await log.history('r', { afterSeq: base + 25, limit: 100 })).map((m) => m.seq - base),
    ).toEqual([26, 27, 28, 29, 30]);
    expect(
      (await log.history('r', { beforeSeq: base + 15, limit: 3 })).map((m) => m.seq - base),
    ).toEqual([12, 13, 14]);
    expect(recent[0]).toMatchObject({ room: 'r', user: ann, serverId: 'g' });
  });

  it('drops messages past the age limit, on append and on read', async () => {
    const aged = new RoomHistory(redis, prefix, { maxMessages: 100, maxAgeMs: 5000 });
    const draft = (id: string, ts: number) => ({
      id,
      room: 'old',
      text: id,
      user: ann,
      ts,
      serverId: 'g',
    });
    const now = Date.now();
    const first = await aged.appendMessage(draft('a', now - 9000), 0, now - 9000);
    await aged.appendMessage(draft('b', now - 6000), 0, now - 6000);
    // Read filter: both are past 5 s already.
    expect(await aged.recentMessages('old', 50)).toEqual([]);
    await aged.appendMessage(draft('c', now), 0, now);
    // Append trim: only `c` is still stored.
    expect(await redis.zcard(`${prefix}room:old:history`)).toBe(1);
    expect((await aged.history('old', { afterSeq: 0, limit: 10 })).map((m) => m.id)).toEqual(['c']);
    expect(await aged.currentSeq('old')).toBe(first.ack.seq + 2);
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
    const first = await log.appendMessage(draft('first'));
    const again = await log.appendMessage(draft('second'));
    expect(first.duplicate).toBe(false);
    expect(again).toMatchObject({ ack: first.ack, duplicate: true });
    expect(first.ack).toMatchObject({ id: 'first' });
    expect(await log.recentMessages('r', 50)).toHaveLength(1);
    // Another user with the same clientId is another message.
    const other = await log.appendMessage({ ...draft('third'), user: bob });
    expect(other).toMatchObject({ duplicate: false, ack: { seq: first.ack.seq + 1 } });
  });

  it('never lets the seq fall below the floor a gateway passes', async () => {
    const draft = { id: 'x', room: 'reset', text: 't', user: ann, ts: Date.now(), serverId: 'g' };
    const far = Date.now() * 1000 + 10 ** 12;
    expect((await log.appendMessage(draft, far)).ack.seq).toBe(far + 1);
    expect((await log.appendMessage(draft, 10)).ack.seq).toBe(far + 2);
    await log.appendMessage(draft, far + 5).then((r) => expect(r.ack.seq).toBe(far + 6));
  });

  it('never reuses a seq when Redis lost the room (restarted empty, or expired)', async () => {
    const draft = { id: 'x', room: 'lost', text: 't', user: ann, ts: Date.now(), serverId: 'g' };
    const before: number[] = [];
    for (let i = 0; i < 11; i++) before.push((await log.appendMessage(draft)).ack.seq);
    // What an empty restart leaves: no counter, no history; the next gateway to send has no floor.
    await redis.del(...(await redis.keys(`${prefix}room:lost:*`)));
    const after = await log.appendMessage(draft, 0);
    expect(after.ack.seq).toBeGreaterThan(Math.max(...before));
    expect(after.prev).toBe(0);
    expect((await log.appendMessage(draft)).prev).toBe(after.ack.seq);
    expect((await log.seqState('lost')).gen).toBe(after.ack.seq - 1);
  });

  it('never decodes stored messages: a lone surrogate or a "ts" in text cannot break a room', async () => {
    const short = new RoomHistory(redis, prefix, { maxMessages: 20, maxAgeMs: 5000 });
    const now = Date.now();
    const draft = (text: string, ts = now) => ({
      id: text,
      room: 'odd',
      text,
      user: ann,
      ts,
      serverId: 'g',
    });
    // Stored by an older version or another writer: JSON that cjson refuses to decode.
    await short.appendMessage(draft('hi \uD800', now - 9000), 0, now - 9000);
    await short.appendMessage(draft('x","ts":99999999999999,"y":"', now - 8000), 0, now - 8000);
    const ok = await short.appendMessage(draft('fine'), 0, now);
    expect(ok.duplicate).toBe(false);
    // The aged ones were trimmed by their real ts, and every key of the room still expires.
    expect((await short.history('odd', { afterSeq: 0, limit: 10 })).map((m) => m.text)).toEqual([
      'fine',
    ]);
    for (const key of await redis.keys(`${prefix}room:odd:*`)) {
      expect([key, await redis.pttl(key)]).toEqual([key, expect.any(Number)]);
      expect(await redis.pttl(key)).toBeGreaterThan(0);
    }
  });

  it('gives every key a room write leaves an expiry, and removes presence keys when empty', async () => {
    await store.connect('g', 's1', ann);
    await store.join('s1', 'churn');
    await log.appendMessage(
      {
        id: 'm',
        room: 'churn',
        text: 't',
        user: ann,
        ts: Date.now(),
        serverId: 'g',
        clientId: 'c',
      },
      0,
    );
    await store.leave('s1', 'churn');
    await store.disconnect('s1');
    await store.removeInstance('g');
    const left = await redis.keys(`${prefix}*`);
    expect(left.sort()).toEqual(
      ['client:u-ann:c', 'gen', 'history', 'seq'].map((k) => `${prefix}room:churn:${k}`).sort(),
    );
    for (const key of left) expect(await redis.pttl(key)).toBeGreaterThan(0);
  });

  it('counts memberships per instance for the heartbeat comparison', async () => {
    await store.connect('g1', 's1', ann);
    await store.connect('g1', 's2', bob);
    await store.join('s1', 'a');
    await store.join('s1', 'b');
    await store.join('s2', 'a');
    expect(await store.instanceCounts('g1')).toEqual({ connections: 2, memberships: 3 });
    await store.leave('s1', 'b');
    await store.disconnect('s2');
    expect(await store.instanceCounts('g1')).toEqual({ connections: 1, memberships: 1 });
    // Counts that drifted (or predate the counts) are right again after a recount.
    await redis.hset(store.keys.instanceRooms('g1'), 'a', 7);
    expect((await store.instanceCounts('g1')).memberships).toBe(7);
    expect(await store.recountInstanceRooms('g1')).toBe(1);
    expect(await store.instanceCounts('g1')).toEqual({ connections: 1, memberships: 1 });
    await store.removeInstance('g1');
    expect(await store.instanceCounts('g1')).toEqual({ connections: 0, memberships: 0 });
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

  it('pages a room of 1,000 members: every one once, in order, with an exact count', async () => {
    const users = Array.from({ length: 1000 }, (_, i) => ({ id: `u${1000 + i}`, name: `N${i}` }));
    for (const [i, u] of users.entries()) {
      await store.connect('g', `s${i}`, u);
      await store.join(`s${i}`, 'huge');
    }
    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await store.members('huge', { cursor, limit: 300 });
      expect(page.count).toBe(1000);
      seen.push(...page.members.map((m) => m.id));
      cursor = page.next;
      pages++;
    } while (cursor !== undefined && pages < 10);
    expect(pages).toBe(4);
    expect(seen).toEqual(users.map((u) => u.id));
    expect((await store.roomStats('huge', { limit: 2 })).members).toEqual(users.slice(0, 2));
  }, 20000);
  describe('member pages from room:<r>:members', () => {
    /** 1,000 users in `room`, ids in no particular order, one connection each on g1..g3. */
    const fill = async (room: string, n: number) => {
      const users = Array.from({ length: n }, (_, i) => ({
        id: `${['a', 'B', 'z', '0', '_', '-'][i % 6]}${((i * 7919) % n).toString(36)}-${i}`,
        name: `Name ${i}`,
      }));
      await Promise.all(
        users.map(async (u, i) => {
          await store.connect(`g${(i % 3) + 1}`, `s${i}`, u);
          await store.join(`s${i}`, room);
        }),
      );
      // Redis orders ids by bytes: Buffer.compare, not localeCompare.
      return users.sort((a, b) => Buffer.compare(Buffer.from(a.id), Buffer.from(b.id)));
    };

    const walk = async (room: string, limit?: number) => {
      const pages: { ids: string[]; count: number; next?: string }[] = [];
      let cursor: string | undefined;
      do {
        const page = await store.members(room, { cursor, limit });
        pages.push({ ids: page.members.map((m) => m.id), count: page.count, next: page.next });
        cursor = page.next;
      } while (cursor !== undefined && pages.length < 200);
      return pages;
    };

    it.each([
      ['7', 7],
      ['500', 500],
      ['the default', undefined],
    ])(
      'walks every page of 1,000 members with limit %s: each once, in order, last page without next',
      async (_, limit) => {
        const users = await fill('crowd', 1000);
        const pages = await walk('crowd', limit);
        const size = limit ?? 100;
        expect(pages).toHaveLength(Math.ceil(1000 / size));
        for (const page of pages.slice(0, -1)) {
          expect(page.ids).toHaveLength(size);
          expect(page.next).toEqual(expect.any(String));
        }
        expect(pages[pages.length - 1].next).toBeUndefined();
        expect(pages.every((p) => p.count === 1000)).toBe(true);
        const ids = pages.flatMap((p) => p.ids);
        expect(new Set(ids).size).toBe(ids.length);
        expect(ids).toEqual(users.map((u) => u.id));
        const first = await store.members('crowd', { limit: 3 });
        expect(first.members).toEqual(users.slice(0, 3));
      },
      30000,
    );

    it('gives an empty last page for a cursor at or past the end', async () => {
      const users = await fill('tail', 20);
      const last = users[users.length - 1].id;
      const cursor = (id: string) => Buffer.from(id).toString('base64url');
      expect(await store.members('tail', { cursor: cursor(last) })).toEqual({
        members: [],
        count: 20,
        hasUser: false,
      });
      expect((await store.members('tail', { cursor: cursor('~~~') })).members).toEqual([]);
      // A page that ends exactly at the last member has no next.
      const page = await store.members('tail', { cursor: cursor(users[9].id), limit: 10 });
      expect(page.members).toEqual(users.slice(10));
      expect(page.next).toBeUndefined();
      expect(await store.members('nobody-here')).toEqual({ members: [], count: 0, hasUser: false });
    });

    it('rebuilds the member index of a room whose members predate it on the next join', async () => {
      const users = await fill('old', 50);
      // What a room joined before this index existed looks like.
      await redis.del(store.keys.roomMembers('old'));
      await store.connect('g1', 'late', ann);
      await store.join('late', 'old');
      const ids = (await walk('old', 500)).flatMap((p) => p.ids);
      expect(ids).toEqual([...users.map((u) => u.id), ann.id].sort());
    });

    it('counts users, not connections, and answers hasUser for the whole room', async () => {
      const users = await fill('count', 300);
      const deep = users[250].id;
      await store.connect('g2', 'ann-1', ann);
      await store.connect('g3', 'ann-2', ann);
      await store.join('ann-1', 'count');
      await store.join('ann-2', 'count');
      const first = await store.members('count', { limit: 5, user: deep });
      expect(first).toMatchObject({ count: 301, hasUser: true });
      expect(first.members.map((m) => m.id)).not.toContain(deep);
      expect((await store.members('count', { limit: 5, user: 'u-nobody' })).hasUser).toBe(false);
      expect((await store.members('count', { limit: 5 })).hasUser).toBe(false);
      // One of Ann's two connections leaves: she is still a member; the other too: she is not.
      await store.leave('ann-1', 'count');
      expect(await store.members('count', { limit: 1, user: ann.id })).toMatchObject({
        count: 301,
        hasUser: true,
      });
      await store.disconnect('ann-2');
      expect(await store.members('count', { limit: 1, user: ann.id })).toMatchObject({
        count: 300,
        hasUser: false,
      });
      await store.removeInstance('g1');
      const left = await walk('count', 500);
      expect(left[0].count).toBe(200);
      expect(left.flatMap((p) => p.ids)).toEqual(
        // User i was connected through g((i % 3) + 1); its id ends with -i.
        users.filter((u) => Number(u.id.split('-').pop()) % 3 !== 0).map((u) => u.id),
      );
      expect(await redis.zcard(store.keys.roomMembers('count'))).toBe(
        await redis.hlen(store.keys.roomUsers('count')),
      );
    }, 20000);
  });
  describe('per-instance rooms and the routing map', () => {
    const cat = { id: 'u-cat', name: 'Cat' };
    const roomsOf = async (includePrivate = false) =>
      Object.fromEntries(
        (await store.clusterStats(includePrivate)).instances.map((i) => [i.id, i.rooms]),
      );

    beforeEach(async () => {
      // Heartbeats that report no rooms at all: the figures must not come from them.
      for (const g of ['g1', 'g2', 'g3']) await store.heartbeat(g, 1);
      await store.connect('g1', 'ann-g1', ann);
      await store.connect('g2', 'ann-g2', ann);
      await store.connect('g2', 'bob-g2', bob);
      await store.connect('g3', 'cat-g3', cat);
    });

    it("counts each instance's rooms exactly as joins and leaves run, not from heartbeats", async () => {
      expect(await roomsOf()).toEqual({ g1: 0, g2: 0, g3: 0 });
      await store.join('ann-g1', 'lobby');
      await store.join('ann-g1', 'dev');
      await store.join('ann-g2', 'lobby');
      await store.join('bob-g2', 'lobby');
      expect(await roomsOf()).toEqual({ g1: 2, g2: 1, g3: 0 });
      expect(await redis.hgetall(store.keys.instanceRooms('g2'))).toEqual({ lobby: '2' });
      expect(await redis.hgetall(store.keys.roomInstances('lobby'))).toEqual({ g1: '1', g2: '2' });
      await store.leave('bob-g2', 'lobby');
      expect(await roomsOf()).toEqual({ g1: 2, g2: 1, g3: 0 });
      await store.leave('ann-g2', 'lobby');
      expect(await roomsOf()).toEqual({ g1: 2, g2: 0, g3: 0 });
      await store.disconnect('ann-g1');
      expect(await roomsOf()).toEqual({ g1: 0, g2: 0, g3: 0 });
      // Nothing left behind: the hashes go with their last field.
      expect(await redis.keys(`${prefix}*:insts`)).toEqual([]);
      expect(await redis.keys(`${prefix}inst:*:rooms`)).toEqual([]);
    });

    it('maps each room to the instances holding a member, through a two-instance user', async () => {
      expect(await store.routing()).toEqual([]);
      await store.join('ann-g1', 'lobby');
      await store.join('ann-g2', 'lobby');
      await store.join('bob-g2', 'dev');
      await store.join('cat-g3', 'lobby');
      await store.join('cat-g3', 'private-ops');
      await store.join('ann-g1', 'private-ops');
      expect(await store.routing()).toEqual([
        { room: 'dev', instances: ['g2'] },
        { room: 'lobby', instances: ['g1', 'g2', 'g3'] },
      ]);
      expect(await store.routing(true)).toEqual([
        { room: 'dev', instances: ['g2'] },
        { room: 'lobby', instances: ['g1', 'g2', 'g3'] },
        { room: 'private-ops', instances: ['g1', 'g3'] },
      ]);
      // Ann leaves on g2 only: still a member of lobby (through g1), but g2 has no one there.
      await store.leave('ann-g2', 'lobby');
      expect((await store.members('lobby', { user: ann.id })).hasUser).toBe(true);
      expect(await store.routing()).toEqual([
        { room: 'dev', instances: ['g2'] },
        { room: 'lobby', instances: ['g1', 'g3'] },
      ]);
      await store.disconnect('cat-g3');
      expect(await store.routing(true)).toEqual([
        { room: 'dev', instances: ['g2'] },
        { room: 'lobby', instances: ['g1'] },
        { room: 'private-ops', instances: ['g1'] },
      ]);
      expect(await roomsOf(true)).toEqual({ g1: 2, g2: 1, g3: 0 });
      // g1 dies: its rooms go from the map and from /stats, and Ann is out of lobby for good.
      await store.removeInstance('g1');
      expect(await store.routing(true)).toEqual([{ room: 'dev', instances: ['g2'] }]);
      expect(await roomsOf(true)).toEqual({ g2: 1, g3: 0 });
      expect(await redis.exists(store.keys.instanceRooms('g1'))).toBe(0);
      expect((await store.members('lobby', { user: ann.id })).hasUser).toBe(false);
    });

    it('drops a dead instance from every room even when its counts had drifted', async () => {
      await store.join('ann-g1', 'lobby');
      await store.join('bob-g2', 'lobby');
      // A count no connection backs (a write from an older version, say).
      await redis.hset(store.keys.instanceRooms('g1'), 'ghost', 1);
      await redis.hset(store.keys.roomInstances('ghost'), 'g1', 1);
      await store.removeInstance('g1');
      expect(await redis.exists(store.keys.roomInstances('ghost'))).toBe(0);
      expect(await store.routing()).toEqual([{ room: 'lobby', instances: ['g2'] }]);
    });
  });
});
