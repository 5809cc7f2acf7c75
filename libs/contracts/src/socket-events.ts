import type { Ack } from './errors';
import type {
  Message,
  MyReactions,
  PresenceNotice,
  ReadNotice,
  TypingNotice,
  Update,
  User,
} from './types';

/**
 * The Socket.IO contract as types (PROTOCOL.md, "Client to server" and "Server to client"): the
 * gateway's server, the web client, the tests and the bench all type their sockets with these,
 * so an event name, a payload or an ack result that drifts from the contract does not compile.
 */

/** What `room:join` answers. */
export interface JoinResult {
  room: string;
  /** The first page of the room's members (at most 100; the joining user included). */
  members: User[];
  /** The room's number of users. */
  memberCount: number;
  /** The last 50 messages, or with `sinceSeq` at most 100 after it; oldest first. */
  history: Message[];
  /** More messages follow `history`: page on with `room:history { afterSeq }`. */
  more: boolean;
  /**
   * With `sinceSeq`: the updates after it to messages at or before it, in seq order. When they
   * do not fit the ack's bound (500 updates, about 1 MiB with the history) there are none and
   * `complete` is false: the client reloads what it shows with `room:history`.
   */
  updates: Update[];
  /** Retention still held every message and update after `sinceSeq`. */
  complete: boolean;
  /** The user's read cursor in the room. */
  readSeq: number;
  /** Messages from other users after the cursor (exact up to 1000, 1000 beyond). */
  unread: number;
  /** The joining user's own reactions on the messages of `history`. */
  mine: MyReactions;
}

/** What `room:read` answers: the cursor as it now stands. */
export type ReadResult = ReadNotice;

/** One room of `rooms:unread`. */
export interface RoomUnread {
  room: string;
  /** The room's last seq (messages and updates). */
  lastSeq: number;
  readSeq: number;
  unread: number;
}

export interface UnreadResult {
  /** The rooms the user has a cursor in, most recent activity first, at most 200. */
  rooms: RoomUnread[];
}

/** What an accepted edit, deletion or reaction answers: the seq of its update. */
export interface UpdateResult {
  seq: number;
}

export interface LeaveResult {
  room: string;
}

/** What an accepted `message:send` answers. */
export interface SendResult {
  id: string;
  seq: number;
  ts: number;
}

export interface HistoryResult {
  messages: Message[];
  /** The caller's own reactions on `messages`. */
  mine: MyReactions;
}

/** What `message:reactors` answers: a page of the users who reacted with one emoji. */
export interface ReactorsResult {
  users: string[];
  /** The cursor of the following page; absent on the last page. */
  next?: string;
}

export interface MembersResult {
  members: User[];
  /** The cursor of the following page; absent on the last page. */
  next?: string;
}

export type TypingResult = Record<string, never>;

export interface JoinPayload {
  room: string;
  sinceSeq?: number;
}

export interface RoomPayload {
  room: string;
}

export interface MembersPayload {
  room: string;
  cursor?: string;
  limit?: number;
}

export interface SendPayload {
  room: string;
  text: string;
  clientId?: string;
}

export interface HistoryPayload {
  room: string;
  beforeSeq?: number;
  afterSeq?: number;
  limit?: number;
}

export interface ReadPayload {
  room: string;
  seq: number;
}

export type UnreadPayload = Record<string, never>;

export interface EditPayload {
  room: string;
  id: string;
  text: string;
  /** A safe retry, as for `message:send` (docs/protocol.md). */
  clientId?: string;
}

export interface DeletePayload {
  room: string;
  id: string;
  clientId?: string;
}

export interface ReactPayload {
  room: string;
  id: string;
  emoji: string;
  on: boolean;
  clientId?: string;
}

export interface ReactorsPayload {
  room: string;
  id: string;
  emoji: string;
  cursor?: string;
  limit?: number;
}

export interface AuthRefreshPayload {
  token: string;
}

export interface AuthRefreshResult {
  /** The new token's `exp`, in ms since the epoch. */
  expiresAt: number;
}

/** The limits a connection works under (the gateway's settings), for a client's pacing. */
export interface SessionLimits {
  sendsPerSec: number;
  sendBurst: number;
  eventsPerSec: number;
  eventsBurst: number;
  maxRooms: number;
  maxTextLength: number;
}

/** `session`: the first event of every connection. */
export interface SessionInfo {
  /** The connection's user: a client learns its own id here. */
  user: User;
  /** The gateway's instance id. */
  serverId: string;
  limits: SessionLimits;
  /** The token's `exp` in ms since the epoch (JWT mode). */
  expiresAt?: number;
}

/** Why the server ends a connection on purpose, and whether reconnecting can work. */
export type SessionEndReason = 'token_expired' | 'revoked' | 'slow_consumer' | 'shutdown';

export interface SessionEnd {
  reason: SessionEndReason;
  /** Reconnecting can work (with a fresh token for `token_expired`; elsewhere for `shutdown`). */
  retry: boolean;
}

/** This connection is no longer in `room`. */
export interface RoomRemoved {
  room: string;
  reason: 'forbidden' | 'kicked' | 'banned';
}

export interface TypingPayload {
  room: string;
  typing: boolean;
}

type WithAck<P, R extends object> = (payload: P, ack: (result: Ack<R>) => void) => void;

/** Events a client emits, each with its payload and the ack it gets. */
export interface ClientToServerEvents {
  'room:join': WithAck<JoinPayload, JoinResult>;
  'room:leave': WithAck<RoomPayload, LeaveResult>;
  'message:send': WithAck<SendPayload, SendResult>;
  'room:history': WithAck<HistoryPayload, HistoryResult>;
  'room:members': WithAck<MembersPayload, MembersResult>;
  'room:read': WithAck<ReadPayload, ReadResult>;
  'rooms:unread': WithAck<UnreadPayload, UnreadResult>;
  'message:edit': WithAck<EditPayload, UpdateResult>;
  'message:delete': WithAck<DeletePayload, UpdateResult>;
  'message:react': WithAck<ReactPayload, UpdateResult>;
  'message:reactors': WithAck<ReactorsPayload, ReactorsResult>;
  'auth:refresh': WithAck<AuthRefreshPayload, AuthRefreshResult>;
  /** The ack is optional: typing may be dropped under load anyway. */
  typing: (payload: TypingPayload, ack?: (result: Ack<TypingResult>) => void) => void;
}

/** The ack result of a client event. */
export type AckResultOf<E extends keyof ClientToServerEvents> =
  Parameters<NonNullable<Parameters<ClientToServerEvents[E]>[1]>>[0] extends Ack<infer R>
    ? R
    : never;

/** Events the server emits to clients. */
export interface ServerToClientEvents {
  message: (message: Message) => void;
  presence: (notice: PresenceNotice) => void;
  typing: (notice: TypingNotice) => void;
  'message:update': (update: Update) => void;
  read: (notice: ReadNotice) => void;
  session: (session: SessionInfo) => void;
  'session:end': (end: SessionEnd) => void;
  'room:removed': (removed: RoomRemoved) => void;
}

/** What a gateway keeps on each socket (`socket.data`) between its events. */
export interface SocketData {
  user: User;
  /** Private rooms the handshake allows (JWT `rooms` claim), as the last token said. */
  privateRooms: ReadonlySet<string>;
  /** When the connection's token expires (ms since the epoch), in JWT mode. */
  expiresAt?: number;
  /** When the connection's token was issued (its `iat`, ms since the epoch), in JWT mode. */
  issuedAt?: number;
  /** Rooms where the user is muted, to when (ms since the epoch; Infinity: until lifted). */
  mutes?: Map<string, number>;
  /** The rooms the socket is a member of, as its joins and leaves have been applied. */
  rooms: Set<string>;
  /** Last typing broadcast per room (ms), for the throttle. */
  typingAt?: Map<string, number>;
  /**
   * The tail of this socket's membership changes (join, leave, disconnect), which run one after
   * another in the order they arrived; undefined when none is under way.
   */
  ops?: Promise<void>;
}
