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

/**
 * A message published `mandatory` that no queue was bound to take: the broker returned it
 * (`basic.return`). Nothing consumes its routing key yet (a service not started, or its queue
 * not yet bound), so no answer will come: the caller learns it at once instead of after a timeout.
 */
export class UnroutableError extends Error {
  constructor(readonly routingKey: string) {
    super(`no queue is bound for ${routingKey} (the broker returned it)`);
    this.name = 'UnroutableError';
  }
}

/** The broker nacked a published message: it did not take it (the publish may be retried). */
export function isNack(err: unknown): boolean {
  return err instanceof Error && err.message === 'message nacked';
}

/** A URL as it may be printed: its password, if any, replaced by `***`. */
export const withoutPassword = (url: string): string =>
  url.replace(/^([a-z+]+:\/\/[^:@/]*):[^@/]*@/i, '$1:***@');

/**
 * No URL of the broker answered when connecting (start-up): the message names each URL, without
 * its password, and what it answered when there are several.
 */
export class BrokerUnreachableError extends Error {
  constructor(
    readonly urls: string[],
    readonly answers: string[],
    cause?: unknown,
  ) {
    super(
      urls.length > 1
        ? `cannot reach RabbitMQ at any of ${urls.length} URLs (${urls
            .map((u, i) => `${withoutPassword(u)}: ${answers[i]}`)
            .join('; ')})`
        : `cannot reach RabbitMQ at ${withoutPassword(urls[0] ?? '')}`,
      { cause },
    );
    this.name = 'BrokerUnreachableError';
  }
}
