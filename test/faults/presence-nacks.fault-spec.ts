import {
  AMQP_URL,
  connectClient,
  requireServices,
  startCluster,
  startNackingProxy,
  waitFor,
  type AnyAck,
  type NackingProxy,
  type TestClient,
  type TestCluster,
} from '@roomcast/testing';

const ROOM = 'lobby';
/** Longer than presence's INSTANCE_TTL_MS (10 s): a gateway whose heartbeats are lost is swept. */
const WATCH_MS = 12000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * What a RabbitMQ node crash can leave behind (see cluster/broker-crash): a gateway's publishing
 * channel that the broker nacks for every publish to the presence queue, while that channel's
 * room publishes are confirmed. Made certain here by an AMQP proxy between the gateways and the
 * broker that turns the confirms of `presence.*` publishes on the channels then open into nacks.
 * Users must not notice: joins answered ok on every gateway, /stats exact, no `leave` notice.
 */
describe('gateways whose publishing channel the broker nacks for presence', () => {
  let proxy: NackingProxy;
  let cluster: TestCluster;
  const clients: TestClient[] = [];

  beforeAll(async () => {
    await requireServices('redis', 'rabbitmq');
    const broker = new URL(AMQP_URL);
    proxy = await startNackingProxy(Number(broker.port || 5672), broker.hostname);
    cluster = await startCluster({
      label: 'pnack',
      gateways: 2,
      gatewayEnv: { AMQP_URL: `amqp://guest:guest@127.0.0.1:${proxy.port}` },
    });
    for (let i = 0; i < 4; i++) {
      const c = await connectClient(cluster.gateways[i % 2].url, `user${i + 1}`);
      clients.push(c);
      expect(await c.ack('room:join', { room: ROOM })).toMatchObject({ ok: true });
    }
  }, 60000);

  afterAll(async () => {
    for (const c of clients) c.close();
    await cluster?.stop();
    await proxy?.close();
  }, 30000);

  const statsExact = async () => {
    const s = await cluster.getStats().catch(() => undefined);
    return (
      s?.connections === clients.length &&
      s.online === clients.length &&
      cluster.gateways.every(
        (_, i) => s.instances.find((x) => x.id === cluster.gatewayId(i))?.connections === 2,
      )
    );
  };
  const leaves = () =>
    clients.flatMap((c) =>
      c.presence.filter((p) => p.event === 'leave').map((p) => `${p.user.name} left ${p.room}`),
    );

  it('gets a fresh channel and re-syncs presence, so joins work and nobody is left', async () => {
    proxy.poison('presence.');
    const poisonedAt = Date.now();
    // A join on every gateway, retried on UNAVAILABLE as clients do, until it is ok.
    const joinMs = await Promise.all(
      clients.slice(0, 2).map(async (c, i) => {
        await waitFor(
          async () => {
            const ack = await c.ack<AnyAck>('room:join', { room: `after-${i}` }).catch(() => null);
            if (ack?.ok) return true;
            await sleep(200);
            return false;
          },
          15000,
          `a join answered ok on gateway ${i + 1}`,
          0,
        );
        return Date.now() - poisonedAt;
      }),
    );
    // Every user stays counted, and no one gets a leave, for longer than the instance TTL.
    let wrong = 0;
    let samples = 0;
    while (Date.now() - poisonedAt < WATCH_MS) {
      samples++;
      if (!(await statsExact())) wrong++;
      await sleep(250);
    }
    const exactAtEnd = await statsExact();
    const logs = cluster.gateways.map((g) => g.logs.join(''));
    const replaced = logs.map((l) => l.split('publishing on a fresh channel').length - 1);
    process.stdout.write(
      `[presence nacks] ${proxy.nacked()} confirms turned into nacks; channel replaced per ` +
        `gateway ${replaced.join('/')}; joins ok after ${joinMs.join('/')} ms; /stats wrong in ` +
        `${wrong} of ${samples} samples over ${WATCH_MS} ms; ${leaves().length} leave notices\n`,
    );
    expect(proxy.nacked()).toBeGreaterThanOrEqual(3);
    expect(replaced.every((n) => n >= 1)).toBe(true);
    expect(exactAtEnd).toBe(true);
    expect(leaves()).toEqual([]);
    // The room's traffic went on throughout: a message reaches every member.
    const sent = await clients[0].ack<AnyAck>('message:send', { room: ROOM, text: 'still here' });
    expect(sent).toMatchObject({ ok: true });
    for (const c of clients) {
      await waitFor(
        () => c.messages.some((m) => m.room === ROOM && m.text === 'still here'),
        5000,
        'the message at every member',
      );
    }
  }, 60000);
});
