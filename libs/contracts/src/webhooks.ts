import type { Message, User } from './types';

/** The webhook events (PROTOCOL.md, "Server API and webhooks"). */
export const WebhookType = {
  RoomOccupied: 'room.occupied',
  RoomVacated: 'room.vacated',
  MemberJoined: 'member.joined',
  MemberLeft: 'member.left',
  MessageCreated: 'message.created',
} as const;
export type WebhookType = (typeof WebhookType)[keyof typeof WebhookType];

/** What each event's `data` holds. */
export interface WebhookData {
  'room.occupied': { room: string };
  'room.vacated': { room: string };
  'member.joined': { room: string; user: User };
  'member.left': { room: string; user: User };
  'message.created': { room: string; message: Message };
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
