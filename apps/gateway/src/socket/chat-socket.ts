import type { ClientToServerEvents, ServerToClientEvents, SocketData } from '@roomcast/contracts';
import type { Server, Socket } from 'socket.io';

/** A client socket, typed by the contract: its events, their acks, what we emit, `socket.data`. */
export type ChatSocket = Socket<
  ClientToServerEvents,
  ServerToClientEvents,
  Record<string, never>,
  SocketData
>;

/** The gateway's Socket.IO server, typed by the contract. */
export type ChatServer = Server<
  ClientToServerEvents,
  ServerToClientEvents,
  Record<string, never>,
  SocketData
>;

/** What a socket carries between events (set by the handshake before it connects). */
export function stateOf(socket: ChatSocket): SocketData {
  return socket.data;
}
