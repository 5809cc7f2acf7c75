import type {
  ClientToServerEvents,
  ErrorCode,
  Message,
  PresenceNotice,
  ReadNotice,
  RoomRemoved,
  ServerToClientEvents,
  SessionEnd,
  SessionInfo,
  Update,
} from '@roomcast/contracts';
import { io, type Socket } from 'socket.io-client';

/**
 * Any ack, read loosely: what a test that sends hostile payloads gets back, where the contract's
 * `Ack<T>` union would need narrowing at every assertion.
 */
export type AnyAck = { ok: boolean; error?: { code: ErrorCode; message: string } } & Record<
  string,
  unknown
>;

/** An ok ack with its result. */
export type Ok<T> = T & { ok: true };

/** A client socket typed by the contract (its emits, their acks, what it receives). */
export type ClientSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

export interface TestClient {
  socket: ClientSocket;
  messages: Message[];
  presence: PresenceNotice[];
  /** `message:update` events, as received. */
  updates: Update[];
  /** `read` events, as received. */
  reads: ReadNotice[];
  /** `session` events (one per connection: the first event). */
  sessions: SessionInfo[];
  /** `session:end` events, as received. */
  ends: SessionEnd[];
  /** `room:removed` events, as received. */
  removed: RoomRemoved[];
  ack<T = Record<string, unknown>>(
    event: string,
    payload?: unknown,
    timeoutMs?: number,
  ): Promise<T>;
  /** The ok ack of `event`, or an Error naming the error it answered instead. */
  ok<T = Record<string, unknown>>(
    event: string,
    payload?: unknown,
    timeoutMs?: number,
  ): Promise<Ok<T>>;
  /** The error code `event` answers, or `'ok'`. */
  code(event: string, payload?: unknown): Promise<string>;
  /** Emits anything, with or without an ack callback: for hostile and malformed calls. */
  raw(event: string, ...args: unknown[]): void;
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
  const socket: ClientSocket = io(url, {
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
    updates: [],
    reads: [],
    sessions: [],
    ends: [],
    removed: [],
    ack: (event, payload, ackTimeoutMs = timeoutMs) =>
      // Tests send any event and any payload on purpose: the typed socket is bypassed here.
      (socket as unknown as Socket)
        .timeout(ackTimeoutMs)
        .emitWithAck(event, payload) as Promise<never>,
    ok: async <T>(event: string, payload?: unknown, ackTimeoutMs?: number) => {
      const ack = await client.ack<AnyAck>(event, payload, ackTimeoutMs);
      if (!ack.ok) throw new Error(`${event} refused: ${JSON.stringify(ack.error)}`);
      return ack as unknown as Ok<T>;
    },
    code: async (event, payload) => (await client.ack<AnyAck>(event, payload)).error?.code ?? 'ok',
    raw: (event, ...args) => void (socket as unknown as Socket).emit(event, ...args),
    close: () => socket.close(),
  };
  socket.on('message', (m: Message) => client.messages.push(m));
  socket.on('presence', (p: PresenceNotice) => client.presence.push(p));
  socket.on('message:update', (u: Update) => client.updates.push(u));
  socket.on('read', (r: ReadNotice) => client.reads.push(r));
  socket.on('session', (s: SessionInfo) => client.sessions.push(s));
  socket.on('session:end', (e: SessionEnd) => client.ends.push(e));
  socket.on('room:removed', (r: RoomRemoved) => client.removed.push(r));
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('connect_error', (err) => {
      socket.close();
      reject(err);
    });
  });
  return client;
}
