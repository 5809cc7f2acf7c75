import type { User } from '@roomcast/contracts';
import {
  ClientIdConflict,
  groupOf,
  LAYOUT,
  migrateLayout,
  PresenceQueries,
  PresenceStore,
  ReadCursors,
  RoomHistory,
  type RedisClient,
} from '@roomcast/store';
import { runFuzz, runPrefix } from '@roomcast/testing';
import fc from 'fast-check';
import type Redis from 'ioredis';

/** A Redis the suite runs on: one server, or a Redis Cluster (`nodes` are its masters). */
export interface StoreTarget {
  client: RedisClient;
  /** Every server holding keys: the one Redis, or each master of the cluster. */
  nodes(): Redis[];
  close(): Promise<void>;
}

const ann = { id: 'u-ann', name: 'Ann' };
const bob = { id: 'u-bob', name: 'Bob' };

/**
 * The store's tests, run against a standalone Redis (test/int/store.int-spec.ts, in `npm test`)
 * and a Redis Cluster of 3 masters (test/cluster/store.cluster-spec.ts, `npm run test:cluster`):
 * the same answers from both layouts' one code.
 */
export function describeStore(label: string, open: () => Promise<StoreTarget>): void {
  describe(`the presence store on ${label}`, () => {
    let target: StoreTarget;
    let redis: RedisClient;
    let store: PresenceStore;
    let queries: PresenceQueries;
    let log: RoomHistory;
    let prefix: string;
    /** The instance and user of each socket the test connected. */
    let sockets: Map<string, { instanceId: string; user: User }>;

    const connect = (instanceId: string, socketId: string, user: User) => {
      sockets.set(socketId, { instanceId, user });
      return store.connect(instanceId, socketId, user);
    };
    const socket = (socketId: string) => {
      const s = sockets.get(socketId);
      if (!s) throw new Error(`the test did not connect ${socketId}`);
      return s;
    };
    const join = (socketId: string, room: string) =>
      store.join(socket(socketId).instanceId, socketId, socket(socketId).user, room);
    const leave = (socketId: string, room: string) =>
      store.leave(socket(socketId).instanceId, socketId, room);
    const disconnect = (socketId: string) =>
      store.disconnect(socket(socketId).instanceId, socketId);

    /** KEYS on every server (a cluster's keys are spread over its masters). */
    const keysMatching = async (pattern: string) =>
      (await Promise.all(target.nodes().map((n) => n.keys(pattern)))).flat();
    /** Deletes keys one by one (they may lie in different slots). */
    const del = async (keys: string[]) => {
      await Promise.all(keys.map((k) => redis.del(k)));
    };
    const flushScripts = async () => {
      await Promise.all(target.nodes().map((n) => n.script('FLUSH')));
    };

    beforeAll(async () => {
      target = await open();
      redis = target.client;
    }, 60000);

    beforeEach(() => {
      prefix = `${runPrefix('store')}-${Math.random().toString(36).slice(2, 6)}:`;
      store = new PresenceStore(redis, prefix);
      queries = new PresenceQueries(redis, prefix);
      log = new RoomHistory(redis, prefix, { maxMessages: 20, maxAgeMs: 60_000 });
      sockets = new Map();
    });

    afterEach(async () => {
      await del(await keysMatching(`${prefix}*`));
    });

    afterAll(async () => {
      await target?.close();
    });

    it('counts two tabs of one user as one online user and one room member', async () => {
      await connect('g1', 's1', ann);
      await connect('g2', 's2', ann);
      expect(await join('s1', 'general')).toEqual(ann);
      expect(await join('s2', 'general')).toBeNull();
      const stats = await queries.clusterStats();
      expect(stats).toMatchObject({ online: 1, connections: 2, rooms: 1 });
      expect(await queries.roomStats('general')).toEqual({
        room: 'general',
        users: 1,
        connections: 2,
        members: [ann],
      });
      expect(await leave('s1', 'general')).toBeNull();
      expect(await leave('s2', 'general')).toEqual(ann);
      expect((await queries.clusterStats()).rooms).toBe(0);
    });

    it('is idempotent for repeated connects and joins', async () => {
      expect(await connect('g1', 's1', ann)).toBe(true);
      expect(await connect('g1', 's1', ann)).toBe(false);
      await join('s1', 'r');
      await join('s1', 'r');
      expect(await queries.roomStats('r')).toMatchObject({ users: 1, connections: 1 });
    });

    it('reports the rooms a user left for good when its connection drops', async () => {
      await connect('g1', 's1', ann);
      await connect('g1', 's2', ann);
      await connect('g1', 's3', bob);
      await join('s1', 'a');
      await join('s2', 'b');
      await join('s1', 'b');
      await join('s3', 'a');
      const departures = await disconnect('s1');
      expect(departures).toEqual([{ room: 'a', user: ann }]);
      expect((await queries.members('a')).members).toEqual([bob]);
      expect((await queries.members('b')).members).toEqual([ann]);
      expect((await queries.clusterStats()).online).toBe(2);
    });

    it('removes every connection of a dead instance and nothing else', async () => {
      await connect('dead', 's1', ann);
      await connect('alive', 's2', bob);
      await join('s1', 'general');
      await join('s2', 'general');
      await store.heartbeat('dead', 1, 1000);
      await store.heartbeat('alive', 1, 5000);
      expect(await store.staleInstances(2000)).toEqual(['dead']);
      expect(await store.removeInstance('dead')).toEqual([{ room: 'general', user: ann }]);
      const stats = await queries.clusterStats();
      expect(stats).toMatchObject({ online: 1, connections: 1, rooms: 1 });
      expect(stats.instances.map((i) => i.id)).toEqual(['alive']);
      expect(await store.removeInstance('dead')).toEqual([]);
    });

    it('ranks rooms by distinct users', async () => {
      await connect('g', 's1', ann);
      await connect('g', 's2', bob);
      await join('s1', 'small');
      await join('s1', 'big');
      await join('s2', 'big');
      expect(await queries.topRooms(10)).toEqual([
        { room: 'big', users: 2, connections: 2 },
        { room: 'small', users: 1, connections: 1 },
      ]);
      expect(await queries.topRooms(1)).toHaveLength(1);
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

    it('sends the appends of one turn together, each with its own answer and its own failure', async () => {
      const draft = (room: string, i: number, clientId?: string) => ({
        id: `${room}-${i}`,
        room,
        text: `t${i}`,
        user: ann,
        ts: Date.now(),
        serverId: 'g',
        ...(clientId ? { clientId } : {}),
      });
      // A room whose history key is not a sorted set: its append fails inside the batch.
      await redis.set(log.keys.roomHistory('broken'), 'not a zset');
      const calls = [
        ...Array.from({ length: 10 }, (_, i) => log.appendMessage(draft('a', i))),
        log.appendMessage(draft('broken', 0)),
        ...Array.from({ length: 10 }, (_, i) => log.appendMessage(draft('b', i))),
        log.appendMessage(draft('a', 10, 'retry-1')),
        log.appendMessage({ ...draft('a', 11, 'retry-1'), text: 't10' }),
      ];
      const settled = await Promise.allSettled(calls);
      const ok = settled.map((r) => (r.status === 'fulfilled' ? r.value : undefined));
      expect(settled[10].status).toBe('rejected');
      const a = ok.slice(0, 10).map((r) => r!.ack.seq);
      const b = ok.slice(11, 21).map((r) => r!.ack.seq);
      // In call order, consecutive per room: the turn's calls ran in the order they were made.
      expect(a).toEqual(a.map((_, i) => a[0] + i));
      expect(b).toEqual(b.map((_, i) => b[0] + i));
      expect(ok[21]).toMatchObject({ duplicate: false, ack: { seq: a[9] + 1 } });
      expect(ok[22]).toMatchObject({ duplicate: true, ack: ok[21]!.ack });
      expect((await log.recentMessages('a', 50)).map((m) => m.id)).toEqual([
        ...Array.from({ length: 10 }, (_, i) => `a-${i}`),
        'a-10',
      ]);
      await redis.del(log.keys.roomHistory('broken'));
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
      expect(await redis.zcard(aged.keys.roomHistory('old'))).toBe(1);
      expect((await aged.history('old', { afterSeq: 0, limit: 10 })).map((m) => m.id)).toEqual([
        'c',
      ]);
      expect(await aged.currentSeq('old')).toBe(first.ack.seq + 2);
    });

    it("keeps each room's history by its own rule (count and age), others by the service's", async () => {
      // Rooms under `brief-` keep 3 messages for 5 s; the rest 100 for a minute (ROOM_RULES).
      const ruled = new RoomHistory(
        redis,
        prefix,
        { maxMessages: 100, maxAgeMs: 60_000 },
        false,
        (room) =>
          room.startsWith('brief-')
            ? { maxMessages: 3, maxAgeMs: 5000 }
            : { maxMessages: 100, maxAgeMs: 60_000 },
      );
      const now = Date.now();
      const say = (room: string, id: string, ts: number) =>
        ruled.appendMessage({ id, room, text: id, user: ann, ts, serverId: 'g' }, 0, ts);
      for (const room of ['brief-1', 'long-1']) {
        await say(room, 'old', now - 9000);
        for (const id of ['a', 'b', 'c', 'd']) await say(room, id, now);
      }
      const ids = async (room: string) =>
        (await ruled.history(room, { afterSeq: 0, limit: 50 })).map((m) => m.id);
      // brief-: the 9 s old one is past its age, and only the last 3 are kept.
      expect(await ids('brief-1')).toEqual(['b', 'c', 'd']);
      expect(await redis.zcard(ruled.keys.roomHistory('brief-1'))).toBe(3);
      expect(await ids('long-1')).toEqual(['old', 'a', 'b', 'c', 'd']);
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

    it('refuses a clientId reused with another text or name (ClientIdConflict), storing nothing', async () => {
      const draft = {
        id: 'm1',
        room: 'bound',
        text: 'hi',
        user: ann,
        ts: Date.now(),
        serverId: 'g',
      };
      const first = await log.appendMessage({ ...draft, clientId: 'c-1' });
      for (const other of [{ text: 'bye' }, { user: { ...ann, name: 'Another' } }]) {
        await expect(
          log.appendMessage({ ...draft, ...other, id: 'm2', clientId: 'c-1' }),
        ).rejects.toBeInstanceOf(ClientIdConflict);
      }
      expect(await log.appendMessage({ ...draft, id: 'm3', clientId: 'c-1' })).toMatchObject({
        duplicate: true,
        ack: first.ack,
      });
      expect((await log.recentMessages('bound', 10)).map((m) => m.id)).toEqual(['m1']);
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
      await del(await keysMatching(`${prefix}*room:lost:*`));
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
      for (const key of await keysMatching(`${prefix}*room:odd:*`)) {
        expect([key, await redis.pttl(key)]).toEqual([key, expect.any(Number)]);
        expect(await redis.pttl(key)).toBeGreaterThan(0);
      }
    });

    it('gives every key a room write leaves an expiry, and removes presence keys when empty', async () => {
      await connect('g', 's1', ann);
      await join('s1', 'churn');
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
      await leave('s1', 'churn');
      await disconnect('s1');
      await store.removeInstance('g');
      const left = await keysMatching(`${prefix}*`);
      expect(left.sort()).toEqual(
        [
          log.keys.roomClient('churn', ann.id, 'c'),
          ...['gen', 'history', 'ids', 'reads', 'seq'].map(
            (k) => `${log.keys.roomSeq('churn').slice(0, -3)}${k}`,
          ),
        ].sort(),
      );
      for (const key of left) expect(await redis.pttl(key)).toBeGreaterThan(0);
    });

    it('counts memberships per instance for the heartbeat comparison', async () => {
      await connect('g1', 's1', ann);
      await connect('g1', 's2', bob);
      await join('s1', 'a');
      await join('s1', 'b');
      await join('s2', 'a');
      expect(await store.instanceCounts('g1')).toEqual({ connections: 2, memberships: 3 });
      await leave('s1', 'b');
      await disconnect('s2');
      expect(await store.instanceCounts('g1')).toEqual({ connections: 1, memberships: 1 });
      // Counts that drifted are right again after a sync of the instance's own account.
      await redis.hset(store.keys.instanceRooms('g1'), 'a', 7);
      expect((await store.instanceCounts('g1')).memberships).toBe(7);
      await store.setInstance('g1', [{ socketId: 's1', user: ann, rooms: ['a'] }]);
      expect(await store.instanceCounts('g1')).toEqual({ connections: 1, memberships: 1 });
      await store.removeInstance('g1');
      expect(await store.instanceCounts('g1')).toEqual({ connections: 0, memberships: 0 });
    });

    it('leaves private rooms out of public answers', async () => {
      await connect('g', 's1', ann);
      await connect('g', 's2', bob);
      await join('s1', 'private-ops');
      await join('s2', 'private-ops');
      await join('s1', 'lobby');
      expect(await queries.topRooms(10)).toEqual([{ room: 'lobby', users: 1, connections: 1 }]);
      expect((await queries.clusterStats()).rooms).toBe(1);
      expect((await queries.topRooms(10, true)).map((r) => r.room)).toEqual([
        'private-ops',
        'lobby',
      ]);
      expect((await queries.clusterStats(true)).rooms).toBe(2);
      await disconnect('s1');
      await disconnect('s2');
      expect(await queries.topRooms(10, true)).toEqual([]);
    });

    it('keeps working after Redis forgets its scripts', async () => {
      await connect('g', 's1', ann);
      await flushScripts();
      await expect(join('s1', 'r')).resolves.toEqual(ann);
    });

    it('pages a room of 1,000 members: every one once, in order, with an exact count', async () => {
      const users = Array.from({ length: 1000 }, (_, i) => ({ id: `u${1000 + i}`, name: `N${i}` }));
      for (const [i, u] of users.entries()) {
        await connect('g', `s${i}`, u);
        await join(`s${i}`, 'huge');
      }
      const seen: string[] = [];
      let cursor: string | undefined;
      let pages = 0;
      do {
        const page = await queries.members('huge', { cursor, limit: 300 });
        expect(page.count).toBe(1000);
        seen.push(...page.members.map((m) => m.id));
        cursor = page.next;
        pages++;
      } while (cursor !== undefined && pages < 10);
      expect(pages).toBe(4);
      expect(seen).toEqual(users.map((u) => u.id));
      expect((await queries.roomStats('huge', { limit: 2 })).members).toEqual(users.slice(0, 2));
    }, 20000);
    describe('edits, deletions, reactions and read cursors in the room log', () => {
      const say = (room: string, text: string, user = ann, clientId?: string) =>
        log.appendMessage({
          id: `m-${Math.random().toString(36).slice(2, 10)}`,
          room,
          text,
          user,
          ts: Date.now(),
          serverId: 'g',
          ...(clientId ? { clientId } : {}),
        });
      const change = (
        room: string,
        id: string,
        kind: 'edit' | 'delete' | 'react',
        user = ann,
        more: { text?: string; emoji?: string; on?: boolean; clientId?: string } = {},
      ) => log.appendUpdate({ room, id, kind, user, ts: Date.now(), ...more });
      const idOf = async (room: string, seq: number) => (await log.messageAt(room, seq))!.id;

      it('edits and deletes in the log with the next seq; history shows the current state', async () => {
        const first = await say('ed', 'hello');
        const id = first.ack.id;
        const edit = await change('ed', id, 'edit', ann, { text: 'hello, "world" \\ 😀' });
        expect(edit).toMatchObject({ status: 'ok', prev: first.ack.seq });
        if (edit.status !== 'ok') throw new Error('edit refused');
        expect(edit.update).toMatchObject({
          seq: first.ack.seq + 1,
          targetSeq: first.ack.seq,
          id,
          kind: 'edit',
          user: ann,
          text: 'hello, "world" \\ 😀',
        });
        const [shown] = await log.recentMessages('ed', 10);
        expect(shown).toMatchObject({ id, seq: first.ack.seq, text: 'hello, "world" \\ 😀' });
        expect(shown.editedAt).toEqual(expect.any(Number));
        const next = await say('ed', 'after');
        expect(next.ack.seq).toBe(first.ack.seq + 2);
        const del = await change('ed', id, 'delete');
        expect(del.status).toBe('ok');
        const [gone] = await log.recentMessages('ed', 10);
        expect(gone).toMatchObject({ id, text: '', deleted: true });
        expect(gone.reactions).toBeUndefined();
        // The text is gone for good: neither the message nor the earlier edit keeps it.
        for (const key of await keysMatching(`${prefix}*room:ed:*`)) {
          const type = await redis.type(key);
          const dump =
            type === 'zset'
              ? (await redis.zrange(key, '0', '-1')).join()
              : type === 'hash'
                ? JSON.stringify(await redis.hgetall(key))
                : String(await redis.get(key));
          expect([key, dump.includes('hello')]).toEqual([key, false]);
        }
        // The updates replay in order, the edit's text blanked.
        const entries = await log.entriesBetween(
          'ed',
          first.ack.seq - 1,
          Number.MAX_SAFE_INTEGER,
          10,
        );
        expect(entries.map((e) => e.seq)).toEqual([0, 1, 2, 3].map((d) => first.ack.seq + d));
        expect(entries[1]).toMatchObject({ kind: 'edit', text: '' });
      });

      it("refuses another user's edit or deletion, and any change to a missing or deleted message", async () => {
        const m = await say('rules', 'mine');
        expect((await change('rules', m.ack.id, 'edit', bob, { text: 'x' })).status).toBe(
          'forbidden',
        );
        expect((await change('rules', m.ack.id, 'delete', bob)).status).toBe('forbidden');
        expect((await change('rules', 'no-such-id', 'edit', ann, { text: 'x' })).status).toBe(
          'not-found',
        );
        expect((await change('rules', m.ack.id, 'delete')).status).toBe('ok');
        expect((await change('rules', m.ack.id, 'delete')).status).toBe('not-found');
        expect(
          (await change('rules', m.ack.id, 'react', bob, { emoji: '👍', on: true })).status,
        ).toBe('not-found');
        // Past retention (20 messages here): the first one is no longer there to change.
        const old = await say('trim', 'old');
        for (let i = 0; i < 20; i++) await say('trim', `m${i}`);
        expect((await change('trim', old.ack.id, 'edit', ann, { text: 'x' })).status).toBe(
          'not-found',
        );
        expect(await log.currentSeq('trim')).toBe(old.ack.seq + 20);
      });

      it('keeps reactions as counts and users per emoji, at most 20 distinct', async () => {
        const m = await say('rx', 'react to me');
        const id = m.ack.id;
        await change('rx', id, 'react', bob, { emoji: '👍', on: true });
        const second = await change('rx', id, 'react', ann, { emoji: '👍', on: true });
        expect(second).toMatchObject({ status: 'ok', update: { emoji: '👍', on: true, count: 2 } });
        await change('rx', id, 'react', bob, { emoji: '👍', on: true });
        await change('rx', id, 'react', bob, { emoji: '❤️', on: true });
        expect((await log.messageAt('rx', m.ack.seq))!.reactions).toEqual({
          '👍': { count: 2, users: [bob.id, ann.id] },
          '❤️': { count: 1, users: [bob.id] },
        });
        await change('rx', id, 'react', bob, { emoji: '❤️', on: false });
        await change('rx', id, 'react', bob, { emoji: '👍', on: false });
        expect((await log.messageAt('rx', m.ack.seq))!.reactions).toEqual({
          '👍': { count: 1, users: [ann.id] },
        });
        await change('rx', id, 'react', ann, { emoji: '👍', on: false });
        expect((await log.messageAt('rx', m.ack.seq))!.reactions).toBeUndefined();
        for (let i = 0; i < 20; i++)
          expect((await change('rx', id, 'react', bob, { emoji: `e${i}`, on: true })).status).toBe(
            'ok',
          );
        expect((await change('rx', id, 'react', bob, { emoji: 'one more', on: true })).status).toBe(
          'too-many-reactions',
        );
        expect((await change('rx', id, 'react', ann, { emoji: 'e3', on: true })).status).toBe('ok');
      });

      it('answers a retried clientId with the first ack and appends nothing', async () => {
        const m = await say('retry', 'x');
        const a = await change('retry', m.ack.id, 'edit', ann, { text: 'y', clientId: 'c1' });
        const b = await change('retry', m.ack.id, 'edit', ann, { text: 'y', clientId: 'c1' });
        if (a.status !== 'ok') throw new Error('edit refused');
        expect(b).toEqual({ status: 'duplicate', ack: { seq: a.update.seq } });
        expect(await log.currentSeq('retry')).toBe(a.update.seq);
        expect((await log.updateAt('retry', a.update.seq))!.text).toBe('y');
      });

      it('binds a clientId to its change: another kind, target, text or emoji is a conflict, never a retry', async () => {
        const m1 = await say('bind', 'one');
        const m2 = await say('bind', 'two');
        const first = await change('bind', m1.ack.id, 'edit', ann, { text: 'y', clientId: 'X' });
        expect(first.status).toBe('ok');
        const others = [
          change('bind', m1.ack.id, 'edit', ann, { text: 'z', clientId: 'X' }),
          change('bind', m2.ack.id, 'edit', ann, { text: 'y', clientId: 'X' }),
          change('bind', m2.ack.id, 'delete', ann, { clientId: 'X' }),
          change('bind', m2.ack.id, 'react', ann, { emoji: '👍', on: true, clientId: 'X' }),
        ];
        for (const outcome of await Promise.all(others))
          expect(outcome).toEqual({ status: 'client-id-conflict' });
        const seq = await log.currentSeq('bind');
        // Nothing of those was applied: m2 is as sent, and the log did not grow.
        expect(await log.messageAt('bind', m2.ack.seq)).toMatchObject({ text: 'two' });
        expect((await log.messageAt('bind', m2.ack.seq))!.reactions).toBeUndefined();
        // A reaction's on and off are two changes; each retried alone is a retry.
        const on = await change('bind', m2.ack.id, 'react', bob, {
          emoji: '👍',
          on: true,
          clientId: 'R',
        });
        expect(
          (await change('bind', m2.ack.id, 'react', bob, { emoji: '👍', on: false, clientId: 'R' }))
            .status,
        ).toBe('client-id-conflict');
        if (on.status !== 'ok') throw new Error('reaction refused');
        expect(
          await change('bind', m2.ack.id, 'react', bob, { emoji: '👍', on: true, clientId: 'R' }),
        ).toEqual({ status: 'duplicate', ack: { seq: on.update.seq } });
        expect(await log.currentSeq('bind')).toBe(seq + 1);
      });

      it("keeps a reaction's cost and a message's size flat as reactors grow, and pages every reactor", async () => {
        const m = await say('crowd', 'popular');
        const crowd = Array.from({ length: 150 }, (_, i) => ({ id: `fan-${i}`, name: `Fan ${i}` }));
        for (const fan of crowd)
          await change('crowd', m.ack.id, 'react', fan, { emoji: '🎉', on: true });
        const shown = (await log.messageAt('crowd', m.ack.seq))!;
        expect(shown.reactions!['🎉']).toEqual({
          count: 150,
          users: crowd.slice(-10).map((f) => f.id),
        });
        // The stored message is as large as it was with ten reactors: it names ten.
        const stored = await redis.zrangebyscore(
          log.keys.roomHistory('crowd'),
          m.ack.seq,
          m.ack.seq,
        );
        expect(stored[0].length).toBeLessThan(600);
        // Every reactor once, in pages.
        const seen: string[] = [];
        let after: string | undefined;
        for (let pages = 0; pages < 10; pages++) {
          const page = (await log.reactors('crowd', m.ack.id, '🎉', { after, limit: 40 }))!;
          seen.push(...page.users);
          after = page.after;
          if (after === undefined) break;
        }
        expect(seen.sort()).toEqual(crowd.map((f) => f.id).sort());
        expect(await log.reactors('crowd', m.ack.id, '👍', { limit: 10 })).toEqual({ users: [] });
        expect(await log.reactors('crowd', 'no-such-id', '🎉', { limit: 10 })).toBeUndefined();
        // mine: a reactor outside the sample, one inside it, and one who did not react.
        const [early, late] = [crowd[0], crowd[149]];
        for (const [who, expected] of [
          [early, { [m.ack.id]: ['🎉'] }],
          [late, { [m.ack.id]: ['🎉'] }],
          [ann, {}],
        ] as const)
          expect(await log.mine('crowd', who.id, [shown])).toEqual(expected);
        // A named reactor who takes it back is replaced by another: the sample stays full.
        const off = await change('crowd', m.ack.id, 'react', late, { emoji: '🎉', on: false });
        expect(off).toMatchObject({ status: 'ok', update: { count: 149 } });
        const after149 = (await log.messageAt('crowd', m.ack.seq))!.reactions!['🎉'];
        expect(after149.count).toBe(149);
        expect(after149.users).toHaveLength(10);
        expect(after149.users).not.toContain(late.id);
        // A deletion takes every reactor with it.
        await change('crowd', m.ack.id, 'delete');
        expect(await redis.exists(log.keys.roomReactors('crowd'))).toBe(0);
      }, 30000);

      it("keeps only a message's latest edit text: a deletion after an edit storm rewrites one update", async () => {
        const m = await say('storm', 'v0');
        const other = await say('storm', 'other');
        for (let i = 1; i <= 30; i++) {
          await change('storm', m.ack.id, 'edit', ann, { text: `v${i}` });
          await change('storm', other.ack.id, 'edit', ann, { text: `o${i}` });
        }
        const texts = async () =>
          (await redis.zrange(log.keys.roomUpdates('storm'), '0', '-1'))
            .map((u) => JSON.parse(u) as { text?: string })
            .filter((u) => u.text)
            .map((u) => u.text);
        // Each message's superseded edits keep no text: a client applying them in order ends
        // on the latest.
        expect((await texts()).sort()).toEqual(['o30', 'v30']);
        expect((await log.messageAt('storm', m.ack.seq))!.text).toBe('v30');
        await change('storm', m.ack.id, 'delete');
        expect(await texts()).toEqual(['o30']);
        expect((await log.messageAt('storm', other.ack.seq))!.text).toBe('o30');
        // A message edited before edits were indexed (no l:<seq>, every edit keeping its text):
        // its deletion still leaves none of them.
        const old = await say('storm', 'old');
        for (const text of ['old1', 'old2'])
          await change('storm', old.ack.id, 'edit', ann, { text });
        const key = log.keys.roomUpdates('storm');
        const first = (await redis.zrange(key, '0', '-1')).find(
          (u) =>
            u.includes('"text":""}') === false &&
            u.includes(old.ack.id) &&
            u.includes('"kind":"edit"}'),
        )!;
        await redis.zrem(key, first);
        await redis.zadd(
          key,
          JSON.parse(first).seq,
          first.replace(/,"kind":"edit"}$/, ',"kind":"edit","text":"old1"}'),
        );
        await redis.hdel(log.keys.roomEdits('storm'), `l:${old.ack.seq}`);
        expect((await texts()).sort()).toEqual(['o30', 'old1', 'old2']);
        await change('storm', old.ack.id, 'delete');
        expect(await texts()).toEqual(['o30']);
      }, 30000);

      it('snapshots a join: messages after sinceSeq in their state, and every update after it', async () => {
        const a = await say('snap', 'a');
        const b = await say('snap', 'b');
        await change('snap', a.ack.id, 'edit', ann, { text: 'a2' });
        await change('snap', b.ack.id, 'react', bob, { emoji: '👍', on: true });
        const snap = await log.joinSnapshot('snap', {
          sinceSeq: a.ack.seq,
          limit: 10,
          updatesLimit: 10,
          updatesByteBudget: 1 << 20,
        });
        expect(snap.updatesOverBudget).toBe(false);
        expect(snap.history.map((m) => [m.text, m.reactions])).toEqual([
          ['b', { '👍': { count: 1, users: [bob.id] } }],
        ]);
        expect(snap.updates.map((u) => [u.kind, u.targetSeq])).toEqual([
          ['edit', a.ack.seq],
          ['react', b.ack.seq],
        ]);
        expect(snap.seq.current).toBe(b.ack.seq + 2);
        expect(await idOf('snap', a.ack.seq)).toBe(a.ack.id);
        // Without sinceSeq: the newest messages, no updates.
        const recent = await log.joinSnapshot('snap', {
          limit: 1,
          updatesLimit: 10,
          updatesByteBudget: 1 << 20,
        });
        expect([recent.history.map((m) => m.text), recent.updates]).toEqual([['b'], []]);
      });

      it("stops reading a join's updates once those the ack would carry pass the byte budget", async () => {
        const big = new RoomHistory(redis, prefix, { maxMessages: 500, maxAgeMs: 60_000 });
        const sent: Awaited<ReturnType<typeof say>>[] = [];
        for (let i = 0; i < 120; i++)
          sent.push(
            await big.appendMessage({
              id: `b${i}`,
              room: 'budget',
              text: `m${i}`,
              user: ann,
              ts: Date.now(),
              serverId: 'g',
            }),
          );
        const since = sent[sent.length - 1].ack.seq;
        for (const m of sent)
          await big.appendUpdate({
            room: 'budget',
            id: m.ack.id,
            kind: 'edit',
            user: ann,
            ts: Date.now(),
            text: 'x'.repeat(1000),
          });
        // 120 updates of about 1.2 KB each to messages the client already shows.
        const read = (budget: number) =>
          big.joinSnapshot('budget', {
            sinceSeq: since,
            limit: 10,
            updatesLimit: 500,
            updatesByteBudget: budget,
          });
        const all = await read(1 << 20);
        expect([all.updates.length, all.updatesOverBudget]).toEqual([120, false]);
        const cut = await read(10_000);
        expect(cut.updatesOverBudget).toBe(true);
        // It stopped at the update that passed the budget: far fewer than 120 were read.
        expect(cut.updates.length).toBeLessThan(12);
        expect(cut.updates.length).toBeGreaterThan(5);
        // Updates to messages after sinceSeq do not count against the budget.
        const after = await big.joinSnapshot('budget', {
          sinceSeq: sent[0].ack.seq - 1,
          limit: 10,
          updatesLimit: 500,
          updatesByteBudget: 10_000,
        });
        expect([after.updates.length, after.updatesOverBudget]).toEqual([120, false]);
      }, 30000);

      it('keeps one cursor per user and room: joins start it, sends and reads move it, never back', async () => {
        const cursors = new ReadCursors(redis, prefix);
        await say('cur', 'before');
        const joined = await cursors.join('cur', ann.id);
        expect(joined).toMatchObject({ readSeq: await log.currentSeq('cur'), unread: 0 });
        for (const t of ['1', '2', '3']) await say('cur', t, bob);
        expect(await cursors.peek('cur', ann.id)).toMatchObject({ unread: 3, moved: false });
        const mine = await say('cur', 'mine', ann);
        expect(await cursors.peek('cur', ann.id)).toMatchObject({
          readSeq: mine.ack.seq,
          unread: 0,
        });
        const late = await say('cur', 'late', bob);
        expect(await cursors.read('cur', ann.id, 1)).toMatchObject({
          readSeq: mine.ack.seq,
          unread: 1,
          moved: false,
        });
        expect(await cursors.read('cur', ann.id, Number.MAX_SAFE_INTEGER)).toMatchObject({
          readSeq: late.ack.seq,
          unread: 0,
          moved: true,
        });
        // Updates do not count as unread.
        await change('cur', late.ack.id, 'react', bob, { emoji: '👍', on: true });
        expect((await cursors.peek('cur', ann.id)).unread).toBe(0);
        // rooms(): most recent activity first (the newest message, or the user's join or read).
        // Activity is timed in ms: each step waits for the next ms, so none ties with another.
        const nextMs = () => new Promise((r) => setTimeout(r, 3));
        await nextMs();
        await cursors.join('quiet', ann.id);
        await nextMs();
        await say('busy', 'x', bob);
        await cursors.join('busy', ann.id);
        await nextMs();
        await say('busy', 'y', bob);
        expect((await cursors.rooms(ann.id)).map((r) => [r.room, r.unread])).toEqual([
          ['busy', 1],
          ['quiet', 0],
          ['cur', 0],
        ]);
      });

      it('counts unread exactly up to 1000 and says 1000 beyond', async () => {
        const big = new RoomHistory(redis, prefix, { maxMessages: 2000, maxAgeMs: 60_000 });
        const cursors = new ReadCursors(redis, prefix);
        await cursors.join('many', ann.id);
        const send = (n: number) =>
          Promise.all(
            Array.from({ length: n }, (_, i) =>
              big.appendMessage({
                id: `m${Math.random()}`,
                room: 'many',
                text: `${i}`,
                user: bob,
                ts: Date.now(),
                serverId: 'g',
              }),
            ),
          );
        for (const [add, expected] of [
          [0, 0],
          [1, 1],
          [998, 999],
          [1, 1000],
          [500, 1000],
        ]) {
          await send(add);
          expect([add, (await cursors.peek('many', ann.id)).unread]).toEqual([add, expected]);
        }
      });
    });

    describe('member pages from room:<r>:members', () => {
      /** 1,000 users in `room`, ids in no particular order, one connection each on g1..g3. */
      const fill = async (room: string, n: number) => {
        const users = Array.from({ length: n }, (_, i) => ({
          id: `${['a', 'B', 'z', '0', '_', '-'][i % 6]}${((i * 7919) % n).toString(36)}-${i}`,
          name: `Name ${i}`,
        }));
        await Promise.all(
          users.map(async (u, i) => {
            await connect(`g${(i % 3) + 1}`, `s${i}`, u);
            await join(`s${i}`, room);
          }),
        );
        // Redis orders ids by bytes: Buffer.compare, not localeCompare.
        return users.sort((a, b) => Buffer.compare(Buffer.from(a.id), Buffer.from(b.id)));
      };

      const walk = async (room: string, limit?: number) => {
        const pages: { ids: string[]; count: number; next?: string }[] = [];
        let cursor: string | undefined;
        do {
          const page = await queries.members(room, { cursor, limit });
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
          const first = await queries.members('crowd', { limit: 3 });
          expect(first.members).toEqual(users.slice(0, 3));
        },
        30000,
      );

      it('gives an empty last page for a cursor at or past the end', async () => {
        const users = await fill('tail', 20);
        const last = users[users.length - 1].id;
        const cursor = (id: string) => Buffer.from(id).toString('base64url');
        expect(await queries.members('tail', { cursor: cursor(last) })).toEqual({
          members: [],
          count: 20,
          hasUser: false,
        });
        expect((await queries.members('tail', { cursor: cursor('~~~') })).members).toEqual([]);
        // A page that ends exactly at the last member has no next.
        const page = await queries.members('tail', { cursor: cursor(users[9].id), limit: 10 });
        expect(page.members).toEqual(users.slice(10));
        expect(page.next).toBeUndefined();
        expect(await queries.members('nobody-here')).toEqual({
          members: [],
          count: 0,
          hasUser: false,
        });
      });

      it('counts users, not connections, and answers hasUser for the whole room', async () => {
        const users = await fill('count', 300);
        const deep = users[250].id;
        await connect('g2', 'ann-1', ann);
        await connect('g3', 'ann-2', ann);
        await join('ann-1', 'count');
        await join('ann-2', 'count');
        const first = await queries.members('count', { limit: 5, user: deep });
        expect(first).toMatchObject({ count: 301, hasUser: true });
        expect(first.members.map((m) => m.id)).not.toContain(deep);
        expect((await queries.members('count', { limit: 5, user: 'u-nobody' })).hasUser).toBe(
          false,
        );
        expect((await queries.members('count', { limit: 5 })).hasUser).toBe(false);
        // One of Ann's two connections leaves: she is still a member; the other too: she is not.
        await leave('ann-1', 'count');
        expect(await queries.members('count', { limit: 1, user: ann.id })).toMatchObject({
          count: 301,
          hasUser: true,
        });
        await disconnect('ann-2');
        expect(await queries.members('count', { limit: 1, user: ann.id })).toMatchObject({
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
        expect(await redis.zcard(queries.keys.roomMembers('count'))).toBe(
          await redis.hlen(queries.keys.roomUsers('count')),
        );
      }, 20000);
    });
    describe('per-instance rooms and the routing map', () => {
      const cat = { id: 'u-cat', name: 'Cat' };
      const roomsOf = async (includePrivate = false) =>
        Object.fromEntries(
          (await queries.clusterStats(includePrivate)).instances.map((i) => [i.id, i.rooms]),
        );

      beforeEach(async () => {
        // Heartbeats that report no rooms at all: the figures must not come from them.
        for (const g of ['g1', 'g2', 'g3']) await store.heartbeat(g, 1);
        await connect('g1', 'ann-g1', ann);
        await connect('g2', 'ann-g2', ann);
        await connect('g2', 'bob-g2', bob);
        await connect('g3', 'cat-g3', cat);
      });

      it("counts each instance's rooms exactly as joins and leaves run, not from heartbeats", async () => {
        expect(await roomsOf()).toEqual({ g1: 0, g2: 0, g3: 0 });
        await join('ann-g1', 'lobby');
        await join('ann-g1', 'dev');
        await join('ann-g2', 'lobby');
        await join('bob-g2', 'lobby');
        expect(await roomsOf()).toEqual({ g1: 2, g2: 1, g3: 0 });
        expect(await redis.hgetall(store.keys.instanceRooms('g2'))).toEqual({ lobby: '2' });
        expect(await redis.hgetall(queries.keys.roomInstances('lobby'))).toEqual({
          g1: '1',
          g2: '2',
        });
        await leave('bob-g2', 'lobby');
        expect(await roomsOf()).toEqual({ g1: 2, g2: 1, g3: 0 });
        await leave('ann-g2', 'lobby');
        expect(await roomsOf()).toEqual({ g1: 2, g2: 0, g3: 0 });
        await disconnect('ann-g1');
        expect(await roomsOf()).toEqual({ g1: 0, g2: 0, g3: 0 });
        // Nothing left behind: the hashes go with their last field.
        expect(await keysMatching(`${prefix}*insts`)).toEqual([]);
        expect(await keysMatching(`${prefix}*rooms`)).toEqual([]);
      });

      it('maps each room to the instances holding a member, through a two-instance user', async () => {
        expect((await queries.routing()).rooms).toEqual([]);
        await join('ann-g1', 'lobby');
        await join('ann-g2', 'lobby');
        await join('bob-g2', 'dev');
        await join('cat-g3', 'lobby');
        await join('cat-g3', 'private-ops');
        await join('ann-g1', 'private-ops');
        expect((await queries.routing()).rooms).toEqual([
          { room: 'dev', instances: ['g2'] },
          { room: 'lobby', instances: ['g1', 'g2', 'g3'] },
        ]);
        expect((await queries.routing(true)).rooms).toEqual([
          { room: 'dev', instances: ['g2'] },
          { room: 'lobby', instances: ['g1', 'g2', 'g3'] },
          { room: 'private-ops', instances: ['g1', 'g3'] },
        ]);
        // Ann leaves on g2 only: still a member of lobby (through g1), but g2 has no one there.
        await leave('ann-g2', 'lobby');
        expect((await queries.members('lobby', { user: ann.id })).hasUser).toBe(true);
        expect((await queries.routing()).rooms).toEqual([
          { room: 'dev', instances: ['g2'] },
          { room: 'lobby', instances: ['g1', 'g3'] },
        ]);
        await disconnect('cat-g3');
        expect((await queries.routing(true)).rooms).toEqual([
          { room: 'dev', instances: ['g2'] },
          { room: 'lobby', instances: ['g1'] },
          { room: 'private-ops', instances: ['g1'] },
        ]);
        expect(await roomsOf(true)).toEqual({ g1: 2, g2: 1, g3: 0 });
        // g1 dies: its rooms go from the map and from /stats, and Ann is out of lobby for good.
        await store.removeInstance('g1');
        expect((await queries.routing(true)).rooms).toEqual([{ room: 'dev', instances: ['g2'] }]);
        expect(await roomsOf(true)).toEqual({ g2: 1, g3: 0 });
        expect(await redis.exists(store.keys.instanceRooms('g1'))).toBe(0);
        expect((await queries.members('lobby', { user: ann.id })).hasUser).toBe(false);
      });

      it('drops a dead instance from every room even when its counts had drifted', async () => {
        await join('ann-g1', 'lobby');
        await join('bob-g2', 'lobby');
        // A room share no connection backs (a leave cut short after the instance's side, say).
        const k = store.keys;
        await redis.hset(k.instanceRooms('g1'), 'ghost', 1);
        await redis.sadd(k.groupInstanceRooms(groupOf('ghost'), 'g1'), 'ghost');
        await redis.hset(k.roomInstances('ghost'), 'g1', 1);
        await redis.hset(k.roomInstanceUsers('ghost', 'g1'), 'u-x', 1);
        await redis.hset(k.roomUsers('ghost'), 'u-x', 1);
        await redis.zadd(k.roomMembers('ghost'), 0, 'u-x');
        await redis.zadd(k.rankingOf('ghost'), 1, 'ghost');
        expect(await store.removeInstance('g1')).toEqual(
          expect.arrayContaining([{ room: 'ghost', user: { id: 'u-x', name: 'u-x' } }]),
        );
        expect(await redis.exists(k.roomInstances('ghost'), k.roomUsers('ghost'))).toBe(0);
        expect(await keysMatching(`${prefix}*ghost*`)).toEqual([]);
        expect((await queries.routing()).rooms).toEqual([{ room: 'lobby', instances: ['g2'] }]);
      });
    });

    describe('moving a deployment of layout 1 (keys without hash tags)', () => {
      const old = (key: string) => `${prefix}${key}`;
      const message = (seq: number, id: string) =>
        JSON.stringify({
          seq,
          id,
          room: 'kept',
          text: id,
          user: ann,
          ts: Date.now(),
          serverId: 'g',
        });
      /** A room with history and a clientId ack, and presence, as layout 1 wrote them. */
      const writeLayout1 = async () => {
        await redis.set(old('room:kept:seq'), '5000', 'PX', 60000);
        await redis.set(old('room:kept:gen'), '4990', 'PX', 60000);
        await redis.zadd(
          old('room:kept:history'),
          4999,
          message(4999, 'a'),
          5000,
          message(5000, 'b'),
        );
        await redis.pexpire(old('room:kept:history'), 60000);
        await redis.set(
          old('room:kept:client:u-ann:c1'),
          '{"id":"b","seq":5000,"ts":1}',
          'PX',
          60000,
        );
        await redis.hset(old('conns'), 's1', '{"i":"g1","u":"u-ann"}');
        await redis.hset(old('users'), 'u-ann', 1);
        await redis.zadd(old('rooms'), 1, 'kept');
        await redis.hset(old('room:kept:users'), 'u-ann', 1);
        await redis.sadd(old('inst:g1:conns'), 's1');
      };

      it("keeps each room's seq, generation, history and clientId acks, and drops old presence", async () => {
        await writeLayout1();
        expect(await migrateLayout(redis, prefix, 'test')).toEqual({
          moved: 4,
          dropped: 5,
          ran: true,
        });
        expect((await log.recentMessages('kept', 10)).map((m) => m.id)).toEqual(['a', 'b']);
        expect(await log.seqState('kept')).toEqual({ current: 5000, gen: 4990 });
        const draft = {
          id: 'c',
          room: 'kept',
          text: 'c',
          user: ann,
          ts: Date.now(),
          serverId: 'g',
        };
        // The retry of a send acked before the upgrade is still recognised.
        expect(await log.appendMessage({ ...draft, clientId: 'c1' })).toMatchObject({
          duplicate: true,
          ack: { id: 'b', seq: 5000 },
        });
        expect((await log.appendMessage(draft)).ack.seq).toBe(5001);
        const left = await keysMatching(`${prefix}*`);
        expect(left.filter((k) => !k.startsWith(`${prefix}{`))).toEqual([`${prefix}layout`]);
        for (const key of left.filter((k) => k.includes('room:kept:')))
          expect([key, (await redis.pttl(key)) > 0]).toEqual([key, true]);
        expect(await redis.get(`${prefix}layout`)).toBe(LAYOUT);
        expect(await migrateLayout(redis, prefix, 'again')).toEqual({
          moved: 0,
          dropped: 0,
          ran: false,
        });
      });

      it('lets one service move the keys while the others wait for it to finish', async () => {
        await writeLayout1();
        const results = await Promise.all(
          ['a', 'b', 'c'].map((owner) => migrateLayout(redis, prefix, owner)),
        );
        expect(results.filter((r) => r.ran)).toEqual([{ moved: 4, dropped: 5, ran: true }]);
        // Each waiting service returns only once the keys are moved.
        expect(await log.seqState('kept')).toEqual({ current: 5000, gen: 4990 });
      });

      it('gives up with one line when another service holds the lock too long', async () => {
        await redis.set(`${prefix}migration-lock`, 'stuck', 'PX', 5000);
        await expect(migrateLayout(redis, prefix, 'me', undefined, 500)).rejects.toThrow(
          `the Redis keys under ${prefix} were not moved to layout ${LAYOUT} within 500 ms (another service holds ${prefix}migration-lock)`,
        );
      });
    });

    describe('any order of changes, cut short or not (model-based, fast-check)', () => {
      const INSTANCES = ['g1', 'g2', 'g3'];
      const USERS = ['u-a', 'u-b', 'u-c', 'u-d'].map((id) => ({ id, name: id.toUpperCase() }));
      const ROOMS = ['r1', 'r2', 'r3', 'private-p'];
      /** Socket i lives on instance i % 3 as user i % 4: tabs of one user on several instances. */
      const SOCKETS = Array.from({ length: 8 }, (_, i) => ({
        socketId: `s${i}`,
        instanceId: INSTANCES[i % 3],
        user: USERS[i % 4],
      }));
      type Op =
        | { op: 'connect' | 'disconnect'; s: number }
        | { op: 'join' | 'leave'; s: number; room: string }
        | { op: 'remove' | 'sync'; g: number }
        | { op: 'drift'; g: number; room: string; user: number };
      const ops: fc.Arbitrary<Op> = fc.oneof(
        fc.record({ op: fc.constantFrom('connect', 'disconnect'), s: fc.nat(7) }),
        fc.record({
          op: fc.constantFrom('join', 'leave'),
          s: fc.nat(7),
          room: fc.constantFrom(...ROOMS),
        }),
        fc.record({
          op: fc.constantFrom('join', 'leave'),
          s: fc.nat(7),
          room: fc.constantFrom(...ROOMS),
        }),
        fc.record({ op: fc.constantFrom('remove', 'sync'), g: fc.nat(2) }),
        fc.record({
          op: fc.constant('drift'),
          g: fc.nat(2),
          room: fc.constantFrom(...ROOMS),
          user: fc.nat(3),
        }),
      ) as fc.Arbitrary<Op>;

      it('answers exactly what the acked changes imply, and a sync repairs any drift', async () => {
        await runFuzz(
          `presence model on ${label}`,
          fc.asyncProperty(fc.array(ops, { minLength: 1, maxLength: 30 }), async (run) => {
            prefix = `${runPrefix('model')}-${Math.random().toString(36).slice(2, 8)}:`;
            store = new PresenceStore(redis, prefix);
            queries = new PresenceQueries(redis, prefix);
            /** The model: each connected socket's rooms. */
            const model = new Map<number, Set<string>>();
            const usersIn = (room: string) => {
              const n = new Map<string, number>();
              for (const [i, rooms] of model)
                if (rooms.has(room))
                  n.set(SOCKETS[i].user.id, (n.get(SOCKETS[i].user.id) ?? 0) + 1);
              return n;
            };
            const state = (g: string) =>
              [...model]
                .filter(([i]) => SOCKETS[i].instanceId === g)
                .map(([i, rooms]) => ({ ...SOCKETS[i], rooms: [...rooms] }));
            const sortDepartures = (d: { room: string; user: User }[]) =>
              d.map((x) => `${x.room}/${x.user.id}`).sort();
            const expectedLeft = (sockets: number[]) => {
              const before = new Map(ROOMS.map((r) => [r, usersIn(r)]));
              for (const i of sockets) model.delete(i);
              return ROOMS.flatMap((r) =>
                [...before.get(r)!.keys()]
                  .filter((u) => !usersIn(r).has(u))
                  .map((u) => `${r}/${u}`),
              ).sort();
            };
            try {
              for (const o of run) {
                if (o.op === 'connect') {
                  const x = SOCKETS[o.s];
                  expect(await store.connect(x.instanceId, x.socketId, x.user)).toBe(
                    !model.has(o.s),
                  );
                  if (!model.has(o.s)) model.set(o.s, new Set());
                } else if (o.op === 'join') {
                  const x = SOCKETS[o.s];
                  const isNew = !(usersIn(o.room).get(x.user.id) ?? 0);
                  const held = model.get(o.s) ?? new Set<string>();
                  const joined = await store.join(x.instanceId, x.socketId, x.user, o.room);
                  expect(joined).toEqual(isNew && !held.has(o.room) ? x.user : null);
                  model.set(o.s, held.add(o.room));
                } else if (o.op === 'leave') {
                  const x = SOCKETS[o.s];
                  const held = model.get(o.s);
                  const last = held?.has(o.room) && usersIn(o.room).get(x.user.id) === 1;
                  held?.delete(o.room);
                  expect(await store.leave(x.instanceId, x.socketId, o.room)).toEqual(
                    last ? x.user : null,
                  );
                } else if (o.op === 'disconnect') {
                  const x = SOCKETS[o.s];
                  const left = expectedLeft([o.s]);
                  expect(sortDepartures(await store.disconnect(x.instanceId, x.socketId))).toEqual(
                    left,
                  );
                } else if (o.op === 'remove') {
                  const g = INSTANCES[o.g];
                  const mine = [...model.keys()].filter((i) => SOCKETS[i].instanceId === g);
                  const left = expectedLeft(mine);
                  expect(sortDepartures(await store.removeInstance(g))).toEqual(left);
                } else if (o.op === 'sync') {
                  // Nothing drifted: a sync of the instance's own account changes nothing.
                  const g = INSTANCES[o.g];
                  expect(await store.setInstance(g, state(g))).toEqual({ joined: [], left: [] });
                } else if (o.op === 'drift') {
                  // A change cut short between its scripts: the room's side has a connection the
                  // instance's side does not know of, or lacks one it knows of. A sync repairs it.
                  const g = INSTANCES[o.g];
                  const u = USERS[o.user].id;
                  const k = store.keys;
                  await redis.hincrby(k.roomInstanceUsers(o.room, g), u, 1);
                  await redis.hincrby(k.roomUsers(o.room), u, 1);
                  await redis.sadd(k.groupInstanceRooms(groupOf(o.room), g), o.room);
                  // (Each script keeps a share and its total together: a drift is a whole script.)
                  await redis.hincrby(k.groupInstanceUsers(groupOf(u), g), u, 1);
                  await redis.hincrby(k.groupUsers(groupOf(u)), u, 1);
                  await store.setInstance(g, state(g));
                }
                // What every reader sees matches the model.
                const stats = await queries.clusterStats(true);
                const live = [...model.keys()];
                const occupied = ROOMS.filter((r) => usersIn(r).size > 0);
                expect({
                  online: stats.online,
                  connections: stats.connections,
                  rooms: stats.rooms,
                }).toEqual({
                  online: new Set(live.map((i) => SOCKETS[i].user.id)).size,
                  connections: live.length,
                  rooms: occupied.length,
                });
                for (const room of ROOMS) {
                  const users = usersIn(room);
                  const page = await queries.roomStats(room, { limit: 10 });
                  expect({
                    room,
                    users: page.users,
                    members: page.members.map((m) => m.id),
                  }).toEqual({
                    room,
                    users: users.size,
                    members: [...users.keys()].sort(),
                  });
                  expect(page.connections).toBe([...users.values()].reduce((a, b) => a + b, 0));
                }
                for (const g of INSTANCES) {
                  const mine = state(g);
                  expect(await store.instanceCounts(g)).toEqual({
                    connections: mine.length,
                    memberships: mine.reduce((n, x) => n + x.rooms.length, 0),
                  });
                }
                expect((await queries.routing(true)).rooms).toEqual(
                  occupied.sort().map((room) => ({
                    room,
                    instances: INSTANCES.filter((g) =>
                      state(g).some((x) => x.rooms.includes(room)),
                    ),
                  })),
                );
              }
            } finally {
              await del(await keysMatching(`${prefix}*`));
            }
          }),
          { defaultRuns: 25 },
        );
      }, 120000);
    });
  });
}
