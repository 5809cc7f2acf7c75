#!/usr/bin/env node
// What one broker message per chat message costs RabbitMQ against several per message, with
// amqplib alone (no roomcast code): `npm run bench:broker`. A topic exchange of its own, 3
// exclusive no-ack queues each bound to 100 room keys (W2's layout: every room on every
// instance), a confirm channel publishing 1,000 chat messages/s for 5 s at each batch size,
// routed by the first room's key and the others' in BCC, as roomcast's fan-out does. The
// broker's CPU (beam.smp, from /proc) per chat message and per broker message is printed.
import { performance } from 'node:perf_hooks';
import amqp from 'amqplib';
import { AMQP_URL, REDIS_URL } from './lib/harness.mjs';
import { cpuMicros, findInfrastructure } from './lib/proc.mjs';

const CHAT_PER_SEC = Number(process.env.CHAT_PER_SEC ?? 1000);
const MS = Number(process.env.BROKER_BENCH_MS ?? 5000);
const SIZES = [1, 2, 4, 16];

const { beamPid } = findInfrastructure(REDIS_URL);
if (!beamPid) throw new Error('RabbitMQ (beam.smp) not found: its CPU cannot be read');
const connections = [];
const connect = async () => {
  const c = await amqp.connect(AMQP_URL);
  connections.push(c);
  return c;
};
const exchange = `bench-broker-${Date.now().toString(36)}`;
const entry = (i) => ({
  t: 'message',
  message: {
    id: `m-${i}`.padEnd(36, '0'),
    room: 'r',
    seq: i,
    text: 'x'.repeat(60),
    user: { id: 'u1', name: 'U' },
    ts: Date.now(),
  },
});
try {
  const pub = await (await connect()).createConfirmChannel();
  await pub.assertExchange(exchange, 'topic', { durable: false, autoDelete: true });
  for (let q = 0; q < 3; q++) {
    const ch = await (await connect()).createChannel();
    const { queue } = await ch.assertQueue('', { exclusive: true });
    for (let r = 0; r < 100; r++) await ch.bindQueue(queue, exchange, `room.r${r}`);
    await ch.consume(queue, () => undefined, { noAck: true });
  }
  process.stdout.write(
    `| chat messages per broker message | broker messages/s | RabbitMQ cores | µs per chat message | µs per broker message |\n| --: | --: | --: | --: | --: |\n`,
  );
  for (const per of SIZES) {
    const perSec = CHAT_PER_SEC / per;
    const body = Buffer.from(
      JSON.stringify({ t: 'batch', items: Array.from({ length: per }, (_, i) => entry(i)) }),
    );
    const c0 = cpuMicros(beamPid);
    const t0 = performance.now();
    let sent = 0;
    while (performance.now() - t0 < MS) {
      const due = Math.floor(((performance.now() - t0) / 1000) * perSec);
      for (; sent < due; sent++) {
        const keys = Array.from({ length: per }, (_, i) => `room.r${(sent * per + i) % 100}`);
        pub.publish(exchange, keys[0], body, { BCC: keys.slice(1) });
      }
      await pub.waitForConfirms();
      await new Promise((r) => setTimeout(r, 1));
    }
    const us = cpuMicros(beamPid) - c0;
    const wallUs = (performance.now() - t0) * 1000;
    process.stdout.write(
      `| ${per} | ${perSec.toFixed(0)} | ${(us / wallUs).toFixed(3)} | ${(us / (sent * per)).toFixed(1)} | ${(us / sent).toFixed(0)} |\n`,
    );
  }
} finally {
  for (const c of connections) await c.close().catch(() => undefined);
}
