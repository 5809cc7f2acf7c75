import { RedisKeys } from './keys';
import type { RedisClient } from './redis';
import { CURSOR_TTL_MS } from './room-history';
import { ScriptRunner } from './script-runner';
import * as scripts from './scripts';

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
  /** The newest retained message's ts (0 without one). */
  lastTs: number;
  /** The cursor moved in this call. */
  moved: boolean;
}

/**
 * Read cursors: per user and room, the highest seq read, kept in the room's slot beside its
 * history (a HASH userId -> seq), so moving it and counting what follows is one script on the
 * room's node (read-cursor.lua: an HGET, an HSET and a ZCOUNT, O(log n) in the history's size).
 * A send moves the sender's cursor inside the append script. Each user also has an index of the
 * rooms it has a cursor in (a ZSET in the user's group, the most recent 200), for `rooms:unread`.
 */
export class ReadCursors {
  readonly keys: RedisKeys;
  private readonly scripts: ScriptRunner;

  constructor(
    private readonly redis: RedisClient,
    prefix: string,
    private readonly ttlMs = CURSOR_TTL_MS,
  ) {
    this.keys = new RedisKeys(prefix);
    this.scripts = new ScriptRunner(redis);
  }

  /** On a join: a user without a cursor in the room starts at its last seq (nothing unread). */
  async join(room: string, userId: string, now = Date.now()): Promise<CursorState> {
    const [state] = await Promise.all([
      this.call(room, userId, 'join'),
      this.index(userId, room, now),
    ]);
    return state;
  }

  /** Moves the cursor to `seq`: never back, never past the room's last seq. */
  async read(room: string, userId: string, seq: number, now = Date.now()): Promise<CursorState> {
    const [state] = await Promise.all([
      this.call(room, userId, 'read', seq),
      this.index(userId, room, now),
    ]);
    return state;
  }

  /** The cursor as it stands. */
  peek(room: string, userId: string): Promise<CursorState> {
    return this.call(room, userId, 'peek');
  }

  /**
   * The rooms the user has a cursor in, most recent activity (the newest message) first, at most
   * 200: one script per room, sent together (a pipeline on one Redis; per node on a cluster).
   */
  async rooms(userId: string): Promise<CursorState[]> {
    const indexed = await this.redis.zrevrange(
      this.keys.userCursors(userId),
      0,
      MAX_CURSOR_ROOMS - 1,
      'WITHSCORES',
    );
    const rooms: { room: string; at: number }[] = [];
    for (let i = 0; i < indexed.length; i += 2)
      rooms.push({ room: indexed[i], at: Number(indexed[i + 1]) });
    const states = await Promise.all(
      rooms.map(({ room }) => this.call(room, userId, 'peek', 0, true)),
    );
    const at = new Map(rooms.map((r) => [r.room, r.at]));
    return states.sort(
      (a, b) => Math.max(b.lastTs, at.get(b.room)!) - Math.max(a.lastTs, at.get(a.room)!),
    );
  }

  private async call(
    room: string,
    userId: string,
    mode: 'join' | 'read' | 'peek',
    seq = 0,
    batched = false,
  ): Promise<CursorState> {
    const keys = [this.keys.roomReads(room), this.keys.roomHistory(room), this.keys.roomSeq(room)];
    const args = [userId, mode, seq, this.ttlMs];
    const r = (await (batched
      ? this.scripts.runBatched(scripts.READ_CURSOR, keys, args)
      : this.scripts.run(scripts.READ_CURSOR, keys, args))) as [
      string,
      number,
      number,
      string,
      string,
    ];
    return {
      room,
      readSeq: Number(r[0]),
      unread: Number(r[1]),
      moved: Number(r[2]) === 1,
      lastSeq: Number(r[3]),
      lastTs: Number(r[4]),
    };
  }

  /** Puts the room first in the user's index, keeping the most recent 200. */
  private async index(userId: string, room: string, now: number): Promise<void> {
    const key = this.keys.userCursors(userId);
    await this.redis
      .multi()
      .zadd(key, now, room)
      .zremrangebyrank(key, 0, -(MAX_CURSOR_ROOMS + 1))
      .pexpire(key, this.ttlMs)
      .exec();
  }
}
