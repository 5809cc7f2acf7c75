export const AmqpStatus = {
  Connected: 'connected',
  Disconnected: 'disconnected',
} as const;
export type AmqpStatus = (typeof AmqpStatus)[keyof typeof AmqpStatus];

export const DEFAULT_CONNECT_TIMEOUT_MS = 5000;
export const DEFAULT_PUBLISH_TIMEOUT_MS = 5000;
export const DEFAULT_HEARTBEAT_SECONDS = 5;
export const DEFAULT_RECONNECT_SECONDS = 1;
export const DEFAULT_REQUEST_TIMEOUT_MS = 5000;
/** RabbitMQ's pseudo-queue for replies straight to the requesting channel. */
export const DIRECT_REPLY_QUEUE = 'amq.rabbitmq.reply-to';
