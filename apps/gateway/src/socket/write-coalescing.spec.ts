import { createServer } from 'node:http';
import type { AddressInfo, Socket as TcpSocket } from 'node:net';
import { countWriteCalls } from '@roomcast/testing';
import { Server, type Socket } from 'socket.io';
import { io as connectClient, type Socket as ClientSocket } from 'socket.io-client';
import { coalesceConnectionWrites } from './write-coalescing';

/** The TCP socket under a server-side Socket.IO socket on the WebSocket transport. */
function tcpOf(socket: Socket): TcpSocket {
  const conn = socket.conn as unknown as { transport: { socket: { _socket: TcpSocket } } };
  return conn.transport.socket._socket;
}

describe('coalesceConnectionWrites (a real Socket.IO server and client)', () => {
  let server: Server;
  let url: string;
  const clients: ClientSocket[] = [];

  beforeEach(async () => {
    const http = createServer();
    server = new Server(http);
    server.engine.on('connection', coalesceConnectionWrites);
    await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  });

  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    await server.close();
  });

  async function connected(transports: ('websocket' | 'polling')[]): Promise<Socket> {
    const arrived = new Promise<Socket>((r) => server.once('connection', r));
    const client = connectClient(url, { transports, reconnection: false });
    clients.push(client);
    const socket = await arrived;
    if (!transports.includes('polling')) return socket;
    // Upgraded from long-polling to the WebSocket.
    await new Promise<void>((r) => {
      if (socket.conn.transport.name === 'websocket') return r();
      socket.conn.once('upgrade', () => r());
    });
    return socket;
  }

  it.each<[('websocket' | 'polling')[], string]>([
    [['websocket'], 'a WebSocket from the start'],
    [['polling', 'websocket'], 'a WebSocket after an upgrade from polling'],
  ])("sends one pass's events in order with one write, on %s (%s)", async (transports) => {
    const socket = await connected(transports);
    const client = clients.at(-1)!;
    const writes = countWriteCalls(tcpOf(socket));
    const got: number[] = [];
    const all = new Promise<void>((resolve) =>
      client.on('n', (i: number) => {
        got.push(i);
        if (got.length === 60) resolve();
      }),
    );
    // One pass: 50 events now, 10 more from promise jobs of the same pass.
    for (let i = 0; i < 50; i++) socket.emit('n', i);
    await Promise.resolve();
    for (let i = 50; i < 60; i++) socket.emit('n', i);
    await all;
    expect(got).toEqual(Array.from({ length: 60 }, (_, i) => i));
    // engine.io hands the first packet to the transport and holds the rest until its write is
    // done: two sends in all, each one write.
    expect(writes()).toBeLessThanOrEqual(2);
    // A later pass writes again.
    const next = new Promise((r) => client.once('later', r));
    socket.emit('later', 1);
    await next;
    expect(writes()).toBeLessThanOrEqual(3);
  });

  it('answers acks, and a socket that closed mid-pass takes nothing down', async () => {
    const socket = await connected(['websocket']);
    const client = clients.at(-1)!;
    socket.on('ping', (n: number, ack: (r: number) => void) => ack(n + 1));
    await expect(client.timeout(2000).emitWithAck('ping', 41)).resolves.toBe(42);
    socket.emit('n', 1);
    socket.disconnect(true);
    socket.emit('n', 2);
    await new Promise((r) => setImmediate(r));
    expect(socket.connected).toBe(false);
  });
});
