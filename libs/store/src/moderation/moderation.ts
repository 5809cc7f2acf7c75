import type { RedisClient } from '../redis/connection';
import { RedisKeys } from '../redis/keys';

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

/**
 * Bans and mutes, per room and user, in Redis (the room's hash slot): each a key that expires
 * with it (so a ban of 2 s ends by itself, on every gateway and after any restart), and the
 * room's bans also in a sorted set by their end, for listing. Gateways read a user's standing
 * at each join; the server API writes it, then tells the gateways that hold the user.
 */
export class Moderation {
  private readonly keys: RedisKeys;

  constructor(
    private readonly redis: RedisClient,
    prefix: string,
  ) {
    this.keys = new RedisKeys(prefix);
  }

  async ban(room: string, userId: string, sanction: Sanction): Promise<void> {
    const json = JSON.stringify(sanction);
    const key = this.keys.roomBan(room, userId);
    const tx = this.redis.multi();
    if (sanction.until === null) tx.set(key, json);
    else tx.set(key, json, 'PX', Math.max(1, sanction.until - Date.now()));
    tx.zadd(this.keys.roomBans(room), sanction.until ?? '+inf', userId);
    await tx.exec();
  }

  /** True if there was a ban to lift. */
  async unban(room: string, userId: string): Promise<boolean> {
    const [[, removed]] = (await this.redis
      .multi()
      .del(this.keys.roomBan(room, userId))
      .zrem(this.keys.roomBans(room), userId)
      .exec()) as [[Error | null, number], [Error | null, number]];
    return removed > 0;
  }

  async mute(room: string, userId: string, sanction: Sanction): Promise<void> {
    const key = this.keys.roomMute(room, userId);
    const json = JSON.stringify(sanction);
    if (sanction.until === null) await this.redis.set(key, json);
    else await this.redis.set(key, json, 'PX', Math.max(1, sanction.until - Date.now()));
  }

  /** True if there was a mute to lift. */
  async unmute(room: string, userId: string): Promise<boolean> {
    return (await this.redis.del(this.keys.roomMute(room, userId))) > 0;
  }

  /** Refuses the user's tokens issued before `issuedBefore` (ms); a later revoke only moves it on. */
  async revoke(userId: string, issuedBefore: number): Promise<number> {
    const key = this.keys.userRevoked(userId);
    const now = Number((await this.redis.get(key)) ?? 0);
    const at = Math.max(now, issuedBefore);
    await this.redis.set(key, String(at));
    return at;
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
   * of the page before). Bans that ended leave the listing as they are met.
   */
  async bans(room: string, limit: number, cursor?: string): Promise<BanPage> {
    const index = this.keys.roomBans(room);
    await this.redis.zremrangebyscore(index, '-inf', `(${Date.now()}`);
    const ids = (await this.redis.zrange(index, '0', '-1')).sort();
    const from = cursor === undefined ? 0 : ids.findIndex((id) => id > cursor);
    const page = from < 0 ? [] : ids.slice(from, from + limit);
    const found = page.length
      ? await this.redis.mget(...page.map((id) => this.keys.roomBan(room, id)))
      : [];
    const bans = page.flatMap((userId, i) => {
      const json = found[i];
      return json ? [{ userId, ...(JSON.parse(json) as Sanction) }] : [];
    });
    const last = page.at(-1);
    return from >= 0 && from + limit < ids.length && last !== undefined
      ? { bans, next: last }
      : { bans };
  }
}
