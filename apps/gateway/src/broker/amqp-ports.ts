import { AmqpTopicClient, AmqpTopicServer } from '@roomcast/amqp-transport';
import {
  roomRoutingKey,
  type PresenceAnswerMap,
  type PresenceEvent,
  type PresenceEventMap,
  type PresenceRequest,
  type RoomEnvelope,
} from '@roomcast/contracts';
import { PresenceEvents, RoomTraffic } from './ports';

/** Room traffic on the topic exchange: routing key `room.<name>`, bound on this instance's queue. */
export class AmqpRoomTraffic extends RoomTraffic {
  constructor(
    private readonly client: AmqpTopicClient,
    private readonly server: AmqpTopicServer,
  ) {
    super();
  }

  publish(room: string, envelope: RoomEnvelope): Promise<void> {
    return this.client.publishEvent(roomRoutingKey(room), envelope);
  }

  bind(room: string): Promise<void> {
    return this.server.bind(roomRoutingKey(room));
  }

  unbind(room: string): Promise<void> {
    return this.server.unbind(roomRoutingKey(room));
  }
}

/**
 * Presence events on the topic exchange (`presence.*`), on the publisher's one channel; requests
 * are answered by a presence replica through direct reply-to. A sync carries every local socket
 * and is applied socket by socket: it gets `syncTimeoutMs` instead of the usual timeout.
 */
export class AmqpPresenceEvents extends PresenceEvents {
  constructor(
    private readonly client: AmqpTopicClient,
    private readonly timeouts: { requestMs: number; syncMs: number },
  ) {
    super();
  }

  publish<E extends PresenceEvent>(event: E, payload: PresenceEventMap[E]): Promise<void> {
    return this.client.publishEvent(event, payload);
  }

  request<E extends PresenceRequest>(
    event: E,
    payload: PresenceEventMap[E],
  ): Promise<PresenceAnswerMap[E]> {
    const ms = event === 'presence.sync' ? this.timeouts.syncMs : this.timeouts.requestMs;
    return this.client.request<PresenceAnswerMap[E]>(event, payload, ms);
  }
}
