import { randomUUID } from 'node:crypto';
import { Inject, Injectable, Logger, Optional } from '@nestjs/common';
import { RoomPolicies } from '@roomcast/config';
import {
  chatSocketRoom,
  ChatError,
  ErrorCode,
  PresenceEvent,
  ServerEvent,
  type HistoryDto,
  type JoinRoomDto,
  type ReactDto,
  type ReactorsDto,
  type ReactorsResult,
  type MyReactions,
  type ReadResult,
  type UnreadResult,
  type UpdateResult,
  type MembersDto,
  type Message,
  type RoomEnvelope,
  type HistoryResult,
  type JoinResult,
  type LeaveResult,
  type MembersResult,
  type SendResult,
  type SocketData,
  type TypingResult,
} from '@roomcast/contracts';
import {
  Moderation,
  PresenceQueries,
  ReadCursors,
  RoomHistory,
  type CursorState,
  type JoinSnapshot,
  type MemberPage,
  type SeqState,
  type UpdateDraft,
} from '@roomcast/store';
import { RoomWriter, WriteUnavailable } from '@roomcast/delivery';
import { GATEWAY_CONFIG, type GatewayEnv } from '../config/gateway.env';
import { RoomTraffic } from '../broker/ports';
import { GatewayMetrics } from '../metrics/gateway.metrics';
import { stateOf, type ChatSocket } from '../socket/chat-socket';
import { boundJoinAck, JOIN_ACK_BYTES } from './join-ack';
import { LocalDelivery } from '../fanout/local-delivery';
import { PresenceLink } from '../presence/presence-link';
import { RoomRegistry } from './room-registry';
import { RoomSequencer } from '../fanout/room-sequencer';
import { SendLimiter } from '../socket/rate-limits';

/** The join ack's history: the last 50, or with `sinceSeq` at most 100 then `more` (PROTOCOL.md). */
const RECENT_ON_JOIN = 50;
const SINCE_ON_JOIN = 100;
/** The join ack's first page of members (PROTOCOL.md). */
const MEMBERS_ON_JOIN = 100;
/** The join ack's updates after `sinceSeq`: beyond this many `complete` is false (docs/protocol.md). */
const UPDATES_ON_JOIN = 500;

/** Room membership, sends and reads for one gateway instance. */
@Injectable()
export class ChatService {
  private readonly logger = new Logger(ChatService.name);

  constructor(
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayEnv,
    private readonly store: PresenceQueries,
    private readonly log: RoomHistory,
    private readonly traffic: RoomTraffic,
    private readonly presence: PresenceLink,
    private readonly registry: RoomRegistry,
    private readonly sequencer: RoomSequencer,
    private readonly delivery: LocalDelivery,
    private readonly metrics: GatewayMetrics,
    private readonly limiter: SendLimiter,
    private readonly cursors: ReadCursors,
    private readonly moderation: Moderation,
    /** The rooms' rules (ROOM_RULES); none: every room as today. */
    @Optional() private readonly policies: RoomPolicies = RoomPolicies.none(),
  ) {
    this.writer = new RoomWriter(log, traffic, (envelopes) => traffic.publishWebhooks(envelopes));
  }

  /** The write path shared with the server publish API (stats). */
  private readonly writer: RoomWriter;

  /**
   * Tells presence of a new connection, first in the socket's order: its joins wait for it.
   * A failure is logged; the link's next check syncs.
   */
  connect(socket: ChatSocket): void {
    const state = stateOf(socket);
    void this.serially(state, () =>
      this.presence.apply(
        PresenceEvent.Connect,
        { instanceId: this.config.INSTANCE_ID, socketId: socket.id, user: state.user },
        { connections: 1, memberships: 0 },
      ),
    ).catch((err: Error) =>
      this.logger.warn(`connect of ${socket.id} not applied: ${err.message}`),
    );
  }

  /**
   * Joins are serialised with the socket's leaves and its disconnect, so a join and a leave sent
   * back to back apply in that order: the socket is in the Socket.IO room exactly when it is a
   * member, and presence applies them in that order. The ack waits for presence to apply the
   * join (read-your-writes: any member read that starts after it sees the member).
   */
  join(socket: ChatSocket, dto: JoinRoomDto): Promise<JoinResult> {
    return this.serially(stateOf(socket), () => this.applyJoin(socket, dto));
  }

  private async applyJoin(socket: ChatSocket, dto: JoinRoomDto): Promise<JoinResult> {
    const { room } = dto;
    const state = stateOf(socket);
    if (!socket.connected) throw new ChatError(ErrorCode.NotInRoom, 'the connection is closing');
    this.assertMayEnter(room, state);
    if (!this.traffic.reaches(room)) {
      throw this.unavailable('the message broker', room, new Error("the room's cluster is down"));
    }
    const isNew = !state.rooms.has(room);
    if (isNew && state.rooms.size >= this.config.MAX_ROOMS_PER_CONNECTION) {
      throw new ChatError(
        ErrorCode.RateLimited,
        `at most ${this.config.MAX_ROOMS_PER_CONNECTION} rooms per connection: leave one first`,
      );
    }
    if (!isNew) await this.applyStanding(room, state);
    else await this.enter(room, socket);
    // The reads of the ack go alongside presence's apply of a new member (the member list then
    // may or may not show the user: it is added below when not); the ack waits for both.
    const reads = Promise.all([
      this.log.joinSnapshot(room, {
        sinceSeq: dto.sinceSeq,
        limit: dto.sinceSeq !== undefined ? SINCE_ON_JOIN + 1 : RECENT_ON_JOIN,
        updatesLimit: UPDATES_ON_JOIN + 1,
        updatesByteBudget: JOIN_ACK_BYTES,
      }),
      this.store.members(room, { limit: MEMBERS_ON_JOIN, user: state.user.id }),
      this.cursors.join(room, state.user.id),
    ]);
    const applied = isNew
      ? this.presence.apply(
          PresenceEvent.Join,
          { instanceId: this.config.INSTANCE_ID, socketId: socket.id, room, user: state.user },
          { connections: 0, memberships: 1 },
        )
      : Promise.resolve();
    const [presence, read] = await Promise.allSettled([applied, reads]);
    if (presence.status === 'rejected') {
      // Presence may or may not have it: the link's next check syncs either way.
      this.delivery.release(room, socket, Number.MAX_SAFE_INTEGER);
      await this.exitRoom(socket, room);
      throw this.unavailable('presence', room, presence.reason);
    }
    if (read.status === 'rejected') {
      if (isNew) {
        this.delivery.release(room, socket, Number.MAX_SAFE_INTEGER);
        await this.leaveQuietly(socket, room).catch(() => undefined);
      }
      throw this.unavailable('Redis', room, read.reason);
    }
    // A repeated join of a member only reads: its live stream goes on untouched (holding it back
    // would drop, for a join sent without a callback, what only the unread ack would carry).
    const [snapshot, page, cursor]: [JoinSnapshot, MemberPage, CursorState] = read.value;
    const { seq } = snapshot;
    const since = dto.sinceSeq ?? 0;
    const { history, more, updates, updatesCut, all } = boundJoinAck(snapshot, dto.sinceSeq, {
      history: SINCE_ON_JOIN,
      updates: UPDATES_ON_JOIN,
    });
    // The first entry after `since` the log still holds, message or update.
    const first = Math.min(history[0]?.seq ?? Infinity, all[0]?.seq ?? Infinity);
    // The snapshot holds, or shows in the messages' state, everything up to the counter: live
    // entries start after it (with `more`, the client pages up to it itself).
    if (isNew) this.delivery.release(room, socket, seq.current);
    // Presence applied this join; a sweep of this instance meanwhile could have undone it.
    let { members } = page;
    let memberCount = page.count;
    if (!page.hasUser) {
      if (members.length < MEMBERS_ON_JOIN) members.push(state.user);
      memberCount++;
    }
    // A room whose rule keeps its members to itself (presence: false) shows none.
    if (!this.policies.of(room).presence) [members, memberCount] = [[], 0];
    const mine = await this.mine(room, state.user.id, history);
    return {
      room,
      members,
      memberCount,
      history,
      more,
      updates,
      complete:
        !updatesCut &&
        isComplete(since, first, seq) &&
        // With sinceSeq, nothing missing in between either: retention caps updates apart from
        // messages, so a trimmed update can leave a hole after the first entry.
        (dto.sinceSeq === undefined ||
          holdsEverySeq(Math.max(since, seq.gen), more ? history.at(-1)!.seq : seq.current, [
            history,
            all,
          ])),
      readSeq: cursor.readSeq,
      unread: cursor.unread,
      mine,
    };
  }

  /**
   * Makes `socket` a local member of `room`, its live messages held back until the ack's
   * history is read: the user's standing (a ban refuses, a mute is kept) and the room's member
   * cap are read while the room is bound here (a bind a refusal made is undone, and the linger
   * makes it cheap), so a join waits for one round trip of the two instead of both.
   */
  private async enter(room: string, socket: ChatSocket): Promise<void> {
    const state = stateOf(socket);
    state.rooms.add(room);
    const [standing, bound] = await Promise.allSettled([
      Promise.all([this.applyStanding(room, state), this.assertRoomHasSpace(room, state)]),
      this.registry.add(room, socket.id),
    ]);
    if (standing.status === 'rejected' || bound.status === 'rejected') {
      state.rooms.delete(room);
      void this.registry.remove(room, socket.id).catch(() => undefined);
      if (standing.status === 'rejected') throw standing.reason;
      throw this.unavailable(
        'the message broker or Redis',
        room,
        (bound as PromiseRejectedResult).reason,
      );
    }
    this.delivery.holdBack(room, socket);
    await socket.join(chatSocketRoom(room));
  }

  /** The ack waits for presence to apply the leave, as a join's does. */
  leave(socket: ChatSocket, room: string): Promise<LeaveResult> {
    const state = stateOf(socket);
    return this.serially(state, async () => {
      if (!state.rooms.has(room)) throw new ChatError(ErrorCode.NotInRoom, `not in room ${room}`);
      try {
        await this.leaveQuietly(socket, room);
      } catch (err) {
        // Left here (no more of its traffic); presence catches up at the link's next check.
        throw this.unavailable('presence', room, err);
      }
      return { room };
    });
  }

  /** Leaves locally, then tells presence (which tells the room if the user is gone for good). */
  private async leaveQuietly(socket: ChatSocket, room: string): Promise<void> {
    await this.exitRoom(socket, room);
    await this.presence.apply(
      PresenceEvent.Leave,
      { instanceId: this.config.INSTANCE_ID, socketId: socket.id, room },
      { connections: 0, memberships: -1 },
    );
  }

  /** Local clean-up of every room of a socket that disconnected, after its pending joins. */
  async disconnect(socket: ChatSocket): Promise<void> {
    const state = stateOf(socket);
    if (!state?.rooms) return;
    this.limiter.forget(socket.id);
    await this.serially(state, async () => {
      const memberships = state.rooms.size;
      await Promise.all([...state.rooms].map((room) => this.exitRoom(socket, room)));
      await this.presence.apply(
        PresenceEvent.Disconnect,
        { instanceId: this.config.INSTANCE_ID, socketId: socket.id },
        { connections: -1, memberships: -memberships },
      );
    });
  }

  /** Runs `op` after the socket's earlier membership changes, whatever became of them. */
  private serially<T>(state: SocketData, op: () => Promise<T>): Promise<T> {
    const run = (state.ops ?? Promise.resolve()).then(op);
    const tail = run.then(
      () => undefined,
      () => undefined,
    );
    state.ops = tail;
    void tail.then(() => {
      if (state.ops === tail) state.ops = undefined;
    });
    return run;
  }

  /**
   * Runs a membership check in the socket's order: after the joins and leaves sent before this
   * event and before those sent after it. Only the check is queued; the rest of the event runs
   * alongside what follows.
   */
  private checkInOrder(state: SocketData, check: () => void): Promise<void> | void {
    // Nothing pending: the check's turn is now (the events sent after this one come later).
    if (state.ops === undefined) return check();
    return this.serially(state, async () => check());
  }

  async send(
    socket: ChatSocket,
    room: string,
    text: string,
    clientId?: string,
  ): Promise<SendResult> {
    const state = stateOf(socket);
    await this.checkInOrder(state, () => {
      if (!state.rooms.has(room))
        throw new ChatError(ErrorCode.NotInRoom, `join ${room} before sending to it`);
    });
    this.assertNotMuted(room, state);
    if (this.policies.of(room).publish === 'server') {
      throw new ChatError(
        ErrorCode.Forbidden,
        `only the server API publishes in ${room} (an announcement room)`,
      );
    }
    this.spendSendBudget(socket, 'messages');
    const draft: Omit<Message, 'seq'> = {
      id: randomUUID(),
      room,
      text,
      user: state.user,
      ts: Date.now(),
      serverId: this.config.INSTANCE_ID,
      ...(clientId !== undefined ? { clientId } : {}),
    };
    const { ack, duplicate } = await this.written(
      room,
      this.writer.accept(draft, { floorSeq: this.sequencer.lastSeq(room), origin: socket.id }),
    );
    if (!duplicate) this.metrics.accepted.inc();
    return ack;
  }

  /**
   * Moves the user's read cursor (never back); the user's other connections in the room hear of
   * it. Reading needs what reading the history needs (a private room's claim), not membership;
   * in a room without messages it stores nothing unless the user has a cursor there (a join made
   * one), and answers readSeq 0, unread 0 (docs/protocol.md).
   */
  async read(socket: ChatSocket, room: string, seq: number): Promise<ReadResult> {
    const { user } = stateOf(socket);
    this.assertMayEnter(room, stateOf(socket));
    let cursor: CursorState;
    try {
      cursor = await this.cursors.read(room, user.id, seq);
    } catch (err) {
      throw this.unavailable('Redis', room, err);
    }
    const read = { room, readSeq: cursor.readSeq, unread: cursor.unread };
    if (cursor.moved) {
      // The cursor stands in Redis either way: a lost notice costs a badge until the next read.
      this.traffic
        .publish(room, { t: 'read', read, user: user.id, origin: socket.id })
        .catch((err: Error) => this.logger.warn(`read notice for ${room}: ${err.message}`));
    }
    return read;
  }

  /** The rooms the user has a cursor in, most recent activity first, at most 200. */
  async unread(socket: ChatSocket): Promise<UnreadResult> {
    const state = stateOf(socket);
    try {
      const rooms = await this.cursors.rooms(state.user.id, (room) => this.mayEnter(room, state));
      return {
        rooms: rooms.map(({ room, lastSeq, readSeq, unread }) => ({
          room,
          lastSeq,
          readSeq,
          unread,
        })),
      };
    } catch (err) {
      throw this.unavailable('Redis', 'rooms:unread', err);
    }
  }

  edit(socket: ChatSocket, dto: { room: string; id: string; text: string; clientId?: string }) {
    return this.update(socket, { ...dto, kind: 'edit' });
  }

  remove(socket: ChatSocket, dto: { room: string; id: string; clientId?: string }) {
    return this.update(socket, { ...dto, kind: 'delete' });
  }

  react(socket: ChatSocket, dto: ReactDto) {
    return this.update(socket, { ...dto, kind: 'react' });
  }

  /**
   * An edit, deletion or reaction change: a member's, under the send rate limit, on the write
   * path of the sends (RoomWriter); acked once the update is in the room's log and confirmed by
   * the broker, and ordered with the room's messages by every gateway's sequencer.
   */
  private async update(
    socket: ChatSocket,
    change: Omit<UpdateDraft, 'user' | 'ts'>,
  ): Promise<UpdateResult> {
    const state = stateOf(socket);
    const { room } = change;
    await this.checkInOrder(state, () => {
      if (!state.rooms.has(room))
        throw new ChatError(ErrorCode.NotInRoom, `join ${room} before changing its messages`);
    });
    this.assertNotMuted(room, state);
    this.spendSendBudget(socket, 'messages and changes');
    const draft: UpdateDraft = { ...change, user: state.user, ts: Date.now() };
    return this.written(room, this.writer.acceptUpdate(draft, this.sequencer.lastSeq(room)));
  }

  /** Sends, edits, deletions and reactions share one budget per connection (RATE_LIMIT_*). */
  private spendSendBudget(socket: ChatSocket, what: string): void {
    const wait = this.limiter.take(socket.id);
    if (wait > 0) {
      throw new ChatError(
        ErrorCode.RateLimited,
        `at most ${this.config.RATE_LIMIT_PER_SEC} ${what} per second (burst ${this.config.RATE_LIMIT_BURST}); slow down`,
        wait,
      );
    }
  }

  /** A write's outcome; a dependency that failed it is UNAVAILABLE naming that dependency. */
  private async written<T>(room: string, write: Promise<T>): Promise<T> {
    try {
      return await write;
    } catch (err) {
      if (err instanceof WriteUnavailable) throw this.unavailable(err.dependency, room, err.cause);
      throw err;
    }
  }

  async history(socket: ChatSocket, dto: HistoryDto): Promise<HistoryResult> {
    this.assertMayEnter(dto.room, stateOf(socket));
    try {
      const messages = await this.log.history(dto.room, {
        beforeSeq: dto.beforeSeq,
        afterSeq: dto.afterSeq,
        limit: dto.limit ?? 50,
      });
      return { messages, mine: await this.log.mine(dto.room, stateOf(socket).user.id, messages) };
    } catch (err) {
      throw this.unavailable('Redis', dto.room, err);
    }
  }

  /** A page of one emoji's reactors on a message: what reading the room's history needs. */
  async reactors(socket: ChatSocket, dto: ReactorsDto): Promise<ReactorsResult> {
    const { room, id, emoji, cursor, limit } = dto;
    this.assertMayEnter(room, stateOf(socket));
    let page: Awaited<ReturnType<RoomHistory['reactors']>>;
    try {
      page = await this.log.reactors(room, id, emoji, {
        after: cursor === undefined ? undefined : Buffer.from(cursor, 'base64url').toString(),
        limit: limit ?? 100,
      });
    } catch (err) {
      throw this.unavailable('Redis', room, err);
    }
    if (!page) throw new ChatError(ErrorCode.NotFound, `no message ${id} in ${room}'s history`);
    const { users, after } = page;
    return after === undefined
      ? { users }
      : { users, next: Buffer.from(after).toString('base64url') };
  }

  /** The user's reactions on `messages`; a read that fails costs the ack nothing but these. */
  private async mine(room: string, userId: string, messages: Message[]): Promise<MyReactions> {
    try {
      return await this.log.mine(room, userId, messages);
    } catch (err) {
      this.logger.warn(`own reactions in ${room} not read: ${(err as Error).message}`);
      return {};
    }
  }

  async members(socket: ChatSocket, dto: MembersDto): Promise<MembersResult> {
    const { room, cursor, limit } = dto;
    this.assertMayEnter(room, stateOf(socket));
    if (!this.policies.of(room).presence) return { members: [] };
    try {
      const { members, next } = await this.store.members(room, { cursor, limit });
      return next === undefined ? { members } : { members, next };
    } catch (err) {
      throw this.unavailable('Redis', room, err);
    }
  }

  async typing(socket: ChatSocket, room: string, typing: boolean): Promise<TypingResult> {
    const state = stateOf(socket);
    await this.checkInOrder(state, () => {
      if (!state.rooms.has(room)) throw new ChatError(ErrorCode.NotInRoom, `not in room ${room}`);
    });
    if (!this.policies.of(room).typing) {
      throw new ChatError(ErrorCode.Forbidden, `typing notices are off in ${room}`);
    }
    const now = Date.now();
    state.typingAt ??= new Map();
    // "Stopped typing" always goes out; "typing" at most once per interval per room.
    const since = now - (state.typingAt.get(room) ?? 0);
    if (typing && since < this.config.TYPING_MIN_INTERVAL_MS) {
      throw new ChatError(
        ErrorCode.RateLimited,
        'typing is throttled; the last notice still stands',
        this.config.TYPING_MIN_INTERVAL_MS - since,
      );
    }
    // Only a "typing" notice starts the interval: "stopped typing" goes out whenever it is sent.
    if (typing) state.typingAt.set(room, now);
    const envelope: RoomEnvelope = { t: 'typing', typing: { room, user: state.user, typing } };
    // Typing may be dropped under load: not worth a failed ack.
    this.traffic.publish(room, envelope).catch(() => undefined);
    return {};
  }

  private async exitRoom(socket: ChatSocket, room: string): Promise<void> {
    stateOf(socket).rooms.delete(room);
    this.delivery.forget(room, socket);
    await socket.leave(chatSocketRoom(room));
    try {
      await this.registry.remove(room, socket.id);
    } catch (err) {
      // The binding stays until the broker answers again; reconnect restores only live rooms.
      this.logger.warn(`unbind of room ${room} failed: ${(err as Error).message}`);
    }
  }

  /** A private- room, or one whose rule requires the claim, needs its name in `rooms`. */
  mayEnter(room: string, state: SocketData): boolean {
    return state.privateRooms.has(room) || !this.policies.of(room).requiresClaim;
  }

  private assertMayEnter(room: string, state: SocketData): void {
    if (!this.mayEnter(room, state)) {
      throw new ChatError(
        ErrorCode.Forbidden,
        `${room} is private: it needs a token whose rooms claim lists it`,
      );
    }
  }

  /**
   * A room whose rule caps its members (maxMembers) refuses a new member once it is full; a
   * user already in it (another connection) is no new member. Checked before the join, so two
   * users joining a room one short of full at the same moment can both get in (one over).
   */
  private async assertRoomHasSpace(room: string, state: SocketData): Promise<void> {
    const { maxMembers } = this.policies.of(room);
    if (maxMembers === null) return;
    let page: MemberPage;
    try {
      page = await this.store.members(room, { limit: 1, user: state.user.id });
    } catch (err) {
      throw this.unavailable('Redis', room, err);
    }
    if (!page.hasUser && page.count >= maxMembers) {
      throw new ChatError(ErrorCode.Forbidden, `${room} is full: at most ${maxMembers} members`);
    }
  }

  /**
   * A ban refuses the join (so a banned user's rejoin with `sinceSeq` gets no history); a mute
   * is kept on the socket, for its sends, edits and reactions, and changed by the server API's
   * notices while the socket is in the room.
   */
  private async applyStanding(room: string, state: SocketData): Promise<void> {
    let standing;
    try {
      standing = await this.moderation.standing(room, state.user.id);
    } catch (err) {
      throw this.unavailable('Redis', room, err);
    }
    if (standing.ban) {
      const until = standing.ban.until;
      throw new ChatError(
        ErrorCode.Forbidden,
        `banned from ${room}${until === null ? '' : ` until ${new Date(until).toISOString()}`}`,
      );
    }
    this.setMute(state, room, standing.mute ? (standing.mute.until ?? Infinity) : undefined);
  }

  private setMute(state: SocketData, room: string, until: number | undefined): void {
    if (until === undefined) state.mutes?.delete(room);
    else (state.mutes ??= new Map()).set(room, until);
  }

  private assertNotMuted(room: string, state: SocketData): void {
    const until = state.mutes?.get(room);
    if (until === undefined) return;
    if (until <= Date.now()) return void state.mutes?.delete(room);
    throw new ChatError(
      ErrorCode.Forbidden,
      `muted in ${room}${Number.isFinite(until) ? ` until ${new Date(until).toISOString()}` : ''}`,
    );
  }

  /**
   * A moderator's notice for this instance's connections of `userId`: out of `room` (each
   * leaves as by room:leave and hears room:removed), or its mute there set or lifted. Resolves
   * with how many connections it changed.
   */
  async removeUser(room: string, userId: string, reason: 'kicked' | 'banned'): Promise<number> {
    const sockets = this.socketsOf(userId).filter((s) => stateOf(s).rooms.has(room));
    await Promise.all(
      sockets.map(async (socket) => {
        await this.leave(socket, room).catch((err: Error) => {
          // Out of the room here (no more of its traffic) whatever presence answered.
          this.logger.warn(`removing ${socket.id} from ${room}: ${err.message}`);
        });
        socket.emit(ServerEvent.RoomRemoved, { room, reason });
      }),
    );
    return sockets.length;
  }

  muteUser(room: string, userId: string, until: number | null): number {
    const sockets = this.socketsOf(userId);
    for (const s of sockets) this.setMute(stateOf(s), room, until === null ? undefined : until);
    return sockets.length;
  }

  /** This instance's connections of `userId`. */
  socketsOf(userId: string): ChatSocket[] {
    return [...this.delivery.localSockets()].filter((s) => stateOf(s)?.user?.id === userId);
  }

  /** The client hears which dependency failed, never its error text; the log gets that. */
  private unavailable(dependency: string, room: string, err: unknown): ChatError {
    this.logger.warn(`${dependency} failed for room ${room}: ${(err as Error)?.message ?? err}`);
    return new ChatError(ErrorCode.Unavailable, `${dependency} is not answering; retry later`);
  }
}

/**
 * Whether the log after `since` holds every entry retention could have kept: `first` is the
 * seq of the first message or update it holds after `since` (Infinity: none). A client
 * that holds a seq of an earlier generation (Redis lost the room) may have missed messages that
 * nobody can tell of any more: not complete.
 */
export function isComplete(since: number, first: number, seq: SeqState): boolean {
  if (since > 0 && since < seq.gen) return false;
  const from = Math.max(since, seq.gen);
  return Number.isFinite(first) ? first === from + 1 : seq.current <= since;
}

/**
 * Whether `entries` (messages and updates, which share the room's seqs: every seq is one or the
 * other) hold every seq in (from, upTo]: a join ack with a hole there lacks an entry the log no
 * longer has, so it is not complete.
 */
export function holdsEverySeq(
  from: number,
  upTo: number,
  entries: readonly (readonly { seq: number }[])[],
): boolean {
  if (upTo <= from) return true;
  const held = new Set<number>();
  for (const list of entries) {
    for (const { seq } of list) if (seq > from && seq <= upTo) held.add(seq);
  }
  return held.size === upTo - from;
}
