export const AmqpStatus = {
  Connected: 'connected',
  Disconnected: 'disconnected',
} as const;
export type AmqpStatus = (typeof AmqpStatus)[keyof typeof AmqpStatus];

export const DEFAULT_CONNECT_TIMEOUT_MS = 5000;
export const DEFAULT_PUBLISH_TIMEOUT_MS = 5000;
export const DEFAULT_HEARTBEAT_SECONDS = 5;
export const DEFAULT_RECONNECT_SECONDS = 1;
/**
 * The wait before the next attempt when the URLs are a cluster's nodes: a lost link is retried on
 * the next node, which is most likely up, so a moment is enough (4 attempts a second at most
 * while every node is down).
 */
export const CLUSTER_RECONNECT_SECONDS = 0.25;
export const DEFAULT_REQUEST_TIMEOUT_MS = 5000;
/** RabbitMQ's pseudo-queue for replies straight to the requesting channel. */
export const DIRECT_REPLY_QUEUE = 'amq.rabbitmq.reply-to';

/** AMQP reply codes roomcast acts on (the broker closes the channel with them). */
export const AmqpReplyCode = {
  NotFound: 404,
  ResourceLocked: 405,
  PreconditionFailed: 406,
} as const;

/** The reply code of a failed AMQP operation, when the broker gave one. */
export function amqpReplyCode(err: unknown): number | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'number' ? code : undefined;
}

/** Retry delay after a queue could not be declared again on a reconnect. */
export const REDECLARE_RETRY_MS = 1000;
