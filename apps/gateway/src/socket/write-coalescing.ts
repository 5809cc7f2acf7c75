import type { Socket as TcpSocket } from 'node:net';
import { corkBefore } from '@roomcast/batching';

/** The parts of engine.io's transport and ws's WebSocket read here (outside their typings). */
interface EngineTransport {
  name: string;
  send(packets: unknown[]): void;
  socket?: { _socket?: TcpSocket };
}

/** An engine.io connection: its transport, and `upgrade` when it moves to another one. */
interface EngineConnection {
  transport?: EngineTransport;
  on(event: 'upgrade', listener: (transport: EngineTransport) => void): unknown;
}

/**
 * Writes a WebSocket connection's frames of one pass of the job queues with one system call
 * (`corkForPass`): engine.io sends each packet as its own frame, and ws writes each frame at once.
 * A join's ack and the presence notices, acks and messages sent to the same connection in that
 * pass leave together.
 */
export function coalesceTransportWrites(transport: EngineTransport | undefined): void {
  if (transport?.name !== 'websocket') return;
  corkBefore(transport, 'send', (t) => t.socket?._socket);
}

/** Applies `coalesceTransportWrites` to a connection's transport now and to any it upgrades to. */
export function coalesceConnectionWrites(conn: EngineConnection): void {
  coalesceTransportWrites(conn.transport);
  conn.on('upgrade', (transport) => coalesceTransportWrites(transport));
}
