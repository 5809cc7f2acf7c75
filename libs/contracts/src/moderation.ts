/**
 * What the server API tells the gateways that hold a user's connections (routing key
 * `gateway.<instanceId>`, one message with the others in BCC), after it wrote the state that
 * must outlive a gateway to Redis: the gateways apply it to their local connections at once.
 */
export type ModerationNotice =
  /** Every connection of the user leaves the room (as room:leave) and gets room:removed. */
  | { t: 'remove'; room: string; userId: string; reason: 'kicked' | 'banned' }
  /** The user's sends, edits and reactions in the room refused until `until` (null: lifted). */
  | { t: 'mute'; room: string; userId: string; until: number | null }
  /** Every connection of the user gets session:end `revoked` (retry: false) and is closed. */
  | { t: 'disconnect'; userId: string }
  /** The user's connections whose token was issued before `issuedBefore` end as disconnect's. */
  | { t: 'revoke'; userId: string; issuedBefore: number };

const GATEWAY_KEY_PREFIX = 'gateway.';

/** The routing key only the gateway `instanceId` binds (its queue, from its start). */
export function gatewayRoutingKey(instanceId: string): string {
  return `${GATEWAY_KEY_PREFIX}${instanceId}`;
}

/** What a gateway's handler of its own key listens to (an instance id may hold dots). */
export const GATEWAY_KEY_PATTERN = `${GATEWAY_KEY_PREFIX}#`;

/** A user id as tokens carry it (`sub`): 1-128 characters, no control characters. */
export function isValidUserId(id: unknown): id is string {
  return typeof id === 'string' && id.length >= 1 && id.length <= 128 && !/\p{Cc}/u.test(id);
}
