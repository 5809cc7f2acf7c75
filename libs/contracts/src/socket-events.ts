import type { Ack } from './errors';
import type { Message, PresenceNotice, TypingNotice, User } from './types';

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
  /** Retention still held every message after `sinceSeq`. */
  complete: boolean;
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
}

/** What a gateway keeps on each socket (`socket.data`) between its events. */
export interface SocketData {
  user: User;
  /** Private rooms the handshake allows (JWT `rooms` claim). */
  privateRooms: ReadonlySet<string>;
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
