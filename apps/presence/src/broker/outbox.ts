import { AmqpTopicClient } from '@roomcast/amqp-transport';
import type { GroupCommitOptions } from '@roomcast/batching';
import { type PresenceNotice, type WebhookEnvelope } from '@roomcast/contracts';
import {
  RoomFanout,
  ShardedRoomPublisher,
  webhookPublisher,
  type RoomPublisher,
  type WebhookPublish,
} from '@roomcast/delivery';

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

/**
 * On the topic exchange, with the room's key (`room.<name>`), through the fan-out's group commit.
 * With several broker clusters (one client each, in AMQP_URL's order) a room's notices go to its
 * cluster (one group commit per cluster), and webhook events to the first cluster, where the
 * webhook queues are.
 */
export class AmqpPresenceOutbox extends PresenceOutbox {
  private readonly fanout: RoomPublisher;

  constructor(
    clients: AmqpTopicClient | readonly AmqpTopicClient[],
    batching?: GroupCommitOptions,
  ) {
    super();
    const all = Array.isArray(clients) ? clients : [clients as AmqpTopicClient];
    const fanouts = all.map(
      (client) =>
        new RoomFanout((key, body, options) => client.publishEvent(key, body, options), batching),
    );
    this.fanout = fanouts.length === 1 ? fanouts[0] : new ShardedRoomPublisher(fanouts);
    this.home = all[0];
  }

  private readonly home: AmqpTopicClient;

  announce(notice: PresenceNotice): Promise<void> {
    return this.fanout.publish(notice.room, { t: 'presence', presence: notice });
  }

  private readonly publishWebhooks: WebhookPublish = webhookPublisher((key, data) =>
    this.home.publishEvent(key, data),
  );

  webhooks(envelopes: WebhookEnvelope[]): Promise<void> {
    return this.publishWebhooks(envelopes);
  }
}
