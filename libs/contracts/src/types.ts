export interface User {
  id: string;
  name: string;
}

export interface Message {
  id: string;
  room: string;
  seq: number;
  text: string;
  user: User;
  ts: number;
  serverId: string;
  clientId?: string;
  /** Set once the author edited the text (ms since the epoch, the accepting server's clock). */
  editedAt?: number;
  /** The author deleted it: `text` is empty and `reactions` gone. */
  deleted?: true;
  /** emoji -> how many users reacted with it and a sample of them; absent: none. */
  reactions?: Record<string, Reaction>;
}

/**
 * One emoji's reactions on a message: `count` users reacted with it, `users` names the most
 * recent of them (at most 10, oldest first), so a message's size does not grow with its audience;
 * `message:reactors` pages them all.
 */
export interface Reaction {
  count: number;
  users: string[];
}

/** The caller's own reactions: message id -> its emoji (join ack and `room:history`). */
export type MyReactions = Record<string, string[]>;

/**
 * A change to a message, in the room's log with a seq of its own (PROTOCOL.md, "Edits,
 * deletions and reactions"): `id` and `targetSeq` name the message, `user` made the change.
 */
export interface Update {
  room: string;
  seq: number;
  id: string;
  targetSeq: number;
  user: User;
  ts: number;
  kind: 'edit' | 'delete' | 'react';
  /** edit: the new text. */
  text?: string;
  /** react: which reaction, and whether the user now has it (true) or took it back. */
  emoji?: string;
  on?: boolean;
  /** react: the emoji's number of reactions once this change applied. */
  count?: number;
}

/** A user's read cursor in a room, as the `read` event and `room:read` give it. */
export interface ReadNotice {
  room: string;
  readSeq: number;
  unread: number;
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

/**
 * One entry of a room's traffic. One envelope type per room key keeps a gateway's delivery path
 * a single switch; `t` is short because every room message carries it.
 */
export type RoomEntry =
  /** `prev`: the seq before this one in the room's counter (0 when it started a new generation). */
  | {
      t: 'message';
      message: Message;
      prev?: number;
      /** The sending socket: the sender's other connections in the room get `read`. */
      origin?: string;
    }
  /** An edit, deletion or reaction: ordered with the room's messages by the same sequencer. */
  | { t: 'update'; update: Update; prev?: number }
  /** A user's cursor moved: the user's connections in the room but `origin` get `read`. */
  | { t: 'read'; read: ReadNotice; user: string; origin?: string }
  | { t: 'presence'; presence: PresenceNotice }
  | { t: 'typing'; typing: TypingNotice };

/**
 * What one broker message on the room keys carries: one entry, or a batch of entries of one or
 * several rooms (a group commit of the publishing process), in the order they were published,
 * routed by every room key it holds (receivers keep the entries of rooms they host; their
 * sequencers put each room's messages in seq order as for separate ones).
 */
export type RoomEnvelope = RoomEntry | { t: 'batch'; items: RoomEntry[] };

/** The room an entry belongs to. */
export function entryRoom(entry: RoomEntry): string {
  switch (entry.t) {
    case 'message':
      return entry.message.room;
    case 'update':
      return entry.update.room;
    case 'read':
      return entry.read.room;
    case 'presence':
      return entry.presence.room;
    case 'typing':
      return entry.typing.room;
  }
}

/** A room's log entry: a message, or an update (which has a `kind`). */
export type LogEntry = Message | Update;

export function isUpdate(entry: LogEntry): entry is Update {
  return 'kind' in entry;
}
