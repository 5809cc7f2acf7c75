// Queue throughput with amqplib alone: presence-sized messages (a presence.join request's JSON)
// published with confirms, `INFLIGHT` unconfirmed at most, and consumed from the same queue by a
// consumer on its own connection (prefetch 200, one ack per message, as presence does), for a few
// seconds: a classic queue on one node against a quorum queue replicated on 3 nodes.
import { performance } from 'node:perf_hooks';
import amqplib from 'amqplib';
import { fmt, fmtRate, log } from '../log.mjs';
import { round, roundedSummary as summary } from '../stats.mjs';
import { cpuWindow } from './common.mjs';

const INFLIGHT = 256;
const PREFETCH = 200;
/** A presence.join request as a gateway sends it (Nest's packet with the payload). */
const BODY = Buffer.from(
  JSON.stringify({
    pattern: 'presence.join',
    data: {
      instanceId: 'scaling-bench-g1',
      socketId: 'AbCdEfGhIjKlMnOpQrSt',
      room: 'some-room-name-0001',
      user: { id: 'u-0123456789abcdef', name: 'A user name' },
    },
    id: '0123456789abcdef0123',
  }),
);

/** One measure: `publishUrl` and `consumeUrl` may be different nodes of a cluster. */
async function throughput({ publishUrl, consumeUrl, queue, quorum, durationMs, brokerProcs }) {
  const pub = await amqplib.connect(publishUrl);
  const sub = await amqplib.connect(consumeUrl);
  try {
    const ch = await pub.createConfirmChannel();
    await ch.assertQueue(queue, {
      durable: true,
      arguments: quorum ? { 'x-queue-type': 'quorum' } : {},
    });
    const cch = await sub.createChannel();
    await cch.prefetch(PREFETCH);
    let consumed = 0;
    const { consumerTag } = await cch.consume(queue, (msg) => {
      if (!msg) return;
      consumed++;
      cch.ack(msg);
    });
    const confirms = [];
    let published = 0;
    let c0 = 0;
    const w = await cpuWindow(brokerProcs, async () => {
      c0 = consumed;
      const until = performance.now() + durationMs;
      let inflight = 0;
      await new Promise((resolve, reject) => {
        const pump = () => {
          while (inflight < INFLIGHT && performance.now() < until) {
            inflight++;
            published++;
            const t = performance.now();
            ch.sendToQueue(queue, BODY, { persistent: true }, (err) => {
              inflight--;
              if (err) return reject(err);
              confirms.push(performance.now() - t);
              if (performance.now() < until) pump();
              else if (inflight === 0) resolve();
            });
          }
        };
        pump();
      });
    });
    const got = consumed - c0;
    await cch.cancel(consumerTag).catch(() => undefined);
    await ch.deleteQueue(queue).catch(() => undefined);
    return {
      published,
      publishedPerSec: round(published / w.wallS, 0),
      consumedPerSec: round(got / w.wallS, 0),
      confirm: summary(confirms),
      brokerCores: w.cores('rabbit'),
      brokerUsPerMessage: w.per('rabbit', published),
      perBroker: w.perProcessCores(brokerProcs),
    };
  } finally {
    await pub.close().catch(() => undefined);
    await sub.close().catch(() => undefined);
  }
}

/** `targets`: [{ label, publishUrl, consumeUrl, quorum, brokerProcs }], each `repeats` times. */
export async function measureQueues({ targets, repeats, durationMs, prefix }) {
  const rows = [];
  for (let r = 0; r < repeats; r++) {
    for (const t of targets) {
      try {
        const m = await throughput({ ...t, queue: `${prefix}.q-${r}-${t.key}`, durationMs });
        rows.push({ round: r, label: t.label, quorum: t.quorum, ...m });
        log(
          `  queue ${t.label}: ${fmtRate(m.publishedPerSec)}/s published, ${fmtRate(m.consumedPerSec)}/s consumed, ` +
            `confirm p50/p99 ${fmt(m.confirm.p50, 2)}/${fmt(m.confirm.p99, 2)} ms, broker ${fmt(m.brokerCores, 2)} cores ` +
            `(${fmt(m.brokerUsPerMessage, 0)} µs/message)`,
        );
      } catch (err) {
        rows.push({ round: r, label: t.label, error: String(err?.stack ?? err) });
        log(`  queue ${t.label}: ERROR ${err.message}`);
      }
    }
  }
  return { inflight: INFLIGHT, prefetch: PREFETCH, messageBytes: BODY.length, durationMs, rows };
}
