import { AmqpTopicClient } from '@roomcast/amqp-transport';
import { roomRoutingKey, type PresenceNotice, type RoomEnvelope } from '@roomcast/contracts';

/**
 * What the presence service sends out: a room's members told that a user arrived or left for
 * good. The topic exchange implements it; tests use the in-memory one. An abstract class, so
 * that Nest can inject it by type.
 */
export abstract class PresenceOutbox {
  abstract announce(notice: PresenceNotice): Promise<void>;
}

/** On the topic exchange, with the room's key (`room.<name>`). */
export class AmqpPresenceOutbox extends PresenceOutbox {
  constructor(private readonly client: AmqpTopicClient) {
    super();
  }

  announce(notice: PresenceNotice): Promise<void> {
    const envelope: RoomEnvelope = { t: 'presence', presence: notice };
    return this.client.publishEvent(roomRoutingKey(notice.room), envelope);
  }
}

/** In memory, for tests: what was announced, in order. */
export class MemoryPresenceOutbox extends PresenceOutbox {
  readonly notices: PresenceNotice[] = [];

  async announce(notice: PresenceNotice): Promise<void> {
    this.notices.push(notice);
  }
}
