/**
 * Which of a room's webhook events may be sent now, when some of the room's events are parked
 * (waiting in the wait queue after a failed attempt, or behind one that failed).
 *
 * A room with parked events sends only the oldest of them, and only once its wait is over;
 * every other event of the room (a newer one from the backlog, a parked one coming back before
 * its turn) is parked again, behind. So a failing room never holds a delivery slot while it
 * waits, and its events still go in order: the wait queue hands them back in the order they
 * went in, and the oldest is picked by its number, not by when it came back.
 *
 * After a restart (or a new channel) the parked numbers are not known, and the backlog holds the
 * parked events in the order they last came back, not in their rooms' order: `learn` parks
 * everything until each event that was in the queues has been seen once, so no newer event of a
 * room goes before an older one.
 *
 * Pure and clock-driven (`now` is passed in), so its spec is deterministic.
 */
export class RoomParking {
  /**
   * Per room: the parked events' numbers, each with how many copies (at least once: repeats)
   * and when it was last parked.
   */
  private readonly rooms = new Map<
    string,
    { seqs: Map<number, { copies: number; at: number }>; min: number }
  >();
  /** While learning: when it started, how long at least and at most, what it has seen. */
  private learningState?: {
    start: number;
    minMs: number;
    maxMs: number;
    expected: number;
    seen: Set<string>;
    /** When it last saw an event it had not seen. */
    newAt: number;
  };

  /**
   * @param staleMs A parked event not back after this long is taken as gone (a full backlog
   *   pushed it out into the dead letters): its room goes on without it.
   */
  constructor(private readonly staleMs = Infinity) {}

  /**
   * Parks every event until at least `minMs` passed (each parked event comes back within a park
   * period) and it has seen `expected` different ones (the backlog and wait queue held that many
   * when consuming started) or none it had not seen for `minMs` (repeats make fewer than
   * expected); at most `maxMs`.
   */
  learn(now: number, expected: number, minMs: number, maxMs: number): void {
    this.learningState = { start: now, minMs, maxMs, expected, seen: new Set(), newAt: now };
  }

  /** Whether it is still learning. */
  learning(now: number): boolean {
    const l = this.learningState;
    if (!l) return false;
    const done =
      now >= l.start + l.maxMs ||
      (now >= l.start + l.minMs && (l.seen.size >= l.expected || now >= l.newAt + l.minMs));
    if (done) this.learningState = undefined;
    return !done;
  }

  /** An event left the wait queue (it came back): it is no longer parked. */
  returned(room: string, seq: number): void {
    const state = this.rooms.get(room);
    const entry = state?.seqs.get(seq);
    if (!state || !entry) return;
    if (entry.copies > 1) entry.copies--;
    else this.forget(room, seq);
  }

  /** Whether an event numbered `seq`, not to be tried before `notBefore`, goes now or is parked. */
  decide(room: string, seq: number, notBefore: number, now: number): 'send' | 'park' {
    if (this.learningState) {
      const key = `${seq} ${room}`;
      if (!this.learningState.seen.has(key)) {
        this.learningState.seen.add(key);
        this.learningState.newAt = now;
      }
      if (this.learning(now)) return 'park';
    }
    let state = this.rooms.get(room);
    while (state && state.seqs.get(state.min)!.at < now - this.staleMs) {
      this.forget(room, state.min);
      state = this.rooms.get(room);
    }
    if (state && seq > state.min) return 'park';
    return notBefore > now ? 'park' : 'send';
  }

  /** The event went into the wait queue (the broker confirmed it). */
  parked(room: string, seq: number, now: number): void {
    let state = this.rooms.get(room);
    if (!state) this.rooms.set(room, (state = { seqs: new Map(), min: seq }));
    const entry = state.seqs.get(seq);
    state.seqs.set(seq, { copies: (entry?.copies ?? 0) + 1, at: now });
    state.min = Math.min(state.min, seq);
  }

  /** Events parked, over all rooms. */
  get size(): number {
    let n = 0;
    for (const s of this.rooms.values()) for (const e of s.seqs.values()) n += e.copies;
    return n;
  }

  private forget(room: string, seq: number): void {
    const state = this.rooms.get(room)!;
    state.seqs.delete(seq);
    if (state.seqs.size === 0) this.rooms.delete(room);
    else if (seq === state.min) state.min = smallest(state.seqs.keys());
  }

  /** Rooms with parked events. */
  get roomCount(): number {
    return this.rooms.size;
  }
}

/** The smallest of some numbers (a loop: a spread of 100,000 arguments overflows the stack). */
function smallest(values: Iterable<number>): number {
  let min = Infinity;
  for (const v of values) if (v < min) min = v;
  return min;
}
