export * from './load-config';
export * from './common.env';
export * from './bootstrap';
export * from './room-rules';
