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

/**
 * Nacks in a row of publishes to one destination (routing keys sharing their first word, such as
 * `presence.*`) after which the publishing channel is replaced by a fresh one. A quorum queue
 * whose leader died while the channel was being opened can leave that channel's state for the
 * queue stuck: the broker nacks every later publish to the queue on it, while other queues'
 * publishes on the same channel are confirmed. A fresh channel starts that state anew.
 */
export const DEFAULT_REOPEN_AFTER_NACKS = 3;
/** At most one channel replacement per this time, so a queue that nacks by design (a length
 * limit with `reject-publish`) costs a new channel every few seconds, no more. */
export const REOPEN_MIN_INTERVAL_MS = 5000;
/**
 * After a fresh channel and a fresh connection both got nacks, the next try waits this long: a
 * queue that refuses by design costs two replacements per 30 s, and a channel that came up while
 * a quorum queue was still electing its leader (both tries can land in one election) is
 * repaired on the next try instead of never.
 */
export const REOPEN_RETRY_MS = 30_000;
