// Presence events one replica applies per second, measured as bench/presence.mjs does: a stand-in
// gateway (a queue of its own named as a gateway's, so presence's liveness check keeps it, and
// heartbeats) sends connect + join requests for `sockets` sockets, `INFLIGHT` sockets at a time,
// each socket's join after its connect is answered; one presence replica applies them. Here the
// broker may be a RabbitMQ cluster (presence and the stand-in on different nodes); the presence
// queue is the quorum queue presence declares (one replica on one node, three on a cluster).
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { ROOT } from '../harness.mjs';
import { fmt, log } from '../log.mjs';
import { cpuWindow, round, startServices, sumUs } from './common.mjs';

const require = createRequire(import.meta.url);
const amqplib = require('amqplib');
const { AmqpTopicClient } = require(join(ROOT, 'dist/libs/amqp-transport/src/index.js'));
const { gatewayQueueName } = require(join(ROOT, 'dist/libs/contracts/src/index.js'));

const INFLIGHT = 256;

async function standIn(amqpUrl, exchange, instanceId) {
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
    async fill(room, sockets) {
      let next = 0;
      const worker = async () => {
        while (next < sockets) {
          const i = next++;
          const socketId = `${instanceId}-s${i}`;
          const user = { id: `${instanceId}-u${i}`, name: `user ${i}` };
          await client.request('presence.connect', { instanceId, socketId, user });
          await client.request('presence.join', { instanceId, socketId, room, user });
        }
      };
      await Promise.all(Array.from({ length: INFLIGHT }, worker));
    },
    async close() {
      clearInterval(timer);
      await client.close();
      await conn.close();
    },
  };
}

/**
 * One measure: `presenceUrl` for the presence replica, `standInUrl` for the stand-in gateway,
 * `presenceEnv` for the queue's kind; `brokerProcs` and `redisPid` for the CPU per change.
 */
export async function measurePresenceRate({
  label,
  prefix,
  presenceUrl,
  standInUrl,
  cleanupAmqpUrl,
  presenceEnv = {},
  brokerProcs,
  redisPid,
  sockets,
}) {
  const services = await startServices({
    prefix,
    gateways: 0,
    amqpUrlFor: (name) => (name === 'presence' ? presenceUrl : standInUrl),
    cleanupAmqpUrl,
    presenceEnv,
  });
  try {
    const gw = await standIn(standInUrl, services.env.EXCHANGE, `${prefix}-standin`);
    try {
      const procs = [
        { name: 'presence', pid: services.presence.pid },
        { name: 'redis', pid: redisPid },
        ...brokerProcs,
      ];
      const w = await cpuWindow(procs, () => gw.fill('rate', sockets));
      const changes = 2 * sockets;
      const r = {
        label,
        sockets,
        changesPerSec: round(changes / w.wallS, 0),
        presenceCores: round(w.us.presence / 1e6 / w.wallS, 3),
        presenceUsPerChange: round(w.us.presence / changes, 1),
        redisUsPerChange: round(w.us.redis / changes, 1),
        brokerUsPerChange: round(sumUs(w.us, 'rabbit') / changes, 1),
        brokerCores: round(sumUs(w.us, 'rabbit') / 1e6 / w.wallS, 3),
      };
      log(
        `  presence ${label}: ${r.changesPerSec} changes/s, presence ${fmt(r.presenceCores, 2)} cores ` +
          `(${fmt(r.presenceUsPerChange, 0)} µs/change), broker ${fmt(r.brokerUsPerChange, 0)} µs/change, ` +
          `redis ${fmt(r.redisUsPerChange, 0)} µs/change`,
      );
      return r;
    } finally {
      await gw.close();
    }
  } finally {
    await services.stop();
  }
}
