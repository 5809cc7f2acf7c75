export { createClient, Client } from './client';
export type { ClientOptions, ClientState, ClientEvents, ClientSnapshot } from './client';
export { Room } from './room';
export type { RoomEvents, RoomSnapshot, RoomStatus, ResetNotice } from './room';
export type { RoomMessage } from './room-state';
export { RoomcastError } from './errors';
export { memoryStorage, indexedDbStorage } from './outbox';
export type { Op, OutboxStorage } from './outbox';
export type * from './protocol';
