// A stand-in gateway for the presence measures (bench/presence.mjs, bench:scaling's presence
// part): a queue of its own named as a gateway's (so presence's liveness check keeps it),
// heartbeats, and presence requests sent as a gateway sends them (a socket's join after its
// connect is answered), `inflight` sockets at a time.
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { ROOT } from './harness.mjs';

const require = createRequire(import.meta.url);
const amqplib = require('amqplib');
const { AmqpTopicClient } = require(join(ROOT, 'dist/libs/amqp-transport/src/index.js'));
const { gatewayQueueName } = require(join(ROOT, 'dist/libs/contracts/src/index.js'));

export async function standInGateway({ amqpUrl, exchange, instanceId, inflight = 256 }) {
  const conn = await amqplib.connect(amqpUrl);
  const ch = await conn.createChannel();
  await ch.assertQueue(gatewayQueueName(exchange, instanceId), {
    exclusive: true,
    autoDelete: true,
    durable: false,
  });
  const client = new AmqpTopicClient({ urls: [amqpUrl], exchange, requestTimeoutMs: 120000 });
  await client.connect();
  const startedAt = Date.now();
  const beat = () =>
    client.publishEvent('presence.heartbeat', { instanceId, startedAt, rooms: 1 }).catch(() => {});
  await beat();
  const timer = setInterval(beat, 1000);
  return {
    /** Connects sockets `from`..`to`-1 and joins each to `room`; resolves with changes/s. */
    async fill(room, from, to) {
      let next = from;
      const t = process.hrtime.bigint();
      const worker = async () => {
        while (next < to) {
          const i = next++;
          const socketId = `${instanceId}-s${i}`;
          const user = { id: `${instanceId}-u${i}`, name: `user ${i}` };
          await client.request('presence.connect', { instanceId, socketId, user });
          await client.request('presence.join', { instanceId, socketId, room, user });
        }
      };
      await Promise.all(Array.from({ length: inflight }, worker));
      const seconds = Number(process.hrtime.bigint() - t) / 1e9;
      return Math.round((2 * (to - from)) / seconds);
    },
    async close() {
      clearInterval(timer);
      await client.close();
      await conn.close();
    },
  };
}
