import { join } from 'node:path';
import { isPrivateRoom } from '@roomcast/contracts';
import type { RedisClient } from '../redis/connection';
import { groupOf, RedisKeys } from '../redis/keys';
import { ScriptRunner } from '../redis/script-runner';
import { loadLua } from '../redis/scripts';

/** A ban or a mute as stored: when it ends (null: when lifted), why, and since when. */
export interface Sanction {
  until: number | null;
  reason?: string;
  at: number;
}

/** One room's ban, as the server API lists it. */
export interface BanEntry extends Sanction {
  userId: string;
}

/** One room's mute, listed as a ban is. */
export type MuteEntry = BanEntry;

/** What holds a user back in a room now: a ban, a mute, or neither. */
export interface Standing {
  ban?: Sanction;
  mute?: Sanction;
}

/** A page of a room's bans. */
export interface BanPage {
  bans: BanEntry[];
  next?: string;
}

/** A page of a room's mutes. */
export interface MutePage {
  mutes: MuteEntry[];
  next?: string;
}

export type SanctionKind = 'ban' | 'mute';

/** A ban or a mute in force somewhere in the cluster (the operations page's lists). */
export interface ActiveSanction extends Sanction {
  room: string;
  userId: string;
}

/** A room's page of ban or mute user ids: the ended ones pruned first (its own file's header). */
const SANCTION_PAGE = loadLua('sanction-page', join(__dirname, 'lua'));

/** A user's revocation time moved on, never back, in one step (its own file's header). */
const REVOKE = loadLua('revoke', join(__dirname, 'lua'));

/** How many ended sanctions one read of the cross-room index removes (the rest go next time). */
const PRUNE_BATCH = 1000;

type Scope = 'public' | 'private';
const scopeOf = (room: string): Scope => (isPrivateRoom(room) ? 'private' : 'public');

/**
 * Bans and mutes, per room and user, in Redis (the room's hash slot): each a key that expires
 * with it (so a ban of 2 s ends by itself, on every gateway and after any restart), and the
 * room's bans and mutes also in two sorted sets each (by their end, to drop the ended ones; by
 * user id, to page through them). Gateways read a user's standing at each join; the server API
 * writes it, then tells the gateways that hold the user.
 *
 * Every sanction in force is also in a cross-room index (keys.ts, `{sanctions}`), so that the
 * operations page lists the most recent ones without visiting rooms. That slot is not the room's
 * (a Redis Cluster refuses one MULTI over both), so the index is written by a command of its own
 * after the room's keys, and may hold an entry the room no longer does (an unban whose second
 * command failed, a ban that ended): the room's key is the truth, and a listing checks each
 * entry against it and removes those that do not match. An entry is the sanction's exact JSON,
 * so a newer ban of the same user is a different entry, never confused with the one it replaced.
 */
export class Moderation {
  readonly keys: RedisKeys;
  private readonly scripts: ScriptRunner;

  constructor(
    private readonly redis: RedisClient,
    prefix: string,
  ) {
    this.keys = new RedisKeys(prefix);
    this.scripts = new ScriptRunner(redis);
  }

  async ban(room: string, userId: string, sanction: Sanction): Promise<void> {
    await this.impose('ban', room, userId, sanction);
  }

  /** True if there was a ban to lift. */
  async unban(room: string, userId: string): Promise<boolean> {
    return this.lift('ban', room, userId);
  }

  async mute(room: string, userId: string, sanction: Sanction): Promise<void> {
    await this.impose('mute', room, userId, sanction);
  }

  /** True if there was a mute to lift. */
  async unmute(room: string, userId: string): Promise<boolean> {
    return this.lift('mute', room, userId);
  }

  /** Refuses the user's tokens issued before `issuedBefore` (ms); a later revoke only moves it on. */
  async revoke(userId: string, issuedBefore: number): Promise<number> {
    // One script: a read then a write could let an earlier time overwrite a later one.
    const at = await this.scripts.run(REVOKE, [this.keys.userRevoked(userId)], [issuedBefore]);
    return Number(at);
  }

  /** The time before which the user's tokens are refused, if any. */
  async revokedBefore(userId: string): Promise<number | undefined> {
    const at = await this.redis.get(this.keys.userRevoked(userId));
    return at === null ? undefined : Number(at);
  }

  /** The user's ban and mute in the room now (one round trip: both keys in the room's slot). */
  async standing(room: string, userId: string): Promise<Standing> {
    const [ban, mute] = await this.redis.mget(
      this.keys.roomBan(room, userId),
      this.keys.roomMute(room, userId),
    );
    return {
      ...(ban ? { ban: JSON.parse(ban) as Sanction } : {}),
      ...(mute ? { mute: JSON.parse(mute) as Sanction } : {}),
    };
  }

  /**
   * The room's bans in force, `limit` a page, in user id order after `cursor` (the last user id
   * of the page before). Bans that ended leave the listing as they are met. O(log n + limit).
   */
  async bans(room: string, limit: number, cursor?: string): Promise<BanPage> {
    const { entries, next } = await this.page('ban', room, limit, cursor);
    return next === undefined ? { bans: entries } : { bans: entries, next };
  }

  /** The room's mutes in force, paged as `bans`. */
  async mutes(room: string, limit: number, cursor?: string): Promise<MutePage> {
    const { entries, next } = await this.page('mute', room, limit, cursor);
    return next === undefined ? { mutes: entries } : { mutes: entries, next };
  }

  /**
   * The bans or mutes in force across rooms, the most recently given first, at most `limit`;
   * those of `private-` rooms only with `includePrivate`. Reads at most `limit` entries of each
   * scope's index and their rooms' keys (one MGET per group of rooms), whatever the number of
   * rooms or sanctions; entries that ended or that their room no longer holds are removed.
   */
  async active(
    kind: SanctionKind,
    limit: number,
    options: { includePrivate: boolean },
  ): Promise<ActiveSanction[]> {
    if (limit < 1) return [];
    const scopes: Scope[] = options.includePrivate ? ['public', 'private'] : ['public'];
    const now = Date.now();
    const listed = (await Promise.all(scopes.map((s) => this.recent(kind, s, limit, now)))).flat();
    const held = await this.roomValues(kind, listed);
    const stale = listed.filter((e, i) => held[i] !== e.json);
    if (stale.length > 0)
      await this.unindex(
        kind,
        stale.map((e) => e.member),
      );
    return listed
      .filter((e, i) => held[i] === e.json)
      .map((e) => e.entry)
      .filter((s) => s.until === null || s.until > now)
      .sort((a, b) => b.at - a.at)
      .slice(0, limit);
  }

  private roomKey(kind: SanctionKind, room: string, userId: string): string {
    return kind === 'ban' ? this.keys.roomBan(room, userId) : this.keys.roomMute(room, userId);
  }

  /** The room's sets of `kind`: by end, and by user id. */
  private roomSets(kind: SanctionKind, room: string): [string, string] {
    return kind === 'ban'
      ? [this.keys.roomBans(room), this.keys.roomBanIds(room)]
      : [this.keys.roomMutes(room), this.keys.roomMuteIds(room)];
  }

  /**
   * The room's key and sets in one MULTI (the room's slot; the previous value read in it), then
   * the cross-room index: the new entry in, the one it replaces out.
   */
  private async impose(
    kind: SanctionKind,
    room: string,
    userId: string,
    sanction: Sanction,
  ): Promise<void> {
    const json = JSON.stringify(sanction);
    const key = this.roomKey(kind, room, userId);
    const [ends, ids] = this.roomSets(kind, room);
    const tx = this.redis.multi().get(key);
    if (sanction.until === null) tx.set(key, json);
    else tx.set(key, json, 'PX', Math.max(1, sanction.until - Date.now()));
    tx.zadd(ends, sanction.until ?? '+inf', userId).zadd(ids, 0, userId);
    const [before] = replies(await tx.exec());
    const scope = scopeOf(room);
    const member = entryMember(room, userId, json);
    const index = this.redis.multi();
    if (typeof before === 'string' && before !== json) {
      const old = entryMember(room, userId, before);
      index.zrem(this.keys.sanctionEnds(kind, scope), old);
      index.zrem(this.keys.sanctionTimes(kind, scope), old);
    }
    index.zadd(this.keys.sanctionEnds(kind, scope), sanction.until ?? '+inf', member);
    index.zadd(this.keys.sanctionTimes(kind, scope), sanction.at, member);
    replies(await index.exec());
  }

  /** The room's key and sets in one MULTI, then the entry out of the cross-room index. */
  private async lift(kind: SanctionKind, room: string, userId: string): Promise<boolean> {
    const key = this.roomKey(kind, room, userId);
    const [ends, ids] = this.roomSets(kind, room);
    const [before, removed] = replies(
      await this.redis.multi().get(key).del(key).zrem(ends, userId).zrem(ids, userId).exec(),
    );
    if (typeof before === 'string') {
      await this.unindex(kind, [entryMember(room, userId, before)]);
    }
    return Number(removed) > 0;
  }

  private async page(
    kind: SanctionKind,
    room: string,
    limit: number,
    cursor?: string,
  ): Promise<{ entries: BanEntry[]; next?: string }> {
    const found = (await this.scripts.run(SANCTION_PAGE, this.roomSets(kind, room), [
      Date.now(),
      cursor ?? '',
      limit,
    ])) as string[];
    const page = found.slice(0, limit);
    const values = page.length
      ? await this.redis.mget(...page.map((id) => this.roomKey(kind, room, id)))
      : [];
    // A key gone before its set entry (it expires on its own, at its end) is left out.
    const entries = page.flatMap((userId, i) => {
      const json = values[i];
      return json ? [{ userId, ...(JSON.parse(json) as Sanction) }] : [];
    });
    const last = page.at(-1);
    return found.length > limit && last !== undefined ? { entries, next: last } : { entries };
  }

  /**
   * The `limit` most recent entries of one scope's index, after the ended ones left it (in the
   * index's slot: one MULTI reads both, another removes the ended ones; an entry names one
   * sanction, so removing it cannot touch a newer one).
   */
  private async recent(kind: SanctionKind, scope: Scope, limit: number, now: number) {
    const ends = this.keys.sanctionEnds(kind, scope);
    const times = this.keys.sanctionTimes(kind, scope);
    const [ended, members] = replies(
      await this.redis
        .multi()
        .zrangebyscore(ends, '-inf', `(${now}`, 'LIMIT', 0, PRUNE_BATCH)
        .zrevrange(times, 0, limit - 1)
        .exec(),
    ) as [string[], string[]];
    if (ended.length > 0) await this.unindex(kind, ended);
    const gone = new Set(ended);
    return members.flatMap((member) => {
      const entry = gone.has(member) ? undefined : parseMember(member);
      return entry ? [{ ...entry, member }] : [];
    });
  }

  /** What the rooms' keys hold for these entries (one MGET per group: its rooms share a slot). */
  private async roomValues(
    kind: SanctionKind,
    entries: { entry: ActiveSanction }[],
  ): Promise<(string | null)[]> {
    const byGroup = new Map<number, number[]>();
    entries.forEach(({ entry }, i) => {
      const g = groupOf(entry.room);
      byGroup.set(g, [...(byGroup.get(g) ?? []), i]);
    });
    const values: (string | null)[] = entries.map(() => null);
    await Promise.all(
      [...byGroup.values()].map(async (indexes) => {
        const found = await this.redis.mget(
          ...indexes.map((i) => this.roomKey(kind, entries[i].entry.room, entries[i].entry.userId)),
        );
        indexes.forEach((i, j) => (values[i] = found[j]));
      }),
    );
    return values;
  }

  /** Removes entries from the index (each from both of its scope's sets, in one MULTI per scope). */
  private async unindex(kind: SanctionKind, members: string[]): Promise<void> {
    const byScope = new Map<Scope, string[]>();
    for (const m of members) {
      const scope = scopeOf(parseMember(m)?.entry.room ?? '');
      byScope.set(scope, [...(byScope.get(scope) ?? []), m]);
    }
    for (const [scope, list] of byScope) {
      replies(
        await this.redis
          .multi()
          .zrem(this.keys.sanctionEnds(kind, scope), ...list)
          .zrem(this.keys.sanctionTimes(kind, scope), ...list)
          .exec(),
      );
    }
  }
}

/** An index entry: the room, the user and the sanction's JSON exactly as the room's key holds it. */
function entryMember(room: string, userId: string, json: string): string {
  return JSON.stringify([room, userId, json]);
}

function parseMember(member: string): { entry: ActiveSanction; json: string } | undefined {
  try {
    const [room, userId, json] = JSON.parse(member) as [string, string, string];
    if (typeof room !== 'string' || typeof userId !== 'string' || typeof json !== 'string') {
      return undefined;
    }
    return { entry: { room, userId, ...(JSON.parse(json) as Sanction) }, json };
  } catch {
    return undefined;
  }
}

type ExecReply = [Error | null, unknown][] | null;

/** A MULTI's replies, or its first error thrown (a discarded transaction is one too). */
function replies(result: ExecReply): unknown[] {
  if (result === null) throw new Error('the Redis transaction was discarded');
  for (const [err] of result) if (err) throw err;
  return result.map(([, value]) => value);
}
