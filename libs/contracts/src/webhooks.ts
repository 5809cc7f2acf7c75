import type { Message, User } from './types';

/** The webhook events (PROTOCOL.md, "Server API and webhooks"). */
export const WebhookType = {
  RoomOccupied: 'room.occupied',
  RoomVacated: 'room.vacated',
  MemberJoined: 'member.joined',
  MemberLeft: 'member.left',
  MessageCreated: 'message.created',
  MemberKicked: 'member.kicked',
  MemberBanned: 'member.banned',
  MemberMuted: 'member.muted',
  UserRevoked: 'user.revoked',
} as const;
export type WebhookType = (typeof WebhookType)[keyof typeof WebhookType];

/** What each event's `data` holds. */
export interface WebhookData {
  'room.occupied': { room: string };
  'room.vacated': { room: string };
  'member.joined': { room: string; user: User };
  'member.left': { room: string; user: User };
  'message.created': { room: string; message: Message };
  /** A kick through the server API (the member.left it causes comes after it). */
  'member.kicked': { room: string; userId: string; reason?: string };
  /** A ban set (PUT; a lift sends none): `until` ms since the epoch, null until lifted. */
  'member.banned': { room: string; userId: string; until: number | null; reason?: string };
  /** A mute set (PUT; a lift sends none), `until` as a ban's. */
  'member.muted': { room: string; userId: string; until: number | null; reason?: string };
  /**
   * The user's tokens issued before `issuedBefore` (ms since the epoch) are refused. No room:
   * `room?: never` only lets a receiver's `data.room` read as undefined, it is never sent.
   */
  'user.revoked': { userId: string; issuedBefore: number; room?: never };
}

/** The JSON body a receiver gets: `id` is the same on every retry, so a repeat can be dropped. */
export type WebhookEvent = {
  [T in WebhookType]: { id: string; type: T; ts: number; data: WebhookData[T] };
}[WebhookType];

/**
 * An event on its way through the broker (routing key `webhook.<room>`): `seq` numbers the
 * room's webhook events in the order Redis applied the changes behind them (each store script
 * takes its numbers in the step it changes the room), and the sender delivers each room's events
 * in that order.
 */
export interface WebhookEnvelope {
  room: string;
  seq: number;
  event: WebhookEvent;
}

/**
 * The envelope `room` of the events of no room (`user.revoked`), with `seq` 0: outside the room
 * names (^[A-Za-z0-9_-]{1,64}$), so it never shares a room's order, and one word of a routing
 * key (no '.', '*' or '#'), so `webhook.*` takes it. The sender passes an event numbered below
 * its "room"'s next at once, so these go unordered, none waiting for another.
 */
export const USER_WEBHOOKS_ROOM = '~users';
