import type { Ack, Message, SendResult } from '@roomcast/contracts';
import {
  connectClient,
  exited,
  readMetric,
  requireServices,
  startCluster,
  startRedisServer,
  startTcpProxy,
  stopService,
  waitFor,
  type RedisServer,
  type TcpProxy,
  type TestClient,
  type TestCluster,
} from '@roomcast/testing';

type SendAck = Ack<SendResult>;

/** Every figure a fault test measures, printed once at the end for the closing note. */
const figures: Record<string, number | string> = {};
const report = (key: string, value: number | string) => {
  figures[key] = value;
  process.stdout.write(`[faults] ${key}: ${value}\n`);
};

const seqsOf = (c: TestClient, room: string) =>
  c.messages.filter((m) => m.room === room).map((m) => m.seq);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function assertOrderedOnce(seqs: number[]) {
  for (let i = 1; i < seqs.length; i++) expect(seqs[i]).toBeGreaterThan(seqs[i - 1]);
}

beforeAll(async () => {
  await requireServices('redis', 'rabbitmq');
});

afterAll(() => {
  process.stdout.write(`[faults] summary ${JSON.stringify(figures)}\n`);
});

describe('one order per room, and a gateway crash mid-stream', () => {
  let cluster: TestCluster;
  const clients: TestClient[] = [];
  const client = async (gw: number, name: string) => {
    const c = await connectClient(cluster.gateways[gw].url, name);
    clients.push(c);
    return c;
  };

  beforeAll(async () => {
    cluster = await startCluster({ label: 'order' });
  }, 60000);

  afterAll(async () => {
    for (const c of clients) c.close();
    await cluster?.stop();
  }, 30000);

  it('gives every member the same order when senders on 3 gateways send at once', async () => {
    const members = [await client(0, 'A'), await client(1, 'B'), await client(2, 'C')];
    for (const m of members) await m.ack('room:join', { room: 'order' });
    const acks = (
      await Promise.all(
        members.map((m, i) =>
          Promise.all(
            Array.from({ length: 40 }, (_, n) =>
              m.ack<SendAck>('message:send', { room: 'order', text: `${i}-${n}` }),
            ),
          ),
        ),
      )
    ).flat();
    expect(acks.every((a) => a.ok)).toBe(true);
    // One seq per message, consecutive from the room's first (its counter starts at Redis's clock).
    const first = Math.min(...acks.map((a) => (a.ok ? a.seq : Infinity)));
    const expected = Array.from({ length: 120 }, (_, i) => first + i);
    for (const m of members) {
      await waitFor(() => seqsOf(m, 'order').length >= 120, 10000, '120 messages at each member');
    }
    await sleep(300);
    for (const m of members) expect(seqsOf(m, 'order')).toEqual(expected);
    const gapFills = await Promise.all(
      cluster.gateways.map((g) => readMetric(g.url, 'roomcast_gap_fill_messages_total')),
    );
    report('order: messages 3 gateways x 40 concurrent, identical at every member', 120);
    report(
      'order: gap fills from history',
      gapFills.reduce((a, b) => a + b, 0),
    );
  });

  it('loses no acked message when the receiver gateway is killed mid-stream', async () => {
    const sender = await client(0, 'Sender');
    const receiver = await client(2, 'Receiver');
    await sender.ack('room:join', { room: 'crash' });
    await receiver.ack('room:join', { room: 'crash' });
    const acked: number[] = [];
    let killedAt = 0;
    const sending = (async () => {
      for (let i = 0; i < 120; i++) {
        const a = await sender.ack<SendAck>('message:send', { room: 'crash', text: `m${i}` });
        if (a.ok) acked.push(a.seq);
        if (i === 40) {
          killedAt = Date.now();
          stopService(cluster.gateways[2], 'SIGKILL');
        }
        await sleep(10);
      }
    })();
    await waitFor(
      () => killedAt > 0 && !receiver.socket.connected,
      5000,
      'the receiver to lose its gateway',
    );
    const before = seqsOf(receiver, 'crash');
    const last = before.at(-1) ?? 0;
    // The client reconnects to another gateway with the last seq it saw.
    const again = await client(1, 'Receiver');
    const joined = await again.ack<{ history: Message[]; complete: boolean }>('room:join', {
      room: 'crash',
      sinceSeq: last,
    });
    expect(joined.complete).toBe(true);
    const reconnectMs = Date.now() - killedAt;
    await sending;
    const lastAcked = acked.at(-1)!;
    await waitFor(
      () => seqsOf(again, 'crash').includes(lastAcked),
      5000,
      'the last acked message after reconnecting',
    );
    const all = [...before, ...joined.history.map((m) => m.seq), ...seqsOf(again, 'crash')];
    const lost = acked.filter((s) => !all.includes(s));
    const duplicates = all.length - new Set(all).size;
    expect(lost).toEqual([]);
    expect(duplicates).toBe(0);
    assertOrderedOnce(all);
    report('crash: acked messages', acked.length);
    report('crash: acked messages lost', lost.length);
    report('crash: duplicates delivered', duplicates);
    report('crash: kill -9 to rejoined elsewhere (ms)', reconnectMs);
    await exited(cluster.gateways[2].child);
  }, 30000);
});

describe('broker outage (RabbitMQ unreachable, then back)', () => {
  const OUTAGE_MS = Number(process.env.FAULT_OUTAGE_MS ?? 30000);
  let proxy: TcpProxy;
  let cluster: TestCluster;
  const clients: TestClient[] = [];

  beforeAll(async () => {
    proxy = await startTcpProxy(
      Number(new URL(process.env.AMQP_URL ?? 'amqp://127.0.0.1:5672').port || 5672),
    );
    cluster = await startCluster({
      label: 'outage',
      gateways: 2,
      env: {
        AMQP_URL: `amqp://guest:guest@127.0.0.1:${proxy.port}`,
        ...(process.env.FAULT_DEBUG ? { LOG_LEVEL: 'log' } : {}),
      },
    });
  }, 60000);

  afterAll(async () => {
    if (process.env.FAULT_DEBUG)
      process.stdout.write(
        [cluster.presence, ...cluster.gateways].map((g) => g.logs.join('')).join('\n---\n'),
      );
    for (const c of clients) c.close();
    proxy?.restore();
    await cluster?.stop();
    await proxy?.close();
  }, 30000);

  it('answers UNAVAILABLE within 5 s during the outage and recovers chat, bindings and presence by itself', async () => {
    const ann = await connectClient(cluster.gateways[0].url, 'Ann');
    const bob = await connectClient(cluster.gateways[1].url, 'Bob');
    clients.push(ann, bob);
    await ann.ack('room:join', { room: 'outage' });
    await bob.ack('room:join', { room: 'outage' });
    expect(
      await ann.ack<SendAck>('message:send', { room: 'outage', text: 'before' }),
    ).toMatchObject({ ok: true });

    proxy.cut();
    const cutAt = Date.now();
    const sentAt = Date.now();
    const during = await ann.ack<SendAck>(
      'message:send',
      { room: 'outage', text: 'during', clientId: 'retry-1' },
      10000,
    );
    const failMs = Date.now() - sentAt;
    expect(during).toMatchObject({ ok: false, error: { code: 'UNAVAILABLE' } });
    expect(failMs).toBeLessThan(5500);
    report('outage: send during outage answered UNAVAILABLE after (ms)', failMs);
    await sleep(Math.max(0, OUTAGE_MS - (Date.now() - cutAt)));
    proxy.restore();
    const restoredAt = Date.now();

    // Chat resumes by itself: a retry of the failed send succeeds and is delivered once.
    let retry: SendAck = { ok: false, error: { code: 'UNAVAILABLE', message: 'not sent yet' } };
    await waitFor(
      async () => {
        retry = await ann.ack<SendAck>(
          'message:send',
          { room: 'outage', text: 'during', clientId: 'retry-1' },
          10000,
        );
        return retry.ok;
      },
      20000,
      'a send to succeed after the outage',
      500,
    );
    report('outage: chat recovered after restore (ms)', Date.now() - restoredAt);
    const after = await ann.ack<SendAck>('message:send', { room: 'outage', text: 'after' });
    expect(after.ok).toBe(true);
    await waitFor(
      () => bob.messages.some((m) => m.text === 'after'),
      10000,
      'delivery after the outage',
    );
    await sleep(500);
    expect(bob.messages.filter((m) => m.clientId === 'retry-1')).toHaveLength(1);
    assertOrderedOnce(seqsOf(bob, 'outage'));
    expect(seqsOf(bob, 'outage')).toEqual(seqsOf(ann, 'outage'));

    // Exactly the needed bindings came back, and nothing was delivered in vain.
    for (const g of cluster.gateways) {
      expect(await readMetric(g.url, 'roomcast_room_bindings')).toBe(1);
      expect(await readMetric(g.url, 'roomcast_broker_deliveries_unused_total')).toBe(0);
    }
    // Presence swept the silent gateways during the outage, then rebuilt from their sync.
    await waitFor(
      async () => {
        const s = await cluster.getStats();
        return s.online === 2 && s.connections === 2 && s.instances.length === 2;
      },
      15000,
      'presence to show both users again',
      200,
    );
    report('outage: presence recovered after restore (ms)', Date.now() - restoredAt);
    report(
      'outage: duplicates delivered',
      bob.messages.length - new Set(seqsOf(bob, 'outage')).size,
    );
  }, 90000);
});

describe('Redis restarted empty', () => {
  let redis: RedisServer;
  let cluster: TestCluster;
  const clients: TestClient[] = [];

  beforeAll(async () => {
    redis = await startRedisServer();
    cluster = await startCluster({ label: 'redis', gateways: 3, env: { REDIS_URL: redis.url } });
  }, 60000);

  afterAll(async () => {
    for (const c of clients) c.close();
    await cluster?.stop();
    await redis?.stop();
  }, 30000);

  it('reports not ready, answers UNAVAILABLE, then rebuilds presence and never reuses a seq', async () => {
    const ann = await connectClient(cluster.gateways[0].url, 'Ann');
    const bob = await connectClient(cluster.gateways[1].url, 'Bob');
    const idle = await connectClient(cluster.gateways[2].url, 'Idle');
    clients.push(ann, bob, idle);
    await ann.ack('room:join', { room: 'durable' });
    await bob.ack('room:join', { room: 'durable' });
    const before: number[] = [];
    for (let i = 0; i < 11; i++) {
      const a = await ann.ack<SendAck>('message:send', { room: 'durable', text: `m${i}` });
      if (a.ok) before.push(a.seq);
    }
    await waitFor(() => seqsOf(bob, 'durable').length === 11, 5000, 'eleven messages');

    await redis.stop();
    await waitFor(
      async () => (await fetch(`${cluster.api.url}/ready`)).status === 503,
      5000,
      'stats /ready 503',
    );
    await waitFor(
      async () => (await fetch(`${cluster.gateways[0].url}/ready`)).status === 503,
      5000,
      'gateway /ready 503',
    );
    const sentAt = Date.now();
    const during = await ann.ack<SendAck>('message:send', { room: 'durable', text: 'lost' }, 10000);
    const failMs = Date.now() - sentAt;
    expect(during).toMatchObject({ ok: false, error: { code: 'UNAVAILABLE' } });
    expect(failMs).toBeLessThan(5000);
    report('redis: send while down answered UNAVAILABLE after (ms)', failMs);

    await redis.start();
    const restartedAt = Date.now();
    await waitFor(
      async () => {
        const s = await cluster.getStats();
        const room = (await (await fetch(`${cluster.api.url}/stats/rooms/durable`)).json()) as {
          users: number;
        };
        return s.online === 3 && s.connections === 3 && room.users === 2;
      },
      15000,
      'presence rebuilt from the gateways',
      200,
    );
    report('redis: presence rebuilt after restart (ms)', Date.now() - restartedAt);
    expect((await fetch(`${cluster.api.url}/ready`)).status).toBe(200);
    // The first send after the restart comes from a user on the gateway that had no member of
    // the room: it has no floor to pass, and Redis has no counter.
    const cat = await connectClient(cluster.gateways[2].url, 'Cat');
    clients.push(cat);
    expect(await cat.ack('room:join', { room: 'durable' })).toMatchObject({ ok: true });
    const fromCat = await waitFor(
      async () => {
        const a = await cat.ack<SendAck>('message:send', { room: 'durable', text: 'from cat' });
        return a.ok ? a : null;
      },
      10000,
      'a send after the restart',
      200,
    );
    report('redis: chat recovered after restart (ms)', Date.now() - restartedAt);
    // The new generation starts above every seq handed out before.
    expect(fromCat.seq).toBeGreaterThan(Math.max(...before));
    const back = await ann.ack<SendAck>('message:send', { room: 'durable', text: 'back' });
    expect(back.ok && back.seq).toBe(fromCat.seq + 1);
    for (const member of [ann, bob, cat]) {
      await waitFor(
        () => ['from cat', 'back'].every((t) => member.messages.some((m) => m.text === t)),
        5000,
        `delivery of both messages at ${member.socket.id}`,
      );
      assertOrderedOnce(seqsOf(member, 'durable'));
    }
    // A client that had seq 10 of the old generation: what it missed is gone, and it is told.
    const returning = await connectClient(cluster.gateways[2].url, 'Returning');
    clients.push(returning);
    const rejoined = await returning.ack<{ history: Message[]; complete: boolean }>('room:join', {
      room: 'durable',
      sinceSeq: before[9],
    });
    expect(rejoined.history.map((m) => m.text)).toEqual(['from cat', 'back']);
    expect(rejoined.complete).toBe(false);
  }, 60000);
});
