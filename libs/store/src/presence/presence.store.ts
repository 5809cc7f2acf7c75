import type { InstanceMetrics, User } from '@roomcast/contracts';
import { GROUPS, groupOf, RedisKeys } from '../redis/keys';
import type { RedisClient } from '../redis/connection';
import { ScriptRunner, type Reply } from '../redis/script-runner';
import * as scripts from '../redis/scripts';

/**
 * Where a membership change falls among its room's webhook events, numbered in the script that
 * made it (lua/_room.lua): `seq` is the member event's number; `edge` says the change also
 * occupied the room (room.occupied is seq - 1) or vacated it (room.vacated is seq + 1).
 */
export interface HookMark {
  seq: number;
  edge: boolean;
}

/** A user who arrived in a room or left it for good; `hook` only when webhooks are on. */
export interface RoomDeparture {
  room: string;
  user: User;
  hook?: HookMark;
}

/** What replacing an instance's share changed: users who arrived in a room or left it for good. */
export interface RoomChanges {
  joined: RoomDeparture[];
  left: RoomDeparture[];
}

/** One socket as its gateway accounts for it (a sync). */
export interface SocketState {
  socketId: string;
  user: User;
  rooms: string[];
}

/** A connection as the instance's side holds it. */
interface StoredConn {
  u: string;
  n: string;
  r: string[];
}

/** An instance's share of one group, as group-set-instance takes it. */
interface GroupShare {
  u: Record<string, number>;
  r: Record<string, Record<string, number>>;
  n: Record<string, string>;
  /** 1 when webhooks are on */
  h?: 1;
}

const counts = () => Object.create(null) as Record<string, number>;

/**
 * Presence: who is connected through which instance, and who is in which room. Each change is a
 * few scripts, each atomic on one slot (keys.ts): the instance's side (its connections), then the
 * room's and the user's side in their groups. What a change cut short between them leaves behind,
 * the next sync of the instance (or its removal) replaces: every total sits beside each
 * instance's share of it, and each group lists the rooms where an instance has a share, so the
 * repair needs nothing from the instance's side.
 */
export class PresenceStore {
  readonly keys: RedisKeys;
  private readonly scripts: ScriptRunner;
  private readonly hidden: (room: string) => boolean;

  /**
   * @param options.webhooks number each membership change among its room's webhook events
   *   (`hook` of the changes returned). @default false
   * @param options.hidden rooms ranked with the private ones, whose names and counts show only
   *   to Stats API callers with the token (a room rule's requiresClaim). @default none
   */
  constructor(
    private readonly redis: RedisClient,
    prefix: string,
    options: { webhooks?: boolean; hidden?: (room: string) => boolean } = {},
  ) {
    this.hidden = options.hidden ?? (() => false);
    this.keys = new RedisKeys(prefix);
    this.scripts = new ScriptRunner(redis);
    this.webhooks = options.webhooks ?? false;
  }

  /** Whether changes are numbered for webhooks. */
  readonly webhooks: boolean;

  /** Records a connection; returns false when presence already had it. */
  async connect(
    instanceId: string,
    socketId: string,
    user: User,
    now = Date.now(),
  ): Promise<boolean> {
    const conns = this.keys.instanceConns(instanceId);
    const stored: StoredConn = { u: user.id, n: user.name, r: [] };
    const [created, held] = (await execAll(
      this.redis.multi().hsetnx(conns, socketId, JSON.stringify(stored)).hlen(conns),
    )) as [number, number];
    if (created === 1) await this.connected(instanceId, user.id, held === 1, now);
    return created === 1;
  }

  /**
   * Adds a connection to a room, recording the connection first if presence lacks it (swept,
   * Redis emptied). Returns the user when this connection made it a new member of the room.
   */
  async join(instanceId: string, socketId: string, user: User, room: string): Promise<User | null> {
    return (await this.joinRoom(instanceId, socketId, user, room))?.user ?? null;
  }

  /** As `join`, with the change's place among the room's webhook events. */
  async joinRoom(
    instanceId: string,
    socketId: string,
    user: User,
    room: string,
  ): Promise<RoomDeparture | null> {
    const [created, added] = (await this.scripts.run(
      scripts.CONN_JOIN,
      this.instanceKeys(instanceId),
      [socketId, user.id, user.name, room],
    )) as [number, number];
    const [, joined] = await Promise.all([
      created === 1 ? this.connected(instanceId, user.id, true) : undefined,
      added === 1 ? this.roomScript(scripts.ROOM_JOIN, instanceId, room, user.id, user.name) : null,
    ]);
    return this.change(room, joined ?? null);
  }

  /** Takes a connection out of a room; returns the user when it was its last one there. */
  async leave(instanceId: string, socketId: string, room: string): Promise<User | null> {
    return (await this.leaveRoom(instanceId, socketId, room))?.user ?? null;
  }

  /** As `leave`, with the change's place among the room's webhook events. */
  async leaveRoom(
    instanceId: string,
    socketId: string,
    room: string,
  ): Promise<RoomDeparture | null> {
    const held = await this.scripts.run(scripts.CONN_LEAVE, this.instanceKeys(instanceId), [
      socketId,
      room,
    ]);
    if (held === null) return null;
    return this.change(
      room,
      await this.roomScript(scripts.ROOM_LEAVE, instanceId, room, String(held)),
    );
  }

  /** Forgets a connection; returns the rooms its user left for good. */
  async disconnect(instanceId: string, socketId: string): Promise<RoomDeparture[]> {
    const closed = await this.scripts.run(scripts.CONN_CLOSE, this.instanceKeys(instanceId), [
      socketId,
    ]);
    if (!Array.isArray(closed)) return [];
    const [userId, ...rooms] = closed.map(String);
    const [left] = await Promise.all([
      Promise.all(
        rooms.map((room) => this.roomScript(scripts.ROOM_LEAVE, instanceId, room, userId)),
      ),
      this.countUser(instanceId, userId, -1),
    ]);
    return left.flatMap((r, i) => {
      const change = this.change(rooms[i], r);
      return change ? [change] : [];
    });
  }

  /**
   * Makes presence hold exactly `sockets` for an instance (its gateway's own account): its side
   * is rewritten, and its share of every group replaced, the totals following. Returns who
   * arrived in or left a room through it, for the notices.
   */
  async setInstance(instanceId: string, sockets: SocketState[]): Promise<RoomChanges> {
    const shares = Array.from({ length: GROUPS }, (): GroupShare => ({
      u: counts(),
      r: Object.create(null) as GroupShare['r'],
      n: Object.create(null) as GroupShare['n'],
      ...(this.webhooks ? { h: 1 as const } : {}),
    }));
    const roomCounts = counts();
    for (const s of sockets) {
      const us = shares[groupOf(s.user.id)];
      us.u[s.user.id] = (us.u[s.user.id] ?? 0) + 1;
      for (const room of new Set(s.rooms)) {
        const rs = shares[groupOf(room)];
        const users = (rs.r[room] ??= counts());
        users[s.user.id] = (users[s.user.id] ?? 0) + 1;
        rs.n[s.user.id] = s.user.name;
        roomCounts[room] = (roomCounts[room] ?? 0) + 1;
      }
    }
    await this.writeInstanceSide(instanceId, sockets, roomCounts);
    const changes: RoomChanges = { joined: [], left: [] };
    await Promise.all(
      shares.map(async (share, group) => {
        const flat = await this.setGroupShare(instanceId, group, share);
        for (let i = 0; i + 5 < flat.length; i += 6) {
          const change = this.change(String(flat[i + 1]), flat.slice(i + 2, i + 6))!;
          (flat[i] === 'j' ? changes.joined : changes.left).push(change);
        }
      }),
    );
    return changes;
  }

  /** Forgets an instance and every connection it had: a goodbye, or a crash found by a check. */
  async removeInstance(instanceId: string): Promise<RoomDeparture[]> {
    const { left } = await this.setInstance(instanceId, []);
    await this.redis
      .multi()
      .hdel(this.keys.instances(), instanceId)
      .zrem(this.keys.instancesSeen(), instanceId)
      .exec();
    return left;
  }

  /**
   * The departures whose user is still not in the room (through any connection), read now: a
   * user who came back meanwhile (reconnected through another gateway) is left out, so a leave
   * notice published after a bulk change cannot trail the notice of their return.
   */
  async stillGone(departures: RoomDeparture[]): Promise<RoomDeparture[]> {
    const present = await Promise.all(
      departures.map((d) => this.redis.hexists(this.keys.roomUsers(d.room), d.user.id)),
    );
    return departures.filter((_, i) => present[i] === 0);
  }

  /** Records a heartbeat: the instance's record and its last-seen time, read by the sweeper. */
  async heartbeat(
    instanceId: string,
    startedAt: number,
    now = Date.now(),
    metrics?: InstanceMetrics,
  ): Promise<void> {
    await execAll(
      this.redis
        .multi()
        .hset(
          this.keys.instances(),
          instanceId,
          JSON.stringify({ startedAt, lastSeenAt: now, metrics }),
        )
        .zadd(this.keys.instancesSeen(), now, instanceId),
    );
  }

  /**
   * What presence holds for an instance, which the gateway compares with its own account: its
   * connections, and its memberships (the sum of its per-room connection counts).
   */
  async instanceCounts(instanceId: string): Promise<{ connections: number; memberships: number }> {
    const [connections, perRoom] = (await execAll(
      this.redis
        .multi()
        .hlen(this.keys.instanceConns(instanceId))
        .hvals(this.keys.instanceRooms(instanceId)),
    )) as [number, string[]];
    return { connections, memberships: perRoom.reduce((sum, n) => sum + Number(n), 0) };
  }

  /** Instances whose last heartbeat is older than `before` (ms since the epoch). */
  async staleInstances(before: number): Promise<string[]> {
    return this.redis.zrangebyscore(this.keys.instancesSeen(), '-inf', `(${before}`);
  }

  /** Every instance presence knows of (heartbeat or connection seen, and not yet removed). */
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

  async ping(): Promise<boolean> {
    return (await this.redis.ping()) === 'PONG';
  }

  /** A new connection counts for its user; an instance's first is noted for the sweeper. */
  private async connected(instanceId: string, userId: string, first: boolean, now = Date.now()) {
    await Promise.all([
      this.countUser(instanceId, userId, 1),
      first ? this.redis.zadd(this.keys.instancesSeen(), 'NX', now, instanceId) : undefined,
    ]);
  }

  private countUser(instanceId: string, userId: string, by: 1 | -1): Promise<Reply> {
    const group = groupOf(userId);
    return this.scripts.run(
      scripts.USER_COUNT,
      [this.keys.groupUsers(group), this.keys.groupInstanceUsers(group, instanceId)],
      [userId, by],
    );
  }

  private instanceKeys(instanceId: string): string[] {
    return [this.keys.instanceConns(instanceId), this.keys.instanceRooms(instanceId)];
  }

  /** A room's 5 keys (lua/_room.lua), the order every group script declares them in. */
  private roomKeys(room: string, instanceId: string): string[] {
    const k = this.keys;
    return [
      k.roomUsers(room),
      k.roomMembers(room),
      k.roomNames(room),
      k.roomInstances(room),
      k.roomInstanceUsers(room, instanceId),
    ];
  }

  private roomScript(
    script: scripts.LuaScript,
    instanceId: string,
    room: string,
    ...args: string[]
  ): Promise<Reply> {
    const keys = [
      ...this.roomKeys(room, instanceId),
      this.keys.groupInstanceRooms(groupOf(room), instanceId),
      this.keys.rankingOf(room, this.hidden(room)),
      this.keys.roomHooks(room),
    ];
    return this.scripts.run(script, keys, [room, instanceId, ...args, this.webhooks ? '1' : '0']);
  }

  /** Rewrites the instance's side: its connections and its per-room counts. */
  private async writeInstanceSide(
    instanceId: string,
    sockets: SocketState[],
    roomCounts: Record<string, number>,
  ): Promise<void> {
    const conns = this.keys.instanceConns(instanceId);
    const rooms = this.keys.instanceRooms(instanceId);
    const tx = this.redis.multi().del(conns, rooms);
    for (let i = 0; i < sockets.length; i += 1000) {
      const batch = sockets.slice(i, i + 1000).flatMap((s) => {
        const stored: StoredConn = { u: s.user.id, n: s.user.name, r: [...new Set(s.rooms)] };
        return [s.socketId, JSON.stringify(stored)];
      });
      tx.hset(conns, ...batch);
    }
    const entries = Object.entries(roomCounts);
    for (let i = 0; i < entries.length; i += 1000)
      tx.hset(rooms, ...entries.slice(i, i + 1000).flat());
    await execAll(tx);
  }

  /**
   * Replaces the instance's share of one group. The rooms to declare are those of the share and
   * those the group lists for the instance; a room added between the read and the script makes
   * the script refuse, and it runs again.
   */
  private async setGroupShare(
    instanceId: string,
    group: number,
    share: GroupShare,
  ): Promise<Reply[]> {
    const listed = this.keys.groupInstanceRooms(group, instanceId);
    for (let attempt = 0; ; attempt++) {
      const held = await this.redis.smembers(listed);
      const rooms = [...new Set([...Object.keys(share.r), ...held])];
      const keys = [
        this.keys.groupUsers(group),
        this.keys.groupInstanceUsers(group, instanceId),
        listed,
      ];
      for (const room of rooms)
        keys.push(
          ...this.roomKeys(room, instanceId),
          this.keys.rankingOf(room, this.hidden(room)),
          this.keys.roomHooks(room),
        );
      const r = (await this.scripts.run(scripts.GROUP_SET_INSTANCE, keys, [
        instanceId,
        JSON.stringify(share),
        ...rooms,
      ])) as Reply[];
      if (Number(r[0]) === 1) return r.slice(1);
      if (attempt >= 5) throw new Error(`group ${group} of instance ${instanceId} kept changing`);
    }
  }

  /** A room script's reply {userId, name, seq, edge} (or none) as the change it reports. */
  private change(room: string, r: Reply): RoomDeparture | null {
    if (!Array.isArray(r)) return null;
    const change: RoomDeparture = { room, user: { id: String(r[0]), name: String(r[1]) } };
    if (this.webhooks) change.hook = { seq: Number(r[2]), edge: Number(r[3]) === 1 };
    return change;
  }
}

/** Runs a pipeline or MULTI and gives its replies, throwing the first command's error. */
export async function execAll(commands: {
  exec(): Promise<[Error | null, unknown][] | null>;
}): Promise<unknown[]> {
  const replies = await commands.exec();
  if (!replies) throw new Error('Redis transaction aborted');
  return replies.map(([err, reply]) => {
    if (err) throw err;
    return reply;
  });
}
