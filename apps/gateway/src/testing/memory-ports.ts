import type {
  InstanceCounts,
  PresenceAnswerMap,
  PresenceEvent,
  PresenceEventMap,
  PresenceRequest,
  RoomEnvelope,
  WebhookEnvelope,
} from '@roomcast/contracts';
import { PresenceEvents, RoomTraffic } from '../broker/ports';

/**
 * Room traffic in memory, for tests: records what was published and which rooms are bound, and
 * hands each publish to `deliver` when the room is bound (as the broker would to our queue).
 * `failNext` makes the next call of that kind reject, as a broker that went away would.
 */
export class MemoryRoomTraffic extends RoomTraffic {
  readonly published: { room: string; envelope: RoomEnvelope }[] = [];
  readonly bound = new Set<string>();
  readonly failNext = { publish: false, bind: false, unbind: false };
  deliver?: (envelope: RoomEnvelope) => void;

  async publish(room: string, envelope: RoomEnvelope): Promise<void> {
    this.fail('publish');
    this.published.push({ room, envelope });
    if (this.bound.has(room)) this.deliver?.(envelope);
  }

  async bind(room: string): Promise<void> {
    this.fail('bind');
    this.bound.add(room);
  }

  readonly webhooks: WebhookEnvelope[] = [];

  async publishWebhooks(envelopes: WebhookEnvelope[]): Promise<void> {
    this.fail('publish');
    this.webhooks.push(...envelopes);
  }

  async unbind(room: string): Promise<void> {
    this.fail('unbind');
    this.bound.delete(room);
  }

  private fail(kind: keyof MemoryRoomTraffic['failNext']): void {
    if (!this.failNext[kind]) return;
    this.failNext[kind] = false;
    throw new Error(`${kind} failed (test)`);
  }
}

/**
 * Presence events and requests in memory, for tests: in the order sent. A request is answered at
 * once (a check with `counts`); `failRequests` makes the next N requests fail, as a presence
 * that does not answer would.
 */
export class MemoryPresenceEvents extends PresenceEvents {
  readonly events: { event: PresenceEvent; payload: unknown }[] = [];
  counts: InstanceCounts = { connections: 0, memberships: 0 };
  failRequests = 0;

  async publish<E extends PresenceEvent>(event: E, payload: PresenceEventMap[E]): Promise<void> {
    this.events.push({ event, payload });
  }

  async request<E extends PresenceRequest>(
    event: E,
    payload: PresenceEventMap[E],
  ): Promise<PresenceAnswerMap[E]> {
    if (this.failRequests > 0) {
      this.failRequests--;
      throw new Error(`no answer to ${event} (test)`);
    }
    if (event === 'presence.batch') {
      // A batch is kept as its changes, each in its place, all applied.
      const { changes } = payload as PresenceEventMap['presence.batch'];
      for (const c of changes) this.events.push(c);
      return { results: changes.map(() => null) } as PresenceAnswerMap[E];
    }
    this.events.push({ event, payload });
    return (event === 'presence.check' ? { ...this.counts } : null) as PresenceAnswerMap[E];
  }

  /** The payloads of one kind of event. */
  of<E extends PresenceEvent>(event: E): PresenceEventMap[E][] {
    return this.events
      .filter((e) => e.event === event)
      .map((e) => e.payload as PresenceEventMap[E]);
  }
}
