import { Moderation, type RedisClient, type Sanction } from '@roomcast/store';
import { runPrefix, waitFor } from '@roomcast/testing';
import type { StoreTarget } from './store.suite';

/**
 * Moderation's listings, run on the machine's Redis (test/int/moderation.int-spec.ts, in `npm
 * test`) and on a Redis Cluster of 3 masters (test/cluster/moderation.cluster-spec.ts), under a key
 * prefix of each case's own: the cross-room index of the sanctions in force (the operations
 * page's lists; its slot is not the rooms', so it is written apart from them), and a room's bans
 * and mutes in pages.
 */
export function describeModeration(label: string, open: () => Promise<StoreTarget>): void {
  describe(`Moderation on ${label}: sanctions in force across rooms, a room’s pages`, () => {
    let target: StoreTarget;
    let redis: RedisClient;
    let prefix: string;
    let mod: Moderation;
    let clock: number;

    /** A sanction given now (each a ms later than the one before, so the order is known). */
    const given = (durationMs?: number, reason?: string): Sanction => {
      const at = Math.max(Date.now(), clock + 1);
      clock = at;
      return {
        until: durationMs === undefined ? null : at + durationMs,
        at,
        ...(reason !== undefined ? { reason } : {}),
      };
    };
    /** Who the page lists, as `room/user`, in its order. */
    const who = async (kind: 'ban' | 'mute', includePrivate = true, limit = 100) =>
      (await mod.active(kind, limit, { includePrivate })).map((s) => `${s.room}/${s.userId}`);
    /** Every entry of the cross-room index's sets (both scopes). */
    const indexSizes = async (kind: 'ban' | 'mute') => {
      const k = mod.keys;
      return Promise.all(
        (['public', 'private'] as const).flatMap((scope) => [
          redis.zcard(k.sanctionEnds(kind, scope)),
          redis.zcard(k.sanctionTimes(kind, scope)),
        ]),
      );
    };

    beforeAll(async () => {
      target = await open();
      redis = target.client;
    }, 60000);

    beforeEach(() => {
      prefix = `${runPrefix('moderation')}-${Math.random().toString(36).slice(2, 6)}:`;
      mod = new Moderation(redis, prefix);
      clock = 0;
    });

    afterEach(async () => {
      // Key by key: on a cluster they lie in different slots.
      const keys = (await Promise.all(target.nodes().map((n) => n.keys(`${prefix}*`)))).flat();
      await Promise.all(keys.map((k) => redis.del(k)));
    });

    afterAll(async () => {
      await target?.close();
    });

    it('lists the bans and mutes of every room, the most recent first, with what the page shows', async () => {
      const first = given(undefined, 'spam');
      await mod.ban('lobby', 'u-ann', first);
      const timed = given(60_000);
      await mod.ban('games', 'u-bob', timed);
      await mod.mute('lobby', 'u-cat', given(60_000, 'flood'));
      await mod.ban('private-staff', 'u-dan', given());

      expect(await who('ban')).toEqual(['private-staff/u-dan', 'games/u-bob', 'lobby/u-ann']);
      expect(await who('mute')).toEqual(['lobby/u-cat']);
      expect((await mod.active('ban', 100, { includePrivate: true })).slice(1)).toEqual([
        { room: 'games', userId: 'u-bob', until: timed.until, at: timed.at },
        { room: 'lobby', userId: 'u-ann', until: null, at: first.at, reason: 'spam' },
      ]);
      // Without the private rooms: the public ones only, still up to the limit.
      expect(await who('ban', false)).toEqual(['games/u-bob', 'lobby/u-ann']);
      expect(await who('ban', false, 1)).toEqual(['games/u-bob']);
      expect(await who('ban', true, 2)).toEqual(['private-staff/u-dan', 'games/u-bob']);
    });

    it('keeps one entry per user and room: a new ban replaces the one before', async () => {
      await mod.ban('lobby', 'u-ann', given(undefined, 'first'));
      await mod.ban('lobby', 'u-ann', given(60_000, 'second'));
      const listed = await mod.active('ban', 100, { includePrivate: true });
      expect(listed).toEqual([expect.objectContaining({ userId: 'u-ann', reason: 'second' })]);
      expect(await indexSizes('ban')).toEqual([1, 1, 0, 0]);
    });

    it('drops a lifted ban or mute from the lists and from the index', async () => {
      await mod.ban('lobby', 'u-ann', given());
      await mod.mute('lobby', 'u-ann', given());
      await mod.ban('private-x', 'u-bob', given());
      expect(await mod.unban('lobby', 'u-ann')).toBe(true);
      expect(await mod.unmute('lobby', 'u-ann')).toBe(true);
      expect(await mod.unban('private-x', 'u-bob')).toBe(true);
      expect(await mod.unban('lobby', 'u-ann')).toBe(false);
      expect(await who('ban')).toEqual([]);
      expect(await who('mute')).toEqual([]);
      expect([...(await indexSizes('ban')), ...(await indexSizes('mute'))]).toEqual(
        Array(8).fill(0),
      );
    });

    it('lets an ended sanction disappear: from the lists, the room’s pages and the index', async () => {
      await mod.ban('lobby', 'u-ann', given(400));
      await mod.mute('games', 'u-bob', given(400));
      await mod.ban('lobby', 'u-cat', given());
      expect(await who('ban')).toEqual(['lobby/u-cat', 'lobby/u-ann']);
      expect(await who('mute')).toEqual(['games/u-bob']);
      expect((await mod.mutes('games', 10)).mutes.map((m) => m.userId)).toEqual(['u-bob']);

      // Both ended (the mute was given a moment after the ban: it ends a moment later too).
      await waitFor(
        async () =>
          // One key a call: the two rooms' keys are in different slots on a cluster.
          (await redis.exists(mod.keys.roomBan('lobby', 'u-ann'))) +
            (await redis.exists(mod.keys.roomMute('games', 'u-bob'))) ===
          0,
        3000,
      );
      await waitFor(async () => Date.now() > clock + 400, 1000);
      expect(await who('ban')).toEqual(['lobby/u-cat']);
      expect(await who('mute')).toEqual([]);
      // The listing pruned the ended entries from the index, not only hid them.
      expect(await indexSizes('ban')).toEqual([1, 1, 0, 0]);
      expect(await indexSizes('mute')).toEqual([0, 0, 0, 0]);
      expect(await mod.bans('lobby', 10)).toEqual({
        bans: [expect.objectContaining({ userId: 'u-cat', until: null })],
      });
      expect(await mod.mutes('games', 10)).toEqual({ mutes: [] });
      expect(await redis.zcard(mod.keys.roomBanIds('lobby'))).toBe(1);
      expect(await redis.zcard(mod.keys.roomMuteIds('games'))).toBe(0);
    });

    it('tolerates an entry its room no longer holds (an unban whose index write failed): not listed, then removed', async () => {
      await mod.ban('lobby', 'u-ann', given());
      await mod.ban('games', 'u-bob', given());
      // What an unban leaves when its second command (the index's) never ran.
      await redis
        .multi()
        .del(mod.keys.roomBan('lobby', 'u-ann'))
        .zrem(mod.keys.roomBans('lobby'), 'u-ann')
        .zrem(mod.keys.roomBanIds('lobby'), 'u-ann')
        .exec();
      expect(await indexSizes('ban')).toEqual([2, 2, 0, 0]);
      expect(await who('ban')).toEqual(['games/u-bob']);
      expect(await indexSizes('ban')).toEqual([1, 1, 0, 0]);
    });

    it('pages a room’s bans in user id order after a cursor, without ended ones', async () => {
      const users = ['u-e', 'u-a', 'u-d', 'u-b', 'u-c'];
      for (const u of users) await mod.ban('lobby', u, given());
      await mod.ban('lobby', 'u-bb', given(300));
      await mod.ban('other', 'u-zz', given());
      await waitFor(
        async () => (await redis.exists(mod.keys.roomBan('lobby', 'u-bb'))) === 0,
        3000,
      );
      const seen: string[] = [];
      const pages: (string | undefined)[] = [];
      let cursor: string | undefined;
      for (let i = 0; i < 10; i++) {
        const page = await mod.bans('lobby', 2, cursor);
        expect(page.bans.length).toBeLessThanOrEqual(2);
        seen.push(...page.bans.map((b) => b.userId));
        pages.push(page.next);
        cursor = page.next;
        if (cursor === undefined) break;
      }
      expect(seen).toEqual(['u-a', 'u-b', 'u-c', 'u-d', 'u-e']);
      expect(pages).toEqual(['u-b', 'u-d', undefined]);
      expect(await mod.bans('lobby', 5)).toEqual({
        bans: users.sort().map((userId) => expect.objectContaining({ userId })),
      });
      expect(await mod.bans('lobby', 2, 'u-e')).toEqual({ bans: [] });
    });

    it('pages the bans of a room banned before the sorted set by user id existed', async () => {
      // The earlier layout: the ban's key and the set by end only.
      for (const u of ['u-b', 'u-a', 'u-c']) {
        await redis
          .multi()
          .set(mod.keys.roomBan('old', u), JSON.stringify(given()))
          .zadd(mod.keys.roomBans('old'), '+inf', u)
          .exec();
      }
      expect((await mod.bans('old', 2)).bans.map((b) => b.userId)).toEqual(['u-a', 'u-b']);
      expect((await mod.bans('old', 2, 'u-b')).bans.map((b) => b.userId)).toEqual(['u-c']);
      expect(await redis.zcard(mod.keys.roomBanIds('old'))).toBe(3);
    });

    it('keeps the standing the gateways read', async () => {
      const ban = given(60_000, 'spam');
      const mute = given();
      await mod.ban('lobby', 'u-ann', ban);
      await mod.mute('lobby', 'u-ann', mute);
      expect(await mod.standing('lobby', 'u-ann')).toEqual({ ban, mute });
      await mod.unmute('lobby', 'u-ann');
      expect(await mod.standing('lobby', 'u-ann')).toEqual({ ban });
    });

    it('moves a revocation time on only, whatever order revokes at once run in', async () => {
      const base = 1_765_000_000_000;
      const times = [5, 1, 9, 3, 7, 2, 8].map((d) => base + d * 1000);
      // Sent together: each a script of its own, applied in any order.
      const answers = await Promise.all(times.map((t) => mod.revoke('u-rev', t)));
      expect(await mod.revokedBefore('u-rev')).toBe(base + 9000);
      // Each answer is the time in force when it ran: never below what it asked.
      answers.forEach((a, i) => expect(a).toBeGreaterThanOrEqual(times[i]));
      expect(await mod.revoke('u-rev', base)).toBe(base + 9000);
      expect(await mod.revoke('u-rev', base + 10_000)).toBe(base + 10_000);
    });
  });
}
