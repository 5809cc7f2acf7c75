import { randomUUID } from 'node:crypto';
import {
  USER_WEBHOOKS_ROOM,
  webhookRoutingKey,
  WebhookType,
  type Message,
  type WebhookData,
  type WebhookEnvelope,
  type WebhookEvent,
} from '@roomcast/contracts';
import type { RoomDeparture } from '@roomcast/store';

/**
 * The webhook events of one membership change, in their room's order: an arrival that occupied
 * the room is `room.occupied` (seq - 1) then `member.joined` (seq); a departure that vacated it is
 * `member.left` (seq) then `room.vacated` (seq + 1). None when the change was not numbered
 * (webhooks off).
 */
export function memberWebhooks(
  change: RoomDeparture,
  kind: 'join' | 'leave',
  ts = Date.now(),
): WebhookEnvelope[] {
  const { room, user, hook } = change;
  if (!hook || hook.seq <= 0) return [];
  const envelope = (seq: number, event: WebhookEnvelope['event']): WebhookEnvelope => ({
    room,
    seq,
    event,
  });
  const id = randomUUID;
  if (kind === 'join') {
    const joined = envelope(hook.seq, {
      id: id(),
      type: WebhookType.MemberJoined,
      ts,
      data: { room, user },
    });
    if (!hook.edge) return [joined];
    const occupied = envelope(hook.seq - 1, {
      id: id(),
      type: WebhookType.RoomOccupied,
      ts,
      data: { room },
    });
    return [occupied, joined];
  }
  const left = envelope(hook.seq, {
    id: id(),
    type: WebhookType.MemberLeft,
    ts,
    data: { room, user },
  });
  if (!hook.edge) return [left];
  return [
    left,
    envelope(hook.seq + 1, { id: id(), type: WebhookType.RoomVacated, ts, data: { room } }),
  ];
}

/** The `message.created` event of an accepted message numbered `seq` among its room's events. */
export function messageWebhook(message: Message, seq: number): WebhookEnvelope {
  return {
    room: message.room,
    seq,
    event: {
      id: randomUUID(),
      type: WebhookType.MessageCreated,
      ts: message.ts,
      data: { room: message.room, message },
    },
  };
}

/** A moderation reason as sent: the key only when there is one. */
const reasonOf = (reason: string | undefined) => (reason === undefined ? {} : { reason });

/** A room event's number: from the room's webhook counter, so at least 1. */
function roomSeq(seq: number): number {
  if (!Number.isInteger(seq) || seq < 1) throw new RangeError(`a room event's seq, not ${seq}`);
  return seq;
}

/** The moderation events of one room, raised by the server API. */
type RoomModeration = 'member.kicked' | 'member.banned' | 'member.muted';

/**
 * A room's moderation event, numbered `seq` among its room's events (taken before the gateways
 * are told, so it comes before the `member.left` a kick or ban causes); `reason` only when given.
 */
export function moderationWebhook<T extends RoomModeration>(
  type: T,
  data: WebhookData[T],
  seq: number,
  ts = Date.now(),
): WebhookEnvelope {
  const { reason, ...rest } = data;
  return {
    room: data.room,
    seq: roomSeq(seq),
    event: { id: randomUUID(), type, ts, data: { ...rest, ...reasonOf(reason) } } as WebhookEvent,
  };
}

/** `member.kicked`: a kick through the server API. */
export const memberKickedWebhook = (
  data: WebhookData['member.kicked'],
  seq: number,
  ts?: number,
): WebhookEnvelope => moderationWebhook('member.kicked', data, seq, ts);

/** `member.banned`: a ban set (`until` null: until lifted). */
export const memberBannedWebhook = (
  data: WebhookData['member.banned'],
  seq: number,
  ts?: number,
): WebhookEnvelope => moderationWebhook('member.banned', data, seq, ts);

/** `member.muted`: a mute set (`until` null: until lifted). */
export const memberMutedWebhook = (
  data: WebhookData['member.muted'],
  seq: number,
  ts?: number,
): WebhookEnvelope => moderationWebhook('member.muted', data, seq, ts);

/**
 * `user.revoked`: of no room, so under USER_WEBHOOKS_ROOM with seq 0, which the sender passes at
 * once (below any "room"'s next): revocations are not ordered with each other or with any room.
 */
export function userRevokedWebhook(
  { userId, issuedBefore }: WebhookData['user.revoked'],
  ts = Date.now(),
): WebhookEnvelope {
  return {
    room: USER_WEBHOOKS_ROOM,
    seq: 0,
    event: {
      id: randomUUID(),
      type: WebhookType.UserRevoked,
      ts,
      data: { userId, issuedBefore },
    },
  };
}

/** Publishes webhook envelopes (in order) and resolves once the broker confirmed them all. */
export type WebhookPublish = (envelopes: WebhookEnvelope[]) => Promise<void>;

/**
 * Webhook envelopes onto the exchange, each with its room's key (`webhook.<room>`), over one
 * publisher: published in order on one channel, so a change's events stay in order.
 */
export function webhookPublisher(
  publishEvent: (routingKey: string, data: unknown) => Promise<void>,
): WebhookPublish {
  return async (envelopes) => {
    await Promise.all(envelopes.map((e) => publishEvent(webhookRoutingKey(e.room), e)));
  };
}
