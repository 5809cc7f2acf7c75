import type { InstanceMetrics, User } from '@roomcast/contracts';
import { GROUPS, groupOf, RedisKeys } from '../redis/keys';
import { execAll } from './presence.store';
import type { RedisClient } from '../redis/connection';
import { ScriptRunner } from '../redis/script-runner';
import * as scripts from '../redis/scripts';

export interface InstanceStats {
  id: string;
  connections: number;
  rooms: number;
  startedAt: number;
  lastSeenAt: number;
  /** The gateway's delivery counters from its last heartbeat (absent before the first). */
  metrics?: InstanceMetrics;
}

export interface ClusterStats {
  online: number;
  connections: number;
  rooms: number;
  instances: InstanceStats[];
}

export interface RoomStats {
  room: string;
  users: number;
  connections: number;
}

/** The gateway instances bound to a room's routing key. */
export interface RoomRoute {
  room: string;
  /** Instance ids, sorted. */
  instances: string[];
}

/** A page of the routing map. */
export interface RoutingPage {
  rooms: RoomRoute[];
  /** The cursor of the following page; absent on the last page. */
  next?: string;
}

/** Where a walk of the routing map stands: a ranking, its ZSCAN cursor, the last room taken. */
interface RoutingCursor {
  ranking: number;
  scan: string;
  after?: string;
}

/**
 * ZSCAN calls one routing page makes at most (a page usually needs one or two; a sparse table
 * can answer a call with nothing): past it the page is returned short, with `next`.
 */
const ROUTING_SCAN_ROUNDS = 16;

/** What a routing cursor looks like: base64url of `<ranking>.<scan cursor>[.<room>]`. */
export const ROUTING_CURSOR_PATTERN = /^[A-Za-z0-9_-]{1,128}$/;
const ROUTING_CURSOR = /^([0-9]{1,3})\.([0-9]{1,20})(?:\.([A-Za-z0-9_-]{1,64}))?$/;

function encodeRoutingCursor({ ranking, scan, after }: RoutingCursor): string {
  const plain = after === undefined ? `${ranking}.${scan}` : `${ranking}.${scan}.${after}`;
  return Buffer.from(plain).toString('base64url');
}

/** The cursor a `next` encodes, or undefined when `cursor` is none of ours. */
export function decodeRoutingCursor(cursor: string): RoutingCursor | undefined {
  if (!ROUTING_CURSOR_PATTERN.test(cursor)) return undefined;
  const m = ROUTING_CURSOR.exec(Buffer.from(cursor, 'base64url').toString('latin1'));
  // A ZSCAN cursor is an unsigned 64-bit integer: anything larger is none Redis gave.
  if (!m || BigInt(m[2]) >= 2n ** 64n) return undefined;
  return { ranking: Number(m[1]), scan: m[2], ...(m[3] !== undefined ? { after: m[3] } : {}) };
}

export interface PageQuery {
  /** The `next` of the page before. */
  cursor?: string;
  limit?: number;
  /** A user to look for in the whole room (the answer is `hasUser`). */
  user?: string;
}

export interface MemberPage {
  members: User[];
  /** The room's number of users. */
  count: number;
  /** The cursor of the following page; absent on the last page. */
  next?: string;
  /** Whether `user` of the query is a member (false when none was asked for). */
  hasUser: boolean;
}

const sum = (values: (string | number)[]) => values.reduce<number>((s, n) => s + Number(n), 0);

/**
 * The read side of presence: the Stats API's figures, member pages and the routing map. A room's
 * figures are read from its own slot. Cluster-wide figures are sums over the GROUPS groups (online
 * users, rooms) or over the instances (connections): O(groups) small commands sent at once
 * (batched per node on a cluster), which no write has to wait for: no single key counts the
 * whole cluster.
 */
export class PresenceQueries {
  readonly keys: RedisKeys;
  private readonly scripts: ScriptRunner;

  constructor(
    private readonly redis: RedisClient,
    prefix: string,
  ) {
    this.keys = new RedisKeys(prefix);
    this.scripts = new ScriptRunner(redis);
  }

  /** Cluster-wide counts; private rooms count only with `includePrivate`. */
  async clusterStats(includePrivate = false): Promise<ClusterStats> {
    const k = this.keys;
    const groups = Array.from({ length: GROUPS }, (_, g) => g);
    const [online, rooms, [records, seen]] = await Promise.all([
      Promise.all(groups.map((g) => this.redis.hlen(k.groupUsers(g)))),
      Promise.all(this.rankings(includePrivate).map((key) => this.redis.zcard(key))),
      execAll(
        this.redis.multi().hgetall(k.instances()).zrange(k.instancesSeen(), '0', '-1'),
      ) as Promise<[Record<string, string>, string[]]>,
    ]);
    // Connections count on every instance presence knows of; the list shows those with a
    // heartbeat record (an instance's first connection can come before its first heartbeat).
    const ids = [...new Set([...Object.keys(records), ...seen])].sort();
    const counts = await Promise.all(
      ids.map(
        (id) =>
          execAll(
            this.redis.multi().hlen(k.instanceConns(id)).hlen(k.instanceRooms(id)),
          ) as Promise<[number, number]>,
      ),
    );
    const instances = ids.flatMap((id, i) => {
      if (records[id] === undefined) return [];
      const hb = JSON.parse(records[id]) as {
        startedAt: number;
        lastSeenAt: number;
        metrics?: InstanceMetrics;
      };
      const [connections, rooms] = counts[i];
      const { startedAt, lastSeenAt, metrics } = hb;
      return [{ id, connections, rooms, startedAt, lastSeenAt, ...(metrics && { metrics }) }];
    });
    return {
      online: sum(online),
      connections: sum(counts.map(([connections]) => connections)),
      rooms: sum(rooms),
      instances,
    };
  }

  /**
   * Rooms with the most users first; private rooms only with `includePrivate`. Each group's
   * ranking gives its top `limit`, and the merge keeps the best `limit` of those: O(groups ×
   * limit) entries read.
   */
  async topRooms(limit: number, includePrivate = false): Promise<RoomStats[]> {
    const rankings = this.rankings(includePrivate);
    const lists = await Promise.all(
      rankings.map((key) => this.redis.zrevrange(key, 0, limit - 1, 'WITHSCORES')),
    );
    const ranked: { room: string; users: number }[] = [];
    for (const flat of lists)
      for (let i = 0; i < flat.length; i += 2)
        ranked.push({ room: flat[i], users: Number(flat[i + 1]) });
    const top = ranked
      .sort((a, b) => b.users - a.users || a.room.localeCompare(b.room))
      .slice(0, limit);
    const conns = await Promise.all(top.map((r) => this.connections(r.room)));
    return top.map((r, i) => ({ ...r, connections: conns[i] }));
  }

  async roomStats(
    room: string,
    page: PageQuery = {},
  ): Promise<RoomStats & { members: User[]; next?: string }> {
    const [{ members, count, next }, connections] = await Promise.all([
      this.members(room, page),
      this.connections(room),
    ]);
    const stats = { room, users: count, connections, members };
    return next === undefined ? stats : { ...stats, next };
  }

  /**
   * One page of a room's members in user-id order (Redis's byte order), after `cursor` (the
   * `next` of the page before): one ZRANGEBYLEX on `room:<r>:members` from that id, so a page
   * costs O(log members + limit), in a room of 50,000 as in a room of 10. The page, the count and
   * `hasUser` are read in one script (MEMBER_PAGE), so they agree with each other. One more id than the page is
   * read to tell whether a page follows.
   */
  async members(room: string, { cursor, limit = 100, user }: PageQuery = {}): Promise<MemberPage> {
    const k = this.keys;
    const after = cursor === undefined ? undefined : Buffer.from(cursor, 'base64url').toString();
    // One script in the room's slot: the page, its names, the count and the user (MEMBER_PAGE).
    const [found, names, count, has] = (await this.scripts.run(
      scripts.MEMBER_PAGE,
      [k.roomMembers(room), k.roomUsers(room), k.roomNames(room)],
      [after === undefined ? '-' : `(${after}`, limit + 1, user ?? ''],
    )) as [string[], (string | null)[], number, number];
    const ids = found.slice(0, limit);
    const members = ids.map((id, i) => ({ id, name: names[i] ?? id }));
    const more = found.length > limit;
    return {
      members,
      count,
      hasUser: has === 1,
      ...(more ? { next: Buffer.from(ids[ids.length - 1]).toString('base64url') } : {}),
    };
  }

  /**
   * One page of the routing map: which gateway instances are bound to each room's routing key
   * right now, for rooms with a member (private rooms only with `includePrivate`), each with its
   * instances sorted, the page's rooms by name. `next` (absent on the last page) goes on.
   *
   * A gateway binds its queue to `room.<name>` exactly while it has a local member in the room,
   * and confirms a join to presence after binding and a leave after unbinding; the join and
   * leave scripts keep `room:<r>:insts` in the same step as the membership. So an instance is
   * listed for a room while it holds a member there, which is while it is bound: this map is
   * the bindings (as of the last join or leave each gateway confirmed).
   *
   * The walk goes through the groups' rankings in turn with ZSCAN, so a page costs one ZCARD per
   * ranking (sent at once), a ZSCAN or two of about `limit` entries and one HKEYS per listed
   * room, however many rooms there are: no read of the whole map. The cursor is the ranking, its
   * ZSCAN cursor and the last room taken from that ZSCAN batch (a batch can be larger than what
   * is left of the page; the rest of it is read again and taken after that room). ZSCAN's
   * guarantee carries over: a room with a member for the whole walk is listed, once unless Redis
   * resizes that group's table mid-walk; a room that comes or goes meanwhile may or may not be.
   * Rooms are not in name order across pages (a global order would need an index every join and
   * leave writes).
   */
  async routing(
    includePrivate = false,
    { cursor, limit = 100 }: { cursor?: string; limit?: number } = {},
  ): Promise<RoutingPage> {
    const k = this.keys;
    const rankings = this.rankings(includePrivate);
    let at: RoutingCursor | undefined =
      cursor === undefined ? { ranking: 0, scan: '0' } : decodeRoutingCursor(cursor);
    if (!at) throw new RangeError('not a routing cursor');
    const sizes = await Promise.all(rankings.map((key) => this.redis.zcard(key)));
    const rooms: string[] = [];
    let next: RoutingCursor | undefined;
    // Bounded: each round takes rooms, or moves on to a later ZSCAN cursor or ranking; a sparse
    // table can answer a ZSCAN with nothing, so the rounds are capped and `next` goes on.
    for (let round = 0; round < ROUTING_SCAN_ROUNDS && rooms.length < limit; round++) {
      while (at.ranking < rankings.length && at.scan === '0' && sizes[at.ranking] === 0)
        at = { ranking: at.ranking + 1, scan: '0' };
      if (at.ranking >= rankings.length) break;
      const [scanNext, flat]: [string, string[]] = await this.redis.zscan(
        rankings[at.ranking],
        at.scan,
        'COUNT',
        Math.max(limit, 10),
      );
      const { after } = at;
      const batch = flat
        .filter((member, i) => i % 2 === 0 && (after === undefined || member > after))
        .sort();
      const left = limit - rooms.length;
      rooms.push(...batch.slice(0, left));
      if (batch.length > left) {
        next = { ...at, after: rooms[rooms.length - 1] };
        break;
      }
      at = { ranking: scanNext === '0' ? at.ranking + 1 : at.ranking, scan: scanNext };
    }
    if (!next) {
      while (at.ranking < rankings.length && at.scan === '0' && sizes[at.ranking] === 0)
        at = { ranking: at.ranking + 1, scan: '0' };
      if (at.ranking < rankings.length) next = at;
    }
    const bound = await Promise.all(rooms.map((room) => this.redis.hkeys(k.roomInstances(room))));
    const page = rooms
      .map((room, i) => ({ room, instances: bound[i].sort() }))
      // A room emptied between the two reads has no member left: it is not listed.
      .filter((r) => r.instances.length > 0)
      .sort((a, b) => (a.room < b.room ? -1 : a.room > b.room ? 1 : 0));
    return next ? { rooms: page, next: encodeRoutingCursor(next) } : { rooms: page };
  }

  /** The gateway instances bound to each of `rooms` (sorted; none for a room without members). */
  async routesOf(rooms: string[]): Promise<RoomRoute[]> {
    const bound = await Promise.all(
      rooms.map((room) => this.redis.hkeys(this.keys.roomInstances(room))),
    );
    return rooms.map((room, i) => ({ room, instances: bound[i].sort() }));
  }

  /** The instances that hold a connection of `userId` now (the gateways a notice must reach). */
  async userInstances(userId: string): Promise<string[]> {
    const instances = await this.redis.zrange(this.keys.instancesSeen(), '0', '-1');
    if (instances.length === 0) return [];
    const n = groupOf(userId);
    const pipeline = this.redis.pipeline();
    for (const i of instances) pipeline.hget(this.keys.groupInstanceUsers(n, i), userId);
    const counts = await execAll(pipeline);
    return instances.filter((_, i) => Number(counts[i] ?? 0) > 0);
  }

  /** The user's live connections now, on every instance. */
  async userConnections(userId: string): Promise<number> {
    return Number((await this.redis.hget(this.keys.groupUsers(groupOf(userId)), userId)) ?? 0);
  }

  /** The user's connections in `room` now. */
  async userConnectionsIn(room: string, userId: string): Promise<number> {
    return Number((await this.redis.hget(this.keys.roomUsers(room), userId)) ?? 0);
  }

  async ping(): Promise<boolean> {
    return (await this.redis.ping()) === 'PONG';
  }

  /** Every group's ranking of public rooms, and with `includePrivate` of private ones. */
  private rankings(includePrivate: boolean): string[] {
    const k = this.keys;
    return Array.from({ length: GROUPS }, (_, g) =>
      includePrivate ? [k.groupRanking(g), k.groupPrivateRanking(g)] : [k.groupRanking(g)],
    ).flat();
  }

  /** A room's connections: the sum of its instances' counts. */
  private async connections(room: string): Promise<number> {
    return sum(await this.redis.hvals(this.keys.roomInstances(room)));
  }
}
