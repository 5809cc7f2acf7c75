/**
 * The Redis key layout, in one place. Lua scripts receive the prefix and build the same names
 * (see scripts.ts); these builders are for the reads done from TypeScript.
 */
export class RedisKeys {
  constructor(readonly prefix: string) {}
  /** HASH socketId -> {"i": instanceId, "u": userId} */
  conns = () => `${this.prefix}conns`;
  /** HASH userId -> live connection count (its length is the online user count) */
  users = () => `${this.prefix}users`;
  /** HASH userId -> display name */
  names = () => `${this.prefix}names`;
  /** HASH instanceId -> JSON {startedAt, lastSeenAt} from the latest heartbeat */
  instances = () => `${this.prefix}instances`;
  /** ZSET instanceId scored by last heartbeat (ms), read by the sweeper */
  instancesSeen = () => `${this.prefix}instances-seen`;
  /** SET socketIds connected through an instance */
  instanceConns = (instanceId: string) => `${this.prefix}inst:${instanceId}:conns`;
  /**
   * HASH room -> the instance's connections in that room (its length is the instance's room
   * count, exact the moment a join or leave script ran; gone when the instance serves no room)
   */
  instanceRooms = (instanceId: string) => `${this.prefix}inst:${instanceId}:rooms`;
  /** SET rooms a connection has joined */
  connRooms = (socketId: string) => `${this.prefix}conn:${socketId}:rooms`;
  /** ZSET room scored by its distinct member count */
  rooms = () => `${this.prefix}rooms`;
  /** ZSET private room scored by its distinct member count (kept apart from `rooms`) */
  privateRooms = () => `${this.prefix}private-rooms`;
  /** HASH room -> connection count */
  roomConns = () => `${this.prefix}room-conns`;
  /** HASH userId -> connections of that user in the room */
  roomUsers = (room: string) => `${this.prefix}room:${room}:users`;
  /**
   * ZSET userId, every score 0: the same users as `roomUsers`, in lexicographic order, so a page
   * of members is one ZRANGEBYLEX from the last id of the page before (O(log n + page))
   */
  roomMembers = (room: string) => `${this.prefix}room:${room}:members`;
  /** HASH instanceId -> that instance's connections in the room (its keys: who serves the room) */
  roomInstances = (room: string) => `${this.prefix}room:${room}:insts`;
  /** STRING the room's last assigned seq (expires with the history) */
  roomSeq = (room: string) => `${this.prefix}room:${room}:seq`;
  /** STRING the seq the room's counter started from (its generation; expires with the history) */
  roomGen = (room: string) => `${this.prefix}room:${room}:gen`;
  /** ZSET message JSON scored by seq */
  roomHistory = (room: string) => `${this.prefix}room:${room}:history`;
  /** STRING the ack of a send with a clientId, for safe retries */
  roomClient = (room: string, userId: string, clientId: string) =>
    `${this.prefix}room:${room}:client:${userId}:${clientId}`;
  /** STRING a lock so only one presence replica sweeps at a time */
  sweepLock = () => `${this.prefix}sweep-lock`;
  /** STRING a lock so only one presence replica checks gateway queues at a time */
  queueWatchLock = () => `${this.prefix}queue-watch-lock`;
}
