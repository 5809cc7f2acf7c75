import type { LogEntry } from '@roomcast/contracts';

export interface SequencerDeps {
  /**
   * Delivers one entry of the room's log (a message or an update) to the room's local sockets;
   * called in strictly increasing seq.
   */
  emit(entry: LogEntry): void;
  /** The room's last assigned seq. */
  currentSeq(room: string): Promise<number>;
  /** Retained entries (messages and updates) with afterSeq < seq < beforeSeq, oldest first. */
  fetch(room: string, afterSeq: number, beforeSeq: number): Promise<LogEntry[]>;
  /** How long a gap may stay open before it is filled from history. */
  gapMs: number;
  onDuplicate?(): void;
  onGapFilled?(count: number): void;
}

interface RoomOrder {
  /** The next seq to emit; undefined until the room's current seq has been read. */
  expected?: number;
  pending: Map<number, LogEntry>;
  timer?: NodeJS.Timeout;
}

/**
 * Puts each room's log (messages, and the updates that share their seqs) back into seq order on this instance. Senders on different gateways
 * publish concurrently, so the broker may hand us seq N+2 before N+1: N+2 is held until N+1
 * arrives, or filled from history after `gapMs`. Messages already emitted (a retried clientId
 * republished, a redelivery) are dropped, so every local member gets each seq exactly once.
 */
export class RoomSequencer {
  private readonly rooms = new Map<string, RoomOrder>();

  constructor(private readonly deps: SequencerDeps) {}

  /** Starts ordering a room that just got its first local member: from the current seq on. */
  async start(room: string): Promise<void> {
    const order = this.state(room);
    if (order.expected !== undefined) return;
    const current = await this.deps.currentSeq(room);
    if (order.expected === undefined) order.expected = current + 1;
    this.drain(room, order);
  }

  /** Forgets a room that has no local member any more. */
  stop(room: string): void {
    const order = this.rooms.get(room);
    if (order?.timer) clearTimeout(order.timer);
    this.rooms.delete(room);
  }

  /** The last seq emitted in the room (0 when unknown). */
  lastSeq(room: string): number {
    const expected = this.rooms.get(room)?.expected;
    return expected === undefined ? 0 : expected - 1;
  }

  /**
   * `prev` is the seq before this one in the room's counter (seq - 1 unless the counter started a
   * new generation: a new room, or one Redis lost). A message whose `prev` was already emitted
   * is next even when its seq jumps, so a new generation needs no wait for a gap fill.
   */
  accept(message: LogEntry, prev = message.seq - 1): void {
    const order = this.state(message.room);
    if (order.expected !== undefined && message.seq < order.expected) {
      this.deps.onDuplicate?.();
      return;
    }
    if (
      order.expected !== undefined &&
      prev < order.expected &&
      (order.pending.size === 0 || [...order.pending.keys()].every((seq) => seq > message.seq))
    ) {
      order.expected = message.seq;
    }
    order.pending.set(message.seq, message);
    this.drain(message.room, order);
  }

  /** After a lost broker link: emits from history whatever was accepted meanwhile. */
  async catchUp(room: string): Promise<void> {
    const order = this.rooms.get(room);
    if (order?.expected === undefined) return;
    const current = await this.deps.currentSeq(room);
    if (current >= order.expected) await this.fill(room, order, current + 1);
  }

  private state(room: string): RoomOrder {
    let order = this.rooms.get(room);
    if (!order) this.rooms.set(room, (order = { pending: new Map() }));
    return order;
  }

  private drain(room: string, order: RoomOrder): void {
    if (order.expected === undefined) return;
    for (const seq of order.pending.keys()) {
      if (seq < order.expected) {
        order.pending.delete(seq);
        this.deps.onDuplicate?.();
      }
    }
    let next = order.pending.get(order.expected);
    while (next) {
      order.pending.delete(order.expected);
      this.deps.emit(next);
      order.expected++;
      next = order.pending.get(order.expected);
    }
    if (order.pending.size === 0) {
      if (order.timer) clearTimeout(order.timer);
      order.timer = undefined;
    } else if (!order.timer) {
      order.timer = setTimeout(() => {
        order.timer = undefined;
        void this.fill(room, order, Math.min(...order.pending.keys()));
      }, this.deps.gapMs);
      order.timer.unref();
    }
  }

  /** Emits the retained messages before `upTo` that are missing, then what was held. */
  private async fill(room: string, order: RoomOrder, upTo: number): Promise<void> {
    if (order.expected === undefined || this.rooms.get(room) !== order) return;
    let found: LogEntry[];
    try {
      found = await this.deps.fetch(room, order.expected - 1, upTo);
    } catch {
      // History unreachable: try again later rather than skip what may still be fetched.
      this.drain(room, order);
      return;
    }
    if (this.rooms.get(room) !== order) return;
    for (const m of found) if (m.seq >= order.expected) order.pending.set(m.seq, m);
    this.deps.onGapFilled?.(found.length);
    this.drain(room, order);
    // What history no longer holds cannot be delivered: move past it.
    if (order.pending.size > 0 && !order.pending.has(order.expected!)) {
      const lowest = Math.min(...order.pending.keys());
      if (lowest <= upTo) {
        order.expected = lowest;
        this.drain(room, order);
      }
    }
  }
}
