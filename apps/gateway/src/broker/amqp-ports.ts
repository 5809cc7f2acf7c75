import {
  AmqpStatus,
  AmqpTopicClient,
  AmqpTopicServer,
  UnroutableError,
} from '@roomcast/amqp-transport';
import type { GroupCommitOptions } from '@roomcast/batching';
import {
  roomRoutingKey,
  type PresenceAnswerMap,
  type PresenceEvent,
  type PresenceEventMap,
  type PresenceRequest,
  type RoomEnvelope,
  type WebhookEnvelope,
} from '@roomcast/contracts';
import { RoomFanout, webhookPublisher } from '@roomcast/delivery';
import { BrokerLink, NoPresenceReplica, PresenceEvents, RoomTraffic } from './ports';

/**
 * Room traffic on the topic exchange: routing key `room.<name>`, bound on this instance's queue.
 * Publishes go through the fan-out's group commit (RoomFanout): while one broker message awaits
 * its confirm, the next publishes wait and then leave together, of any rooms, as one message
 * routed by all their keys. Each publish resolves once the broker confirmed the message that
 * carries it.
 */
export class AmqpRoomTraffic extends RoomTraffic {
  private readonly fanout: RoomFanout;

  constructor(
    private readonly client: AmqpTopicClient,
    private readonly server: AmqpTopicServer,
    batching?: GroupCommitOptions,
    onPublished?: (entries: number) => void,
  ) {
    super();
    this.fanout = new RoomFanout(
      (key, body, options) => client.publishEvent(key, body, options),
      batching,
      onPublished,
    );
  }

  publish(room: string, envelope: RoomEnvelope): Promise<void> {
    return this.fanout.publish(room, envelope);
  }

  bind(room: string): Promise<void> {
    return this.server.bind(roomRoutingKey(room));
  }

  unbind(room: string): Promise<void> {
    return this.server.unbind(roomRoutingKey(room));
  }

  private readonly webhooks = webhookPublisher((key, data) => this.client.publishEvent(key, data));

  publishWebhooks(envelopes: WebhookEnvelope[]): Promise<void> {
    return this.webhooks(envelopes);
  }
}

/**
 * Presence events on the topic exchange (`presence.*`), on the publisher's one channel; requests
 * are answered by a presence replica through direct reply-to. A sync carries every local socket
 * and is applied socket by socket: it gets `syncTimeoutMs` instead of the usual timeout. Every
 * presence message is published `mandatory`: while no presence replica has bound the presence
 * queue (presence not started yet) the broker returns it and it fails at once with an
 * UnroutableError, instead of being dropped and leaving a request to wait out its timeout.
 */
export class AmqpPresenceEvents extends PresenceEvents {
  constructor(
    private readonly client: AmqpTopicClient,
    private readonly timeouts: { requestMs: number; syncMs: number },
  ) {
    super();
  }

  publish<E extends PresenceEvent>(event: E, payload: PresenceEventMap[E]): Promise<void> {
    return this.client.publishEvent(event, payload, { mandatory: true }).catch(noReplica);
  }

  request<E extends PresenceRequest>(
    event: E,
    payload: PresenceEventMap[E],
  ): Promise<PresenceAnswerMap[E]> {
    const ms = event === 'presence.sync' ? this.timeouts.syncMs : this.timeouts.requestMs;
    return this.client
      .request<PresenceAnswerMap[E]>(event, payload, ms, { mandatory: true })
      .catch(noReplica);
  }
}

/** A returned mandatory presence message: no replica has bound the queue. */
function noReplica(err: unknown): never {
  if (err instanceof UnroutableError) throw new NoPresenceReplica(err.message, err);
  throw err;
}

/** The link's state from the transport: the consuming server's status and the publisher's. */
export class AmqpBrokerLink extends BrokerLink {
  constructor(
    private readonly server: AmqpTopicServer,
    private readonly client: AmqpTopicClient,
  ) {
    super();
  }

  onRestored(listener: () => void): void {
    let wasDown = false;
    this.server.status.subscribe((status) => {
      if (status === AmqpStatus.Disconnected) wasDown = true;
      else if (status === AmqpStatus.Connected && wasDown) {
        wasDown = false;
        listener();
      }
    });
  }

  onPublisherReplaced(listener: (reason: string) => void): void {
    this.client.onReopen(listener);
  }

  get publisherConnected(): boolean {
    return this.client.isConnected;
  }

  get connected(): boolean {
    return this.client.isConnected && this.server.isConnected;
  }
}
