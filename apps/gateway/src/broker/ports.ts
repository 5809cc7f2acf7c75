import type {
  PresenceAnswerMap,
  PresenceEvent,
  PresenceEventMap,
  PresenceRequest,
  RoomEnvelope,
  WebhookEnvelope,
} from '@roomcast/contracts';

/**
 * A room's traffic between gateways: what this instance publishes to a room, and which rooms'
 * traffic it receives. The AMQP topic exchange implements it (one routing key per room, bound
 * on this instance's queue); tests use the in-memory one. Abstract classes, so that Nest can
 * inject them by type.
 */
export abstract class RoomTraffic {
  /** Resolves once the room's traffic has it for good (the broker confirmed it). */
  abstract publish(room: string, envelope: RoomEnvelope): Promise<void>;
  /** Starts receiving the room's traffic; resolves once every later publish will reach us. */
  abstract bind(room: string): Promise<void>;
  abstract unbind(room: string): Promise<void>;
  /** Webhook events (`message.created`), in order; resolves once the broker has them all. */
  abstract publishWebhooks(envelopes: WebhookEnvelope[]): Promise<void>;
  /**
   * Whether the room's broker is connected now (with several clusters, the room's one): a join
   * of a room already bound here makes no broker call, so it asks this first.
   */
  reaches(_room: string): boolean {
    return true;
  }
}

/** What this instance tells the presence service, in the order it tells it. */
export abstract class PresenceEvents {
  /** An event presence applies some time later (a heartbeat, a goodbye). */
  abstract publish<E extends PresenceEvent>(event: E, payload: PresenceEventMap[E]): Promise<void>;
  /** A change presence has applied when this resolves, with presence's answer. */
  abstract request<E extends PresenceRequest>(
    event: E,
    payload: PresenceEventMap[E],
  ): Promise<PresenceAnswerMap[E]>;
}

/**
 * A presence event no presence replica could take: none has bound the presence queue yet
 * (presence not started). Fails at once, instead of being dropped.
 */
export class NoPresenceReplica extends Error {
  constructor(message: string, cause?: unknown) {
    super(message, { cause });
    this.name = 'NoPresenceReplica';
  }
}

/** The state of this instance's broker link, for recovery and readiness. */
export abstract class BrokerLink {
  /** Calls `listener` each time the link comes back after a loss (queue and bindings restored). */
  abstract onRestored(listener: () => void): void;
  /** Calls `listener` when the publisher replaced a channel the broker kept failing. */
  abstract onPublisherReplaced(listener: (reason: string) => void): void;
  /** The publishing side is connected. */
  abstract get publisherConnected(): boolean;
  /** Both sides (this instance's queue, and publishing) are connected. */
  abstract get connected(): boolean;
}
