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
export interface HeartbeatEvent {
  instanceId: string;
  startedAt: number;
  connections: number;
  rooms: number;
  /** Room memberships of all its connections (absent from gateways older than this field). */
  memberships?: number;
}
export interface GoodbyeEvent {
  instanceId: string;
}

export interface SyncEvent {
  instanceId: string;
  startedAt: number;
  sockets: { socketId: string; user: User; rooms: string[] }[];
}

/** The payload of each presence event, by routing key. */
export interface PresenceEventMap {
  'presence.connect': ConnectEvent;
  'presence.disconnect': DisconnectEvent;
  'presence.join': RoomEvent;
  'presence.leave': RoomEvent;
  'presence.heartbeat': HeartbeatEvent;
  'presence.goodbye': GoodbyeEvent;
  'presence.sync': SyncEvent;
}
