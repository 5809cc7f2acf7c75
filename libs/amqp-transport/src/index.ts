export * from './amqp.constants';
export * from './amqp.interfaces';
export * from './amqp.errors';
export * from './amqp.context';
export * from './amqp-topic.server';
export * from './amqp-topic.client';
export * from './amqp-queue.probe';
export { openConnection, probeBroker } from './connection';
export { queueMessageCounts } from './queue-counts';
