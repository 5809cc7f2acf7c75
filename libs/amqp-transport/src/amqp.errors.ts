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

/**
 * A shared queue exists with another type (or other arguments) than the one asked for, and
 * processes still consume it, so it cannot be replaced: the processes of an earlier version.
 */
export class QueueTypeMismatchError extends Error {
  constructor(
    readonly queue: string,
    readonly wanted: string,
    readonly consumers: number,
    cause?: unknown,
  ) {
    super(
      `queue ${queue} exists with other arguments than a ${wanted} queue's and ${consumers} ` +
        'consumer(s) still read it',
      { cause },
    );
    this.name = 'QueueTypeMismatchError';
  }
}
