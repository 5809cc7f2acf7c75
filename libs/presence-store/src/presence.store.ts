import type { User } from '@roomcast/contracts';
import type { ChainableCommander } from 'ioredis';
import type Redis from 'ioredis';
import { RedisKeys } from './keys';
import { ScriptRunner, type Reply } from './script-runner';
import * as scripts from './scripts';

export interface RoomDeparture {
  room: string;
  user: User;
}

export interface InstanceStats {
  id: string;
  connections: number;
  rooms: number;
  startedAt: number;
  lastSeenAt: number;
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

/**
 * The one owner of roomcast's Redis layout: presence (who is online, where) and room history.
 * Every write is a single Lua script, so it is atomic across gateways and presence replicas.
 */
export class PresenceStore {
  readonly keys: RedisKeys;
  private readonly scripts: ScriptRunner;

  constructor(
    private readonly redis: Redis,
    prefix: string,
  ) {
    this.keys = new RedisKeys(prefix);
    this.scripts = new ScriptRunner(redis);
  }

  async connect(
    instanceId: string,
    socketId: string,
    user: User,
    now = Date.now(),
  ): Promise<boolean> {
    const r = await this.run(scripts.CONNECT, socketId, instanceId, user.id, user.name, now);
    return r === 1;
  }

  /** Returns the user when this connection made it a new member of the room. */
  async join(socketId: string, room: string): Promise<User | null> {
    return toUser(await this.run(scripts.JOIN, socketId, room));
  }

  /** Returns the user when this was its last connection in the room. */
  async leave(socketId: string, room: string): Promise<User | null> {
    return toUser(await this.run(scripts.LEAVE, socketId, room));
  }

  async disconnect(socketId: string): Promise<RoomDeparture[]> {
    return toDepartures(await this.run(scripts.DISCONNECT, socketId));
  }

  /** Records a heartbeat: the instance's record and its last-seen time, read by the sweeper. */
  async heartbeat(instanceId: string, startedAt: number, now = Date.now()): Promise<void> {
    await this.redis
      .multi()
      .hset(this.keys.instances(), instanceId, JSON.stringify({ startedAt, lastSeenAt: now }))
      .zadd(this.keys.instancesSeen(), now, instanceId)
      .exec();
  }

  /**
   * What presence holds for an instance, which the gateway compares with its own account: its
   * connections, and its memberships (the sum of its per-room connection counts).
   */
  async instanceCounts(instanceId: string): Promise<{ connections: number; memberships: number }> {
    const [connections, perRoom] = await Promise.all([
      this.redis.scard(this.keys.instanceConns(instanceId)),
      this.redis.hvals(this.keys.instanceRooms(instanceId)),
    ]);
    return { connections, memberships: perRoom.reduce((sum, n) => sum + Number(n), 0) };
  }

  /** Rebuilds an instance's room counts from its connections' rooms; returns its memberships. */
  async recountInstanceRooms(instanceId: string): Promise<number> {
    return Number(await this.run(scripts.RECOUNT_INSTANCE_ROOMS, instanceId));
  }

  /** The socket ids presence holds for an instance. */
  instanceConnections(instanceId: string): Promise<string[]> {
    return this.redis.smembers(this.keys.instanceConns(instanceId));
  }

  /** The rooms presence holds for a connection. */
  connectionRooms(socketId: string): Promise<string[]> {
    return this.redis.smembers(this.keys.connRooms(socketId));
  }

  /** Forgets an instance and every connection it had: a goodbye, or a crash found by the sweeper. */
  async removeInstance(instanceId: string): Promise<RoomDeparture[]> {
    return toDepartures(await this.run(scripts.REMOVE_INSTANCE, instanceId));
  }

  /** Instances whose last heartbeat is older than `before` (ms since the epoch). */
  async staleInstances(before: number): Promise<string[]> {
    return this.redis.zrangebyscore(this.keys.instancesSeen(), '-inf', `(${before}`);
  }

  /** Every instance presence knows of (heartbeat seen and not yet removed). */
  async knownInstances(): Promise<string[]> {
    return this.redis.zrange(this.keys.instancesSeen(), '0', '-1');
  }

  /** A short lock so that one presence replica sweeps at a time. */
  async tryLockSweep(owner: string, ttlMs: number): Promise<boolean> {
    return (await this.redis.set(this.keys.sweepLock(), owner, 'PX', ttlMs, 'NX')) === 'OK';
  }

  /**
   * A short lock so that one presence replica checks the gateways' queues at a time; separate
   * from the sweep lock, which is held longer and would starve the faster check.
   */
  async tryLockQueueWatch(owner: string, ttlMs: number): Promise<boolean> {
    return (await this.redis.set(this.keys.queueWatchLock(), owner, 'PX', ttlMs, 'NX')) === 'OK';
  }

  /** Cluster-wide counts; private rooms count only with `includePrivate`. */
  async clusterStats(includePrivate = false): Promise<ClusterStats> {
    const k = this.keys;
    const [online, connections, publicRooms, privateRooms, instances] = await Promise.all([
      this.redis.hlen(k.users()),
      this.redis.hlen(k.conns()),
      this.redis.zcard(k.rooms()),
      includePrivate ? this.redis.zcard(k.privateRooms()) : 0,
      this.redis.hgetall(k.instances()),
    ]);
    const rooms = publicRooms + privateRooms;
    const ids = Object.keys(instances).sort();
    // Connections and rooms from what the join/leave scripts keep, not from the heartbeat's
    // `rooms`, which lags by up to a heartbeat.
    const pipe = this.redis.pipeline();
    for (const id of ids) pipe.scard(k.instanceConns(id)).hlen(k.instanceRooms(id));
    const counts = ids.length ? await execAll(pipe) : [];
    return {
      online,
      connections,
      rooms,
      instances: ids.map((id, i) => {
        const hb = JSON.parse(instances[id]) as { startedAt: number; lastSeenAt: number };
        return {
          id,
          connections: Number(counts[2 * i]),
          rooms: Number(counts[2 * i + 1]),
          startedAt: hb.startedAt,
          lastSeenAt: hb.lastSeenAt,
        };
      }),
    };
  }

  /** Rooms with the most users first; private rooms only with `includePrivate`. */
  async topRooms(limit: number, includePrivate = false): Promise<RoomStats[]> {
    const sets = includePrivate
      ? [this.keys.rooms(), this.keys.privateRooms()]
      : [this.keys.rooms()];
    const ranked: { room: string; users: number }[] = [];
    for (const key of sets) {
      const flat = await this.redis.zrevrange(key, 0, limit - 1, 'WITHSCORES');
      for (let i = 0; i < flat.length; i += 2)
        ranked.push({ room: flat[i], users: Number(flat[i + 1]) });
    }
    const top = ranked
      .sort((a, b) => b.users - a.users || a.room.localeCompare(b.room))
      .slice(0, limit);
    if (top.length === 0) return [];
    const conns = await this.redis.hmget(this.keys.roomConns(), ...top.map((r) => r.room));
    return top.map((r, i) => ({ ...r, connections: Number(conns[i] ?? 0) }));
  }

  async roomStats(
    room: string,
    page: PageQuery = {},
  ): Promise<RoomStats & { members: User[]; next?: string }> {
    const [{ members, count, next }, conns] = await Promise.all([
      this.members(room, page),
      this.redis.hget(this.keys.roomConns(), room),
    ]);
    const stats = { room, users: count, connections: Number(conns ?? 0), members };
    return next === undefined ? stats : { ...stats, next };
  }

  /**
   * One page of a room's members in user-id order (Redis's byte order), after `cursor` (the
   * `next` of the page before): one ZRANGEBYLEX on `room:<r>:members` from that id, so a page
   * costs O(log members + limit), in a room of 50,000 as in a room of 10. The page, the count and
   * `hasUser` are read in one MULTI, so they agree with each other. One more id than the page is
   * read to tell whether a page follows.
   */
  async members(room: string, { cursor, limit = 100, user }: PageQuery = {}): Promise<MemberPage> {
    const after = cursor === undefined ? undefined : Buffer.from(cursor, 'base64url').toString();
    const tx = this.redis
      .multi()
      .zrangebylex(
        this.keys.roomMembers(room),
        after === undefined ? '-' : `(${after}`,
        '+',
        'LIMIT',
        0,
        limit + 1,
      )
      .zcard(this.keys.roomMembers(room));
    if (user !== undefined) tx.hexists(this.keys.roomUsers(room), user);
    const [found, count, has] = (await execAll(tx)) as [string[], number, number?];
    const ids = found.slice(0, limit);
    const names = ids.length ? await this.redis.hmget(this.keys.names(), ...ids) : [];
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
   * Which gateway instances are bound to each room's routing key right now: every room with a
   * member (private rooms only with `includePrivate`), by name, with its instances sorted.
   *
   * A gateway binds its queue to `room.<name>` exactly while it has a local member in the room,
   * and confirms a join to presence after binding and a leave after unbinding; the join and
   * leave scripts keep `room:<r>:insts` in the same step as the membership. So an instance is
   * listed for a room while it holds a member there, which is while it is bound: this map is
   * the bindings (as of the last join or leave each gateway confirmed).
   */
  async routing(includePrivate = false): Promise<RoomRoute[]> {
    const k = this.keys;
    const sets = includePrivate ? [k.rooms(), k.privateRooms()] : [k.rooms()];
    const listed = this.redis.pipeline();
    for (const key of sets) listed.zrange(key, '0', '-1');
    const rooms = ((await execAll(listed)) as string[][]).flat().sort();
    if (rooms.length === 0) return [];
    const insts = this.redis.pipeline();
    for (const room of rooms) insts.hkeys(k.roomInstances(room));
    const bound = (await execAll(insts)) as string[][];
    return (
      rooms
        .map((room, i) => ({ room, instances: bound[i].sort() }))
        // A room emptied between the two reads has no member left: it is not listed.
        .filter((r) => r.instances.length > 0)
    );
  }

  async ping(): Promise<boolean> {
    return (await this.redis.ping()) === 'PONG';
  }

  /** A presence script: no declared KEYS yet (it builds names from the prefix, ARGV[1]). */
  private run(script: scripts.LuaScript, ...args: (string | number)[]): Promise<Reply> {
    return this.scripts.run(script, [], [this.keys.prefix, ...args]);
  }
}

/** Runs a pipeline or MULTI and gives its replies, throwing the first command's error. */
async function execAll(commands: ChainableCommander): Promise<unknown[]> {
  const replies = await commands.exec();
  if (!replies) throw new Error('Redis transaction aborted');
  return replies.map(([err, reply]) => {
    if (err) throw err;
    return reply;
  });
}

function toUser(r: Reply): User | null {
  return Array.isArray(r) ? { id: String(r[0]), name: String(r[1]) } : null;
}

function toDepartures(r: Reply): RoomDeparture[] {
  const flat = Array.isArray(r) ? r : [];
  const out: RoomDeparture[] = [];
  for (let i = 0; i + 2 < flat.length; i += 3) {
    out.push({
      room: String(flat[i]),
      user: { id: String(flat[i + 1]), name: String(flat[i + 2]) },
    });
  }
  return out;
}
