export * from './keys';
export * from './presence.store';
export * from './presence.queries';
export * from './room-history';
export * from './redis';
export * from './presence-store.module';
export * from './migration';
export * from './read-cursors';
