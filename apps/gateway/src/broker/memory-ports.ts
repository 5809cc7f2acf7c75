import type { PresenceEvent, PresenceEventMap, RoomEnvelope } from '@roomcast/contracts';
import { PresenceEvents, RoomTraffic } from './ports';

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

/** Presence events in memory, for tests: the events in publish order. */
export class MemoryPresenceEvents extends PresenceEvents {
  readonly events: { event: PresenceEvent; payload: unknown }[] = [];

  async publish<E extends PresenceEvent>(event: E, payload: PresenceEventMap[E]): Promise<void> {
    this.events.push({ event, payload });
  }

  /** The payloads of one kind of event. */
  of<E extends PresenceEvent>(event: E): PresenceEventMap[E][] {
    return this.events
      .filter((e) => e.event === event)
      .map((e) => e.payload as PresenceEventMap[E]);
  }
}
