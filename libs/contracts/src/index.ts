export * from './events';
export * from './types';
export * from './errors';
export * from './routing';
export * from './presence-events';
export * from './topic';
export * from './dto';
export * from './validate';
