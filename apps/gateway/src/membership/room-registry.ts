/** What the registry needs from the broker: one binding per room. */
export interface RoomBinder {
  bind(room: string): Promise<void>;
  unbind(room: string): Promise<void>;
}

/**
 * This instance's local room membership, and the broker bindings that follow it: bound while
 * the room has a local member, unbound `lingerMs` after the last one leaves (UNBIND_LINGER_MS),
 * unless a member came back meanwhile: a reconnect or a tab switch then costs no broker
 * operation, and a room's traffic while it lingers is unused work. Changes to one room's binding
 * run one after another and each re-reads the membership when it runs, so any interleaving of
 * joins and leaves ends bound exactly when a member is present (or lingering).
 */
export class RoomRegistry {
  private readonly members = new Map<string, Set<string>>();
  private readonly bound = new Set<string>();
  private readonly pending = new Map<string, Promise<void>>();
  /** Rooms without local members whose unbind waits for the linger to end. */
  private readonly lingering = new Map<string, NodeJS.Timeout>();

  constructor(
    private readonly binder: RoomBinder,
    private readonly lingerMs = 0,
  ) {}

  /** Adds a member; resolves once the room is bound. */
  add(room: string, socketId: string): Promise<void> {
    let set = this.members.get(room);
    if (!set) this.members.set(room, (set = new Set()));
    set.add(socketId);
    this.stopLinger(room);
    return this.reconcile(room);
  }

  /**
   * Removes a member; resolves once the room is unbound if it was the last (at once when it
   * lingers: the unbind comes later, or never if a member comes back).
   */
  remove(room: string, socketId: string): Promise<void> {
    const set = this.members.get(room);
    if (!set?.delete(socketId)) return this.pending.get(room) ?? Promise.resolve();
    if (set.size === 0) this.members.delete(room);
    if (set.size === 0 && this.lingerMs > 0) {
      this.stopLinger(room);
      const timer = setTimeout(() => {
        this.lingering.delete(room);
        void this.reconcile(room).catch(() => undefined);
      }, this.lingerMs);
      timer.unref();
      this.lingering.set(room, timer);
      return this.pending.get(room) ?? Promise.resolve();
    }
    return this.reconcile(room);
  }

  /** Whether the room has a local member. */
  has(room: string): boolean {
    return this.members.has(room);
  }

  /** Whether the room's traffic reaches this instance: it has a member, or it lingers. */
  isBound(room: string): boolean {
    return this.members.has(room) || this.lingering.has(room);
  }

  /** Rooms bound without a local member, waiting for their unbind. */
  get lingeringCount(): number {
    return this.lingering.size;
  }

  private stopLinger(room: string): void {
    const timer = this.lingering.get(room);
    if (timer === undefined) return;
    clearTimeout(timer);
    this.lingering.delete(room);
  }

  rooms(): IterableIterator<string> {
    return this.members.keys();
  }

  private reconcile(room: string): Promise<void> {
    const previous = this.pending.get(room) ?? Promise.resolve();
    const next = previous
      .catch(() => undefined)
      .then(async () => {
        const wanted = this.members.has(room) || this.lingering.has(room);
        if (wanted && !this.bound.has(room)) {
          await this.binder.bind(room);
          this.bound.add(room);
        } else if (!wanted && this.bound.has(room)) {
          await this.binder.unbind(room);
          this.bound.delete(room);
        }
      });
    this.pending.set(room, next);
    void next
      .finally(() => {
        if (this.pending.get(room) === next) this.pending.delete(room);
      })
      .catch(() => undefined);
    return next;
  }
}
