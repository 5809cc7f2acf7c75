import type { Message, RoomEnvelope, SendResult } from '@roomcast/contracts';
import type { RoomHistory } from './room-history';
import { messageWebhook, type WebhookPublish } from './webhook-events';

/** Which dependency a write could not reach: Redis (the append) or the broker (the publish). */
export class WriteUnavailable extends Error {
  constructor(
    readonly dependency: 'Redis' | 'the message broker',
    override readonly cause: unknown,
  ) {
    super(`${dependency} failed: ${(cause as Error)?.message ?? String(cause)}`);
    this.name = 'WriteUnavailable';
  }
}

/** Publishes one envelope on a room's routing key; resolves once the broker confirmed it. */
export type RoomPublish = (room: string, envelope: RoomEnvelope) => Promise<void>;

/**
 * Accepting a message for good, the one code path of a socket's `message:send` (gateway) and of
 * the server publish API (stats): the room's next seq and the history in one script, then the
 * publish on the room's key; it resolves with the ack only once both are done. A retried
 * clientId gets the first send's ack and its message is published again (every member's
 * sequencer drops a repeat), so a send whose first publish was lost is still delivered once.
 *
 * With `webhooks` (WEBHOOK_MESSAGES) the message's `message.created` event is published beside
 * it, and the ack waits for both confirms: an acked message has its event in the broker's durable
 * queues. (A retried clientId publishes no second event: the first send numbered it.)
 */
export class RoomWriter {
  constructor(
    private readonly log: RoomHistory,
    private readonly publish: RoomPublish,
    private readonly webhooks?: WebhookPublish,
  ) {}

  async accept(
    draft: Omit<Message, 'seq'>,
    options: { floorSeq?: number; origin?: string } = {},
  ): Promise<{ ack: SendResult; duplicate: boolean }> {
    const { room } = draft;
    let appended: Awaited<ReturnType<RoomHistory['appendMessage']>>;
    try {
      appended = await this.log.appendMessage(draft, options.floorSeq ?? 0);
    } catch (err) {
      throw new WriteUnavailable('Redis', err);
    }
    const { ack, duplicate, prev, hook } = appended;
    const message = duplicate
      ? await this.log.messageAt(room, ack.seq).catch(() => undefined)
      : { ...draft, seq: ack.seq };
    if (message) {
      const envelope: RoomEnvelope = { t: 'message', message, prev };
      if (options.origin !== undefined) envelope.origin = options.origin;
      try {
        await Promise.all([
          this.publish(room, envelope),
          this.webhooks && hook > 0 && !duplicate
            ? this.webhooks([messageWebhook(message, hook)])
            : undefined,
        ]);
      } catch (err) {
        throw new WriteUnavailable('the message broker', err);
      }
    }
    return { ack, duplicate };
  }
}
