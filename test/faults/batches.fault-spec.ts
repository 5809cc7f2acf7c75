import type { Ack, SendResult } from '@roomcast/contracts';
import {
  connectClient,
  LIFTED_LIMITS,
  readMetric,
  requireServices,
  startCluster,
  startRedisServer,
  startTcpProxy,
  waitFor,
  type RedisServer,
  type TcpProxy,
  type TestClient,
  type TestCluster,
} from '@roomcast/testing';

type SendAck = Ack<SendResult>;

const ROOMS = 10;
/** Each sender's sends per tick, and the tick: about 2,000 sends/s on one gateway, all in flight. */
const BURST = 4;
const TICK_MS = 20;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Large batches through faults: 10 senders on one gateway keep about 2,000 sends/s in flight over
 * 10 rooms (so Redis pipelines and broker messages carry many sends of many rooms), while the
 * broker link is cut for 2 s and later Redis is restarted empty. Every send answered ok must
 * reach its room's member on the other gateway, once and in seq order; every other send is
 * answered UNAVAILABLE.
 */
describe('large batches through a broker cut and a Redis restart', () => {
  let proxy: TcpProxy;
  let redis: RedisServer;
  let cluster: TestCluster;
  const clients: TestClient[] = [];

  beforeAll(async () => {
    await requireServices('redis', 'rabbitmq');
    proxy = await startTcpProxy(
      Number(new URL(process.env.AMQP_URL ?? 'amqp://127.0.0.1:5672').port || 5672),
    );
    redis = await startRedisServer();
    cluster = await startCluster({
      label: 'batches',
      gateways: 2,
      env: { AMQP_URL: `amqp://guest:guest@127.0.0.1:${proxy.port}`, REDIS_URL: redis.url },
      gatewayEnv: { ...LIFTED_LIMITS },
    });
  }, 60000);

  afterAll(async () => {
    for (const c of clients) c.close();
    proxy?.restore();
    await cluster?.stop();
    await redis?.stop();
    await proxy?.close();
  }, 30000);

  it('loses no acked message and answers every other send UNAVAILABLE', async () => {
    const senders: TestClient[] = [];
    const receivers: TestClient[] = [];
    for (let r = 0; r < ROOMS; r++) {
      const s = await connectClient(cluster.gateways[0].url, `sender${r}`);
      const m = await connectClient(cluster.gateways[1].url, `member${r}`);
      clients.push(s, m);
      await s.ok('room:join', { room: `b${r}` });
      await m.ok('room:join', { room: `b${r}` });
      senders.push(s);
      receivers.push(m);
    }
    const acks: Promise<{ room: number; text: string; ack: SendAck }>[] = [];
    let sending = true;
    let n = 0;
    const load = (async () => {
      while (sending) {
        for (let r = 0; r < ROOMS; r++) {
          for (let k = 0; k < BURST; k++) {
            const text = `t${n++}`;
            acks.push(
              senders[r]
                .ack<SendAck>('message:send', { room: `b${r}`, text }, 15000)
                .then((ack) => ({ room: r, text, ack })),
            );
          }
        }
        await sleep(TICK_MS);
      }
    })();
    await sleep(1500);
    proxy.cut();
    await sleep(2000);
    proxy.restore();
    await sleep(3000);
    await redis.stop();
    await sleep(1000);
    await redis.start();
    await sleep(4000);
    sending = false;
    await load;
    const answered = await Promise.all(acks);

    const ok = answered.filter((a) => a.ack.ok);
    const refused = answered.filter((a) => !a.ack.ok);
    // Every send not acked ok was answered UNAVAILABLE: no other code, no internal error.
    expect(new Set(refused.map((a) => (a.ack.ok ? 'ok' : a.ack.error.code)))).toEqual(
      new Set(['UNAVAILABLE']),
    );
    expect(ok.length).toBeGreaterThan(1000);

    // Every acked message reaches its room's member on the other gateway: once, in seq order.
    const missing = () =>
      ok.filter((a) => !receivers[a.room].messages.some((m) => m.text === a.text)).length;
    await waitFor(() => missing() === 0, 20000, `all acked messages (${missing()} missing)`, 200);
    for (const m of receivers) {
      const seqs = m.messages.map((x) => x.seq);
      for (let i = 1; i < seqs.length; i++) expect(seqs[i]).toBeGreaterThan(seqs[i - 1]);
      expect(new Set(m.messages.map((x) => x.id)).size).toBe(m.messages.length);
    }

    // The sends travelled in batches: several per broker message on the sending gateway.
    const url = cluster.gateways[0].url;
    const messages = await readMetric(url, 'roomcast_broker_room_messages_published_total');
    const entries = await readMetric(url, 'roomcast_broker_room_entries_published_total');
    process.stdout.write(
      `[faults] batches: ${ok.length} acked, ${refused.length} UNAVAILABLE, ` +
        `${(entries / messages).toFixed(1)} entries per broker message\n`,
    );
    expect(entries / messages).toBeGreaterThan(2);
  }, 120000);
});
