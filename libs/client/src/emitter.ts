type Listener<T> = (value: T) => void;

/** A small typed event emitter: `on` returns the function that removes the listener. */
export class Emitter<E extends object> {
  private readonly listeners = new Map<keyof E, Set<Listener<never>>>();

  on<K extends keyof E>(event: K, listener: Listener<E[K]>): () => void {
    let set = this.listeners.get(event);
    if (!set) this.listeners.set(event, (set = new Set()));
    set.add(listener as Listener<never>);
    return () => this.off(event, listener);
  }

  off<K extends keyof E>(event: K, listener: Listener<E[K]>): void {
    this.listeners.get(event)?.delete(listener as Listener<never>);
  }

  protected emit<K extends keyof E>(event: K, value: E[K]): void {
    // A copy: a listener that removes itself does not make the next one skip.
    for (const listener of [...(this.listeners.get(event) ?? [])]) {
      try {
        (listener as Listener<E[K]>)(value);
      } catch (err) {
        // An app's listener that throws must not break the SDK's bookkeeping; report it apart.
        setTimeout(() => {
          throw err;
        });
      }
    }
  }
}
