import type { User } from './types';

export interface ConnectEvent {
  instanceId: string;
  socketId: string;
  user: User;
}
export interface DisconnectEvent {
  instanceId: string;
  socketId: string;
}
export interface RoomEvent {
  instanceId: string;
  socketId: string;
  room: string;
}
/** A join carries the user, so presence can record a connection it lost (swept, Redis emptied). */
export interface JoinEvent extends RoomEvent {
  user: User;
}
/**
 * A gateway's delivery counters since it started (its `/metrics` counters of the same names), as
 * of `at` (ms since the epoch): read by the operations page for rates.
 */
export interface InstanceMetrics {
  /** roomcast_messages_accepted_total */
  accepted: number;
  /** roomcast_broker_deliveries_total */
  deliveries: number;
  /** roomcast_broker_deliveries_unused_total */
  unused: number;
  at: number;
}
/**
 * Liveness, with the gateway's counters: the gateway checks its counts against presence with a
 * `presence.check`.
 */
export interface HeartbeatEvent {
  instanceId: string;
  startedAt: number;
  metrics?: InstanceMetrics;
}
export interface CheckRequest {
  instanceId: string;
}
/** What presence holds for one instance. */
export interface InstanceCounts {
  connections: number;
  memberships: number;
}
export interface GoodbyeEvent {
  instanceId: string;
}

export interface SyncEvent {
  instanceId: string;
  startedAt: number;
  sockets: { socketId: string; user: User; rooms: string[] }[];
}

/** A change of one socket that presence applies and answers (connect, join, leave, disconnect). */
export type SocketChangeEvent =
  'presence.connect' | 'presence.join' | 'presence.leave' | 'presence.disconnect';

/** One socket change in a batch: its event and that event's payload. */
export type BatchedChange = {
  [E in SocketChangeEvent]: { event: E; payload: PresenceEventMap[E] };
}[SocketChangeEvent];

/**
 * Socket changes a gateway sends as one request under load (group commit, as for sends): presence
 * applies each as if it came alone, one socket's changes in the batch's order, and answers once
 * every one is applied.
 */
export interface BatchRequest {
  instanceId: string;
  changes: BatchedChange[];
}

/** Each change's outcome, in the batch's order: null when applied, else why not. */
export interface BatchAnswer {
  results: (null | { error: string })[];
}

/** The payload of each presence event, by routing key. */
export interface PresenceEventMap {
  'presence.connect': ConnectEvent;
  'presence.disconnect': DisconnectEvent;
  'presence.join': JoinEvent;
  'presence.leave': RoomEvent;
  'presence.heartbeat': HeartbeatEvent;
  'presence.goodbye': GoodbyeEvent;
  'presence.sync': SyncEvent;
  'presence.check': CheckRequest;
  'presence.batch': BatchRequest;
}

/**
 * The events a gateway sends as requests: presence answers once the change is in Redis, so a
 * gateway acks a join or leave only when every reader would see it (read-your-writes), and
 * sends a socket's next event only after its last one was applied (so no presence replica can
 * apply one socket's events out of order).
 */
export type PresenceRequest =
  | 'presence.connect'
  | 'presence.join'
  | 'presence.leave'
  | 'presence.disconnect'
  | 'presence.sync'
  | 'presence.check'
  | 'presence.batch';

/** Each request's answer. */
export interface PresenceAnswerMap {
  'presence.connect': null;
  'presence.join': null;
  'presence.leave': null;
  'presence.disconnect': null;
  'presence.sync': null;
  'presence.check': InstanceCounts;
  'presence.batch': BatchAnswer;
}
