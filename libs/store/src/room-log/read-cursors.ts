import { Cluster } from 'ioredis';
import { groupOf, RedisKeys } from '../redis/keys';
import type { RedisClient } from '../redis/connection';
import { CURSOR_TTL_MS, DEFAULT_RETENTION } from './room-history';
import { ScriptRunner } from '../redis/script-runner';
import * as scripts from '../redis/scripts';

/** The rooms a user's `rooms:unread` covers, most recently joined or read first (PROTOCOL.md). */
export const MAX_CURSOR_ROOMS = 200;

export interface CursorState {
  room: string;
  /** The highest seq the user has read in the room. */
  readSeq: number;
  /** Messages after the cursor, at most 1000. */
  unread: number;
  /** The room's last seq (messages and updates). */
  lastSeq: number;
  /** When the room's log last changed, a message or an update (ms; 0 without a log). */
  lastAt: number;
  /** The cursor moved in this call. */
  moved: boolean;
  /** The user has a cursor in the room (after this call). */
  stored: boolean;
}

type Mode = 'join' | 'read' | 'peek';

/**
 * Read cursors: per user and room, the highest seq read, kept in the room's slot beside its
 * history (a HASH userId -> seq), so moving it and counting what follows is one script on the
 * room's node (read-cursor.lua: an HGET, an HSET and a ZCOUNT, O(log n) in the history's size).
 * A send moves the sender's cursor inside the append script. Each user also has an index of the
 * rooms it joined or has a cursor in (a ZSET in the user's group, the most recent 200), for
 * `rooms:unread`.
 *
 * What one user can store is bounded: a cursor is made only in a room that has a counter (a
 * retained message), by a join or a read, so no name a client makes up costs a key; and a room
 * that falls out of the user's index (its 201st most recent) loses the user's cursor too. The
 * cursor is written before the room enters the index and removed after it left it, so whatever
 * the interleaving of one user's calls, a cursor a join or read made is in the index once they
 * are done (a call cut short leaves at most its own cursor, until its ttl).
 */
export class ReadCursors {
  readonly keys: RedisKeys;
  private readonly scripts: ScriptRunner;

  constructor(
    private readonly redis: RedisClient,
    prefix: string,
    private readonly ttlMs = CURSOR_TTL_MS,
    /** The log's ttl (HISTORY_MAX_AGE_MS): when a room last changed is read from its expiry. */
    private readonly logTtlMs = DEFAULT_RETENTION.maxAgeMs,
  ) {
    this.keys = new RedisKeys(prefix);
    this.scripts = new ScriptRunner(redis);
  }

  /**
   * On a join: a user without a cursor in a room it never joined or read (not in its index)
   * starts at the room's last seq (nothing unread), if the room has one. A room without messages
   * gets no cursor, only its place in the index: a later join finds it there and, cursor or not,
   * counts every message after the first join as unread (no cursor reads as 0).
   */
  async join(room: string, userId: string, now = Date.now()): Promise<CursorState> {
    const known = (await this.redis.zscore(this.keys.userCursors(userId), room)) !== null;
    const [state] = await this.call([room], userId, known ? 'peek' : 'join');
    await this.index(userId, room, now);
    return state;
  }

  /**
   * Moves the cursor to `seq`: never back, never past the room's last seq. In a room without a
   * counter where the user has no cursor, stores nothing and answers readSeq 0, unread 0.
   */
  async read(room: string, userId: string, seq: number, now = Date.now()): Promise<CursorState> {
    const [state] = await this.call([room], userId, 'read', seq);
    if (state.stored) await this.index(userId, room, now);
    return state;
  }

  /** The cursor as it stands. */
  async peek(room: string, userId: string): Promise<CursorState> {
    return (await this.call([room], userId, 'peek'))[0];
  }

  /**
   * The rooms of the user's index (those `include` accepts), most recent activity first (a
   * message or update in the room, or the user's own join or read of it), at most 200: one
   * script per Redis node (per group on a cluster, whose rooms share a slot), so a call costs one
   * ZREVRANGE and at most 64 scripts, about 10 µs of Redis per room whatever its messages' size.
   */
  async rooms(
    userId: string,
    include: (room: string) => boolean = () => true,
  ): Promise<CursorState[]> {
    const indexed = await this.redis.zrevrange(
      this.keys.userCursors(userId),
      0,
      MAX_CURSOR_ROOMS - 1,
      'WITHSCORES',
    );
    const at = new Map<string, number>();
    for (let i = 0; i < indexed.length; i += 2)
      if (include(indexed[i])) at.set(indexed[i], Number(indexed[i + 1]));
    const batches = new Map<number, string[]>();
    for (const room of at.keys()) {
      const batch = this.redis instanceof Cluster ? groupOf(room) : 0;
      const rooms = batches.get(batch);
      if (rooms) rooms.push(room);
      else batches.set(batch, [room]);
    }
    const states = (
      await Promise.all([...batches.values()].map((rooms) => this.call(rooms, userId, 'peek')))
    ).flat();
    return states.sort(
      (a, b) => Math.max(b.lastAt, at.get(b.room)!) - Math.max(a.lastAt, at.get(a.room)!),
    );
  }

  /** One script over rooms of one slot (any rooms on one Redis). */
  private async call(rooms: string[], userId: string, mode: Mode, seq = 0): Promise<CursorState[]> {
    const keys = rooms.flatMap((room) => [
      this.keys.roomReads(room),
      this.keys.roomHistory(room),
      this.keys.roomSeq(room),
    ]);
    const r = (await this.scripts.runBatched(scripts.READ_CURSOR, keys, [
      userId,
      mode,
      seq,
      this.ttlMs,
      this.logTtlMs,
    ])) as [string, number, number, string, string, number][];
    return r.map((x, i) => ({
      room: rooms[i],
      readSeq: Number(x[0]),
      unread: Number(x[1]),
      moved: Number(x[2]) === 1,
      lastSeq: Number(x[3]),
      lastAt: Number(x[4]),
      stored: Number(x[5]) === 1,
    }));
  }

  /**
   * Puts the room first in the user's index, keeping the most recent 200, and removes the
   * user's cursor from the rooms that fell out (each in its own slot, so after the script).
   */
  private async index(userId: string, room: string, now: number): Promise<void> {
    const dropped = (await this.scripts.run(
      scripts.CURSOR_INDEX,
      [this.keys.userCursors(userId)],
      [room, now, MAX_CURSOR_ROOMS, this.ttlMs],
    )) as string[];
    await Promise.all(dropped.map((r) => this.redis.hdel(this.keys.roomReads(r), userId)));
  }
}
