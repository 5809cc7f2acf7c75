import { randomUUID } from 'node:crypto';
import {
  webhookRoutingKey,
  WebhookType,
  type Message,
  type WebhookEnvelope,
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
