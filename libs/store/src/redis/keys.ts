import calculateSlot from 'cluster-key-slot';

/**
 * How many slot groups share the cluster-wide state: each room and each user belongs to one
 * group, and a group's keys share one hash tag, so one script can update a room together with
 * the ranking of its group. Reads of cluster-wide figures (online users, room count, the
 * ranking, the routing map) visit every group: O(GROUPS) commands, batched per node. The number
 * is fixed: a room's keys are named after its group, so changing it would move every room.
 */
export const GROUPS = 64;
const SLOTS = 16384;

/**
 * tags[n] is a short hash tag whose slot lies in the n-th 1/GROUPS of the slot space, so the
 * groups spread evenly over any split of the slots between masters (Redis Cluster gives each
 * master a contiguous range).
 */
const TAGS: readonly string[] = Array.from({ length: GROUPS }, (_, n) => {
  const width = SLOTS / GROUPS;
  for (let k = 0; ; k++) {
    const tag = `g${n}.${k}`;
    if (Math.floor(calculateSlot(tag) / width) === n) return tag;
  }
});

/** The group of a room name or a user id. */
export function groupOf(name: string): number {
  return calculateSlot(name) % GROUPS;
}

/**
 * The Redis key layout, in one place: every key name is built here and passed to the Lua scripts
 * in KEYS; no script builds a name. Each script touches one hash slot:
 *
 * - `{i:<instance>}` an instance's connections and its per-room counts (connect, join, leave,
 *   disconnect of its sockets; the presence check);
 * - `{<group tag>}` a group's rooms (a room's seq, history, clientId keys, members, names and
 *   per-instance counts, and the group's ranking) and a group's users (connection counts);
 * - `{instances}` the instances' heartbeat records.
 *
 * Every figure derived from several instances (a room's users, a group's online users) sits
 * beside each instance's share of it in the same slot (`room:<r>:inst:<i>`,
 * `inst:<i>:users`, `inst:<i>:rooms`), so one instance's contribution can be replaced exactly
 * with one script per group: a sync, or the removal of a dead instance, repairs whatever a
 * half-done change left behind. Room names match ^[A-Za-z0-9_-]{1,64}$ and REDIS_PREFIX has no
 * braces, so names cannot collide and the first `{...}` of a key is always its tag.
 */
export class RedisKeys {
  constructor(readonly prefix: string) {
    if (/[{}]/.test(prefix)) throw new Error(`a Redis prefix may not contain braces: ${prefix}`);
  }

  /** The hash-tagged start of every key of a group. */
  group = (n: number) => `${this.prefix}{${TAGS[n]}}`;
  /** The start of every key of a room (keys.ts's room keys end it with their kind). */
  room = (room: string) => `${this.group(groupOf(room))}room:${room}:`;
  private inst = (instanceId: string) => `${this.prefix}{i:${instanceId}}`;

  // --- an instance ({i:<instance>}) ---
  /** HASH socketId -> JSON {u: userId, n: name, r: [rooms]}: the instance's connections */
  instanceConns = (instanceId: string) => `${this.inst(instanceId)}conns`;
  /**
   * HASH room -> the instance's connections in that room (its length is the instance's room
   * count; its values sum to its memberships)
   */
  instanceRooms = (instanceId: string) => `${this.inst(instanceId)}rooms`;

  // --- a group ({<tag>}) ---
  /** HASH userId -> live connections, for the users of the group (its length: online users) */
  groupUsers = (n: number) => `${this.group(n)}users`;
  /** HASH userId -> the instance's connections of that user, for the users of the group */
  groupInstanceUsers = (n: number, instanceId: string) =>
    `${this.group(n)}inst:${instanceId}:users`;
  /** SET the group's rooms where the instance has a connection */
  groupInstanceRooms = (n: number, instanceId: string) =>
    `${this.group(n)}inst:${instanceId}:rooms`;
  /** ZSET the group's public rooms scored by distinct users */
  groupRanking = (n: number) => `${this.group(n)}rooms`;
  /** ZSET the group's private rooms scored by distinct users (kept apart from the public) */
  groupPrivateRanking = (n: number) => `${this.group(n)}private-rooms`;
  /**
   * The ranking a room belongs in: the private one for `private-` rooms, and for rooms whose rule
   * requires the `rooms` claim (`hidden`, from ROOM_RULES), which the Stats API hides alike.
   */
  rankingOf = (room: string, hidden = false) =>
    hidden || room.startsWith('private-')
      ? this.groupPrivateRanking(groupOf(room))
      : this.groupRanking(groupOf(room));

  // --- a room (its group's tag) ---
  /** HASH userId -> connections of that user in the room (its length: the room's users) */
  roomUsers = (room: string) => `${this.room(room)}users`;
  /**
   * ZSET userId, every score 0: the same users as `roomUsers`, in lexicographic order, so a page
   * of members is one ZRANGEBYLEX from the last id of the page before (O(log n + page))
   */
  roomMembers = (room: string) => `${this.room(room)}members`;
  /** HASH userId -> display name, for the room's users */
  roomNames = (room: string) => `${this.room(room)}names`;
  /** HASH instanceId -> that instance's connections in the room (its keys: who serves the room) */
  roomInstances = (room: string) => `${this.room(room)}insts`;
  /** HASH userId -> that user's connections in the room through one instance */
  roomInstanceUsers = (room: string, instanceId: string) => `${this.room(room)}inst:${instanceId}`;
  /** STRING the number of the room's last webhook event (a day past its last; _room.lua) */
  roomHooks = (room: string) => `${this.room(room)}hooks`;
  /** STRING JSON {until, reason, at}: the user is banned from the room (expires with the ban) */
  roomBan = (room: string, userId: string) => `${this.room(room)}ban:${userId}`;
  /** ZSET userId scored by the ban's end (+inf: until lifted): the room's bans, for listing */
  roomBans = (room: string) => `${this.room(room)}bans`;
  /**
   * ZSET userId, every score 0: the same users as `roomBans`, in lexicographic order, so a page of
   * the room's bans is one ZRANGEBYLEX from the last id of the page before (sanction-page.lua)
   */
  roomBanIds = (room: string) => `${this.room(room)}ban-ids`;
  /** STRING JSON {until, reason, at}: the user's sends, edits and reactions in the room refused */
  roomMute = (room: string, userId: string) => `${this.room(room)}mute:${userId}`;
  /** ZSET userId scored by the mute's end (+inf: until lifted): the room's mutes, for listing */
  roomMutes = (room: string) => `${this.room(room)}mutes`;
  /** ZSET userId, every score 0: the same users as `roomMutes`, in lexicographic order */
  roomMuteIds = (room: string) => `${this.room(room)}mute-ids`;
  /** STRING the room's last assigned seq (expires with the history) */
  roomSeq = (room: string) => `${this.room(room)}seq`;
  /** STRING the seq the room's counter started from (its generation; expires with the history) */
  roomGen = (room: string) => `${this.room(room)}gen`;
  /** ZSET message JSON scored by seq */
  roomHistory = (room: string) => `${this.room(room)}history`;
  /** HASH message id -> seq, for the retained messages (an edit names its message by id) */
  roomIds = (room: string) => `${this.room(room)}ids`;
  /**
   * HASH of the changed messages: `b:<seq>` the message as first stored, `o:<seq>` the JSON of
   * what its updates changed (text, editedAt, deleted, reactions as counts and samples), `l:<seq>`
   * the seq of its latest edit (the one update that keeps its text); the history holds the merge
   */
  roomEdits = (room: string) => `${this.room(room)}edits`;
  /** ZSET update JSON scored by seq: the room's edits, deletions and reactions */
  roomUpdates = (room: string) => `${this.room(room)}updates`;
  /**
   * ZSET every score 0, `<seq>:<emoji's UTF-8 length>:<emoji><userId>`: every reaction on the
   * retained messages, so one emoji's reactors on one message are one lexicographic range
   * (update-message.lua; the message itself holds only counts and a sample)
   */
  roomReactors = (room: string) => `${this.room(room)}reactors`;
  /**
   * HASH userId -> the highest seq the user has read in the room (its read cursor); only in a room
   * with a counter, 30 days past its last move or the room's last append (read-cursors.ts)
   */
  roomReads = (room: string) => `${this.room(room)}reads`;
  /** STRING the ack of an update with a clientId, for safe retries */
  roomUpdateClient = (room: string, userId: string, clientId: string) =>
    `${this.room(room)}uclient:${userId}:${clientId}`;
  /** STRING the ack of a send with a clientId, for safe retries */
  roomClient = (room: string, userId: string, clientId: string) =>
    `${this.room(room)}client:${userId}:${clientId}`;

  // --- a user (its group's tag) ---
  /**
   * ZSET room -> when the user last joined or read it (ms): the rooms the user joined or has a
   * cursor in, the most recent 200 (a room that falls out loses the user's cursor), 30 days past
   * the user's last join or read
   */
  /** STRING ms since the epoch: the user's tokens issued before it are refused (revoke) */
  userRevoked = (userId: string) => `${this.group(groupOf(userId))}user:${userId}:revoked`;
  userCursors = (userId: string) => `${this.group(groupOf(userId))}user:${userId}:cursors`;

  // --- the sanctions in force, across rooms ({sanctions}) ---
  /**
   * ZSET JSON [room, userId, the sanction's JSON as its room key holds it] scored by the
   * sanction's end (+inf: until lifted): the bans or mutes of public or of private rooms, so that
   * ended ones leave by score (moderation.ts). A room's keys are in another slot, so this index is
   * written by a command of its own and its readers check each entry against the room's key.
   */
  sanctionEnds = (kind: 'ban' | 'mute', scope: 'public' | 'private') =>
    `${this.prefix}{sanctions}${kind}:${scope}:ends`;
  /** ZSET the same members as `sanctionEnds`, scored by when the sanction was given (ms) */
  sanctionTimes = (kind: 'ban' | 'mute', scope: 'public' | 'private') =>
    `${this.prefix}{sanctions}${kind}:${scope}:times`;

  // --- instances ({instances}) and locks ---
  /** HASH instanceId -> JSON {startedAt, lastSeenAt} from the latest heartbeat */
  instances = () => `${this.prefix}{instances}record`;
  /** ZSET instanceId scored by last heartbeat (ms), read by the sweeper */
  instancesSeen = () => `${this.prefix}{instances}seen`;
  /** STRING a lock so only one presence replica sweeps at a time */
  sweepLock = () => `${this.prefix}sweep-lock`;
  /** STRING a lock so only one presence replica checks gateway queues at a time */
  queueWatchLock = () => `${this.prefix}queue-watch-lock`;
  /** STRING a lock so that one service moves the keys of the layout before this one */
  migrationLock = () => `${this.prefix}migration-lock`;
  /** STRING the layout version the keys are in (absent: none yet, or the layout before 2) */
  layout = () => `${this.prefix}layout`;
}
