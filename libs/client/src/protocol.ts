// The wire contract (PROTOCOL.md) as the SDK sees it. The package is installed on its own, so it
// states the types here instead of importing the server's; protocol.spec.ts checks that the
// server's types are assignable to these, so the two cannot drift apart unnoticed.

export interface User {
  id: string;
  name: string;
}

/** One emoji's reactions: `count` users, the most recent of them (at most 10) in `users`. */
export interface Reaction {
  count: number;
  users: string[];
}

export interface Message {
  id: string;
  room: string;
  /** Strictly increasing within the room; shared with updates, so there are gaps. */
  seq: number;
  text: string;
  user: User;
  ts: number;
  serverId: string;
  clientId?: string;
  editedAt?: number;
  deleted?: true;
  reactions?: Record<string, Reaction>;
}

/** An edit, deletion or reaction change, with a seq of its own in the room's log. */
export interface Update {
  room: string;
  seq: number;
  id: string;
  targetSeq: number;
  user: User;
  ts: number;
  kind: 'edit' | 'delete' | 'react';
  text?: string;
  emoji?: string;
  on?: boolean;
  /** react: the emoji's count once this change applied. */
  count?: number;
}

export type ErrorCode =
  | 'INVALID_PAYLOAD'
  | 'NOT_IN_ROOM'
  | 'FORBIDDEN'
  | 'RATE_LIMITED'
  | 'TOO_LARGE'
  | 'NOT_FOUND'
  | 'UNAVAILABLE';

export type Ack<T> =
  | ({ ok: true } & T)
  | { ok: false; error: { code: ErrorCode; message: string; retryAfterMs?: number } };

export interface SessionLimits {
  sendsPerSec: number;
  sendBurst: number;
  eventsPerSec: number;
  eventsBurst: number;
  maxRooms: number;
  maxTextLength: number;
}

export interface Session {
  user: User;
  serverId: string;
  limits: SessionLimits;
  expiresAt?: number;
}

export interface SessionEnd {
  reason: 'token_expired' | 'revoked' | 'slow_consumer' | 'shutdown';
  retry: boolean;
}

export interface RoomRemoved {
  room: string;
  reason: 'forbidden' | 'kicked' | 'banned';
}

export interface PresenceNotice {
  room: string;
  event: 'join' | 'leave';
  user: User;
}

export interface TypingNotice {
  room: string;
  user: User;
  typing: boolean;
}

export interface ReadNotice {
  room: string;
  readSeq: number;
  unread: number;
}

/** The caller's own reactions: message id -> emoji. */
export type MyReactions = Record<string, string[]>;

export interface JoinResult {
  room: string;
  members: User[];
  memberCount: number;
  history: Message[];
  more: boolean;
  updates: Update[];
  complete: boolean;
  readSeq: number;
  unread: number;
  mine: MyReactions;
}

export interface HistoryResult {
  messages: Message[];
  mine: MyReactions;
}

export interface SendResult {
  id: string;
  seq: number;
  ts: number;
}

/** Every client event with its payload and its ack's result. */
export interface Requests {
  'room:join': [{ room: string; sinceSeq?: number }, JoinResult];
  'room:leave': [{ room: string }, { room: string }];
  'message:send': [{ room: string; text: string; clientId?: string }, SendResult];
  'room:history': [
    { room: string; beforeSeq?: number; afterSeq?: number; limit?: number },
    HistoryResult,
  ];
  'room:read': [{ room: string; seq: number }, ReadNotice];
  'message:edit': [{ room: string; id: string; text: string; clientId?: string }, { seq: number }];
  'message:delete': [{ room: string; id: string; clientId?: string }, { seq: number }];
  'message:react': [
    { room: string; id: string; emoji: string; on: boolean; clientId?: string },
    { seq: number },
  ];
  typing: [{ room: string; typing: boolean }, object];
  'auth:refresh': [{ token: string }, { expiresAt: number }];
}

/** Every server event with its payload. */
export interface Notices {
  session: Session;
  'session:end': SessionEnd;
  'room:removed': RoomRemoved;
  message: Message;
  'message:update': Update;
  presence: PresenceNotice;
  typing: TypingNotice;
  read: ReadNotice;
}
