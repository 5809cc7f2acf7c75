/** What the registry needs from the broker: one binding per room. */
export interface RoomBinder {
  bind(room: string): Promise<void>;
  unbind(room: string): Promise<void>;
}

/**
 * This instance's local room membership, and the broker bindings that follow it: bound while
 * the room has a local member, unbound after the last one leaves. Changes to one room's binding
 * run one after another and each re-reads the membership when it runs, so any interleaving of
 * joins and leaves ends bound exactly when a member is present.
 */
export class RoomRegistry {
  private readonly members = new Map<string, Set<string>>();
  private readonly bound = new Set<string>();
  private readonly pending = new Map<string, Promise<void>>();

  constructor(private readonly binder: RoomBinder) {}

  /** Adds a member; resolves once the room is bound. */
  add(room: string, socketId: string): Promise<void> {
    let set = this.members.get(room);
    if (!set) this.members.set(room, (set = new Set()));
    set.add(socketId);
    return this.reconcile(room);
  }

  /** Removes a member; resolves once the room is unbound if it was the last. */
  remove(room: string, socketId: string): Promise<void> {
    const set = this.members.get(room);
    if (!set?.delete(socketId)) return this.pending.get(room) ?? Promise.resolve();
    if (set.size === 0) this.members.delete(room);
    return this.reconcile(room);
  }

  has(room: string): boolean {
    return this.members.has(room);
  }

  rooms(): IterableIterator<string> {
    return this.members.keys();
  }

  private reconcile(room: string): Promise<void> {
    const previous = this.pending.get(room) ?? Promise.resolve();
    const next = previous
      .catch(() => undefined)
      .then(async () => {
        const wanted = this.members.has(room);
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
