import { AmqpTopicClient, AmqpTopicServer } from '@roomcast/amqp-transport';
import {
  roomRoutingKey,
  type PresenceAnswerMap,
  type PresenceEvent,
  type PresenceEventMap,
  type PresenceRequest,
  type RoomEnvelope,
  type WebhookEnvelope,
} from '@roomcast/contracts';
import { webhookPublisher } from '@roomcast/presence-store';
import { PresenceEvents, RoomTraffic } from './ports';

interface Pending {
  envelopes: RoomEnvelope[];
  settle: { resolve: () => void; reject: (err: unknown) => void }[];
}

/**
 * Room traffic on the topic exchange: routing key `room.<name>`, bound on this instance's queue.
 * Publishes made in one event-loop turn leave together when the turn's I/O callbacks are done
 * (setImmediate): a room's several envelopes as one broker message (`t: 'batch'`), so a busy
 * room costs the broker and every receiver one message instead of several, and all of the
 * turn's messages in one socket write (amqplib writes a channel's frames once per turn). A lone
 * publish waits for nothing but the end of the callback that made it. Each publish resolves
 * once the broker confirmed the message that carries it.
 */
export class AmqpRoomTraffic extends RoomTraffic {
  private pending = new Map<string, Pending>();
  private scheduled = false;

  constructor(
    private readonly client: AmqpTopicClient,
    private readonly server: AmqpTopicServer,
  ) {
    super();
  }

  publish(room: string, envelope: RoomEnvelope): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      let p = this.pending.get(room);
      if (!p) this.pending.set(room, (p = { envelopes: [], settle: [] }));
      p.envelopes.push(envelope);
      p.settle.push({ resolve, reject });
      if (this.scheduled) return;
      this.scheduled = true;
      setImmediate(() => this.flush());
    });
  }

  private flush(): void {
    const rooms = this.pending;
    this.pending = new Map();
    this.scheduled = false;
    for (const [room, { envelopes, settle }] of rooms) {
      const body: RoomEnvelope =
        envelopes.length === 1 ? envelopes[0] : { t: 'batch', room, items: envelopes };
      this.client.publishEvent(roomRoutingKey(room), body).then(
        () => settle.forEach((s) => s.resolve()),
        (err: unknown) => settle.forEach((s) => s.reject(err)),
      );
    }
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
    return this.client.publishEvent(event, payload, { mandatory: true });
  }

  request<E extends PresenceRequest>(
    event: E,
    payload: PresenceEventMap[E],
  ): Promise<PresenceAnswerMap[E]> {
    const ms = event === 'presence.sync' ? this.timeouts.syncMs : this.timeouts.requestMs;
    return this.client.request<PresenceAnswerMap[E]>(event, payload, ms, { mandatory: true });
  }
}
