import { AmqpTopicClient } from '@roomcast/amqp-transport';
import type { GroupCommitOptions } from '@roomcast/batching';
import { type PresenceNotice, type WebhookEnvelope } from '@roomcast/contracts';
import { RoomFanout, webhookPublisher, type WebhookPublish } from '@roomcast/delivery';

/**
 * What the presence service sends out: a room's members told that a user arrived or left for
 * good. The topic exchange implements it; tests use the in-memory one. An abstract class, so
 * that Nest can inject it by type.
 */
export abstract class PresenceOutbox {
  abstract announce(notice: PresenceNotice): Promise<void>;
  /** Webhook events, in order, to every WEBHOOK_URL's durable queue. */
  abstract webhooks(envelopes: WebhookEnvelope[]): Promise<void>;
}

/** On the topic exchange, with the room's key (`room.<name>`), through the fan-out's group commit. */
export class AmqpPresenceOutbox extends PresenceOutbox {
  private readonly fanout: RoomFanout;

  constructor(
    private readonly client: AmqpTopicClient,
    batching?: GroupCommitOptions,
  ) {
    super();
    this.fanout = new RoomFanout(
      (key, body, options) => client.publishEvent(key, body, options),
      batching,
    );
  }

  announce(notice: PresenceNotice): Promise<void> {
    return this.fanout.publish(notice.room, { t: 'presence', presence: notice });
  }

  private readonly publishWebhooks: WebhookPublish = webhookPublisher((key, data) =>
    this.client.publishEvent(key, data),
  );

  webhooks(envelopes: WebhookEnvelope[]): Promise<void> {
    return this.publishWebhooks(envelopes);
  }
}
