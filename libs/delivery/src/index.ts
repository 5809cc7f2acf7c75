export * from './room-writer';
export * from './room-fanout';
export * from './webhook-events';
export * from './webhook-queues';
export * from './names';
export * from './webhook-signature';
export * from './sharded-publisher';
