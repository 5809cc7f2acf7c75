import { AmqpTopicClient } from '@roomcast/amqp-transport';
import {
  instanceRoutingKey,
  roomRoutingKey,
  type PresenceNotice,
  type RoomEnvelope,
} from '@roomcast/contracts';

/**
 * What the presence service sends out: a room's members told that a user arrived or left for
 * good, and a gateway asked for its full state. The topic exchange implements it; tests use the
 * in-memory one. An abstract class, so that Nest can inject it by type.
 */
export abstract class PresenceOutbox {
  abstract announce(notice: PresenceNotice): Promise<void>;
  abstract requestSync(instanceId: string): Promise<void>;
}

/** On the topic exchange: the room's key (`room.<name>`) and the instance's (`instance.<id>`). */
export class AmqpPresenceOutbox extends PresenceOutbox {
  constructor(private readonly client: AmqpTopicClient) {
    super();
  }

  announce(notice: PresenceNotice): Promise<void> {
    const envelope: RoomEnvelope = { t: 'presence', presence: notice };
    return this.client.publishEvent(roomRoutingKey(notice.room), envelope);
  }

  requestSync(instanceId: string): Promise<void> {
    return this.client.publishEvent(instanceRoutingKey(instanceId), { t: 'sync' });
  }
}

/** In memory, for tests: what was announced and which instances were asked, in order. */
export class MemoryPresenceOutbox extends PresenceOutbox {
  readonly notices: PresenceNotice[] = [];
  readonly syncRequests: string[] = [];

  async announce(notice: PresenceNotice): Promise<void> {
    this.notices.push(notice);
  }

  async requestSync(instanceId: string): Promise<void> {
    this.syncRequests.push(instanceId);
  }
}
