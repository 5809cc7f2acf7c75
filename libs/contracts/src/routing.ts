/** Room names are used inside AMQP routing keys, so `.`, `*` and `#` must never get in. */
export const ROOM_NAME_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
export const PRIVATE_ROOM_PREFIX = 'private-';

export function isValidRoomName(room: unknown): room is string {
  return typeof room === 'string' && ROOM_NAME_PATTERN.test(room);
}

export function isPrivateRoom(room: string): boolean {
  return room.startsWith(PRIVATE_ROOM_PREFIX);
}

const ROOM_KEY_PREFIX = 'room.';

/** The routing key of a room's traffic on the `chat_events` exchange. */
export function roomRoutingKey(room: string): string {
  return ROOM_KEY_PREFIX + room;
}

/** The topic pattern that matches every room key. */
export const ALL_ROOMS_PATTERN = `${ROOM_KEY_PREFIX}*`;

/** Routing keys of the events gateways publish for the presence service. */
export const PresenceEvent = {
  Connect: 'presence.connect',
  Disconnect: 'presence.disconnect',
  Join: 'presence.join',
  Leave: 'presence.leave',
  Heartbeat: 'presence.heartbeat',
  Goodbye: 'presence.goodbye',
  /** A gateway's full local state, after its broker link came back or when counts differ. */
  Sync: 'presence.sync',
  /** What presence holds for a gateway, which compares it with its own counts. */
  Check: 'presence.check',
  /** Several socket changes at once (BatchRequest), under load. */
  Batch: 'presence.batch',
} as const;
export type PresenceEvent = (typeof PresenceEvent)[keyof typeof PresenceEvent];
export const ALL_PRESENCE_PATTERN = 'presence.#';

/**
 * The local Socket.IO room of a chat room. Socket.IO puts each socket in a room named by its id,
 * which a chat room name could equal: chat rooms live under `chat:` so the two never meet.
 */
export function chatSocketRoom(room: string): string {
  return `chat:${room}`;
}

/** The local Socket.IO room that holds every socket of one user (`:` never occurs in chat rooms). */
export function userSocketRoom(userId: string): string {
  return `user:${userId}`;
}

/**
 * The queue of one gateway instance: exclusive and auto-delete, so it exists exactly while that
 * instance's broker connection does, and presence can ask the broker whether the instance lives.
 * The name is fixed by the instance id (not server-named), so a second process started with the
 * same INSTANCE_ID is refused by the broker (RESOURCE_LOCKED) instead of sharing the queue.
 * Instance ids match `^[A-Za-z0-9_-]{1,64}$` and the exchange `^[A-Za-z0-9_.:-]{1,180}$`, so
 * the name is a legal AMQP queue name within its 255-byte limit (and never starts with `amq.`,
 * which the broker reserves: such an exchange could not be declared either).
 */
export function gatewayQueueName(exchange: string, instanceId: string): string {
  return `${exchange}.gateway.${instanceId}`;
}

const WEBHOOK_KEY_PREFIX = 'webhook.';

/**
 * The routing key of a room's webhook events on the exchange (`webhook.<room>`): gateways bind
 * `room.<name>` and presence `presence.#`, so neither receives them; each webhook URL's durable
 * queue binds `webhook.*`.
 */
export function webhookRoutingKey(room: string): string {
  return WEBHOOK_KEY_PREFIX + room;
}

/** The topic pattern that matches every room's webhook events. */
export const ALL_WEBHOOKS_PATTERN = `${WEBHOOK_KEY_PREFIX}*`;
