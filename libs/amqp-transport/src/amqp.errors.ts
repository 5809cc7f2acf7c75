/**
 * A named exclusive queue is held by another live connection (RESOURCE_LOCKED): another process
 * runs with the same queue name, or the broker has not yet noticed that our previous connection
 * died.
 */
export class QueueInUseError extends Error {
  constructor(
    readonly queue: string,
    cause?: unknown,
  ) {
    super(`queue ${queue} is held by another live connection (RESOURCE_LOCKED)`, { cause });
    this.name = 'QueueInUseError';
  }
}
