// What the benches' own Socket.IO clients share: connecting one client the way the load
// generator does (WebSocket only, no reconnection), and a pool that runs work with a bound on
// what is in flight.
import { io } from 'socket.io-client';

/** One connection to `url` as `name` (open mode's handshake); rejects with why it failed. */
export function connectOne(url, name) {
  return new Promise((resolve, reject) => {
    const sock = io(url, {
      transports: ['websocket'],
      auth: { name },
      reconnection: false,
      forceNew: true,
      timeout: 30000,
    });
    sock.once('connect', () => resolve(sock));
    sock.once('connect_error', (err) => {
      sock.close();
      reject(new Error(`connect to ${url} as ${name}: ${err.message}`));
    });
  });
}

/** Runs `fn` over `items` with at most `limit` in flight. */
export async function pool(items, limit, fn) {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      await fn(items[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
