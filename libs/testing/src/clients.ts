import type { Message, PresenceNotice } from '@roomcast/contracts';
import { io, type Socket } from 'socket.io-client';

export interface TestClient {
  socket: Socket;
  messages: Message[];
  presence: PresenceNotice[];
  ack<T = Record<string, unknown>>(
    event: string,
    payload?: unknown,
    timeoutMs?: number,
  ): Promise<T>;
  close(): void;
}

export interface ClientOptions {
  /** The handshake's `auth` instead of `{ name }` (a JWT: `{ token }`). */
  auth?: Record<string, unknown>;
  /** Extra handshake headers (an Origin, as a browser would send). */
  headers?: Record<string, string>;
  timeoutMs?: number;
}

/**
 * A socket.io client straight to one gateway, recording what it receives. Rejects with the
 * server's `connect_error` when the handshake is refused.
 */
export async function connectClient(
  url: string,
  name?: string,
  options: ClientOptions = {},
): Promise<TestClient> {
  const timeoutMs = options.timeoutMs ?? 5000;
  const socket = io(url, {
    auth: options.auth ?? (name === undefined ? {} : { name }),
    extraHeaders: options.headers,
    transports: ['websocket'],
    reconnection: false,
    forceNew: true,
  });
  const client: TestClient = {
    socket,
    messages: [],
    presence: [],
    ack: (event, payload, ackTimeoutMs = timeoutMs) =>
      socket.timeout(ackTimeoutMs).emitWithAck(event, payload) as Promise<never>,
    close: () => socket.close(),
  };
  socket.on('message', (m: Message) => client.messages.push(m));
  socket.on('presence', (p: PresenceNotice) => client.presence.push(p));
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('connect_error', (err) => {
      socket.close();
      reject(err);
    });
  });
  return client;
}
