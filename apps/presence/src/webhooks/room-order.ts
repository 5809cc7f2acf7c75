/**
 * Puts each room's webhook events back in their order before they are sent. Events are numbered
 * per room in the Redis step that made them (lua/_hooks.lua), but published by several processes
 * (presence replicas, gateways), so two of a room can reach the queue in the wrong order. An
 * event whose predecessor has not come yet waits for it up to `waitMs`; then it goes without it
 * (the predecessor's publisher died between the step and the publish, or it is stuck behind the
 * prefetch window), and a predecessor that turns up later still goes: at least once comes before
 * order. A room seen for the first time (or again after `idleMs` without events) starts at the
 * first event that arrives: after a restart the queue hands back what was not acknowledged, in
 * queue order.
 *
 * Pure and clock-driven (`now` is passed in), so its spec is deterministic.
 */
export class RoomOrder<T> {
  private readonly rooms = new Map<string, RoomState<T>>();

  constructor(
    private readonly waitMs: number,
    private readonly idleMs: number,
  ) {}

  /** Takes an event; returns the events of its room now ready to go, in order. */
  push(room: string, seq: number, item: T, now: number): T[] {
    let state = this.rooms.get(room);
    if (!state) this.rooms.set(room, (state = { next: seq, held: new Map(), seenAt: now }));
    state.seenAt = now;
    if (seq < state.next) return [item];
    if (seq > state.next) {
      if (!state.held.has(seq)) state.held.set(seq, { item, since: now });
      return [];
    }
    state.next = seq + 1;
    return [item, ...this.release(state)];
  }

  /** Events whose wait is over, by room, each room's in order; forgets idle rooms. */
  expire(now: number): T[] {
    const out: T[] = [];
    for (const [room, state] of this.rooms) {
      if (state.held.size === 0) {
        if (now - state.seenAt >= this.idleMs) this.rooms.delete(room);
        continue;
      }
      const first = Math.min(...state.held.keys());
      if (now - state.held.get(first)!.since < this.waitMs) continue;
      state.next = first;
      out.push(...this.release(state));
    }
    return out;
  }

  /** Forgets everything (the channel closed: the broker hands the events out again). */
  clear(): void {
    this.rooms.clear();
  }

  /** Events held, over all rooms. */
  get held(): number {
    let n = 0;
    for (const s of this.rooms.values()) n += s.held.size;
    return n;
  }

  private release(state: RoomState<T>): T[] {
    const out: T[] = [];
    for (let h = state.held.get(state.next); h; h = state.held.get(state.next)) {
      state.held.delete(state.next);
      out.push(h.item);
      state.next++;
    }
    return out;
  }
}

interface RoomState<T> {
  /** The number of the room's next event to send. */
  next: number;
  /** Events that came before their predecessor, by number. */
  held: Map<number, { item: T; since: number }>;
  seenAt: number;
}
