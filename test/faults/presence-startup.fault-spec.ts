import {
  AMQP_URL,
  REDIS_URL,
  connectClient,
  dropRunState,
  exited,
  requireServices,
  runPrefix,
  startService,
  stopService,
  waitFor,
  type AnyAck,
  type RunningService,
  type TestClient,
} from '@roomcast/testing';

/**
 * A gateway started before presence: what it sends presence before the presence queue is bound
 * is returned by the broker (published `mandatory`) and fails at once, so nothing waits behind an
 * unanswerable check, and the gateway is served, and counted in /stats, as soon as presence is up.
 * PRESENCE_TIMEOUT_MS is long here (15 s) so that any wait for it is plain to see.
 */
describe('a gateway started before presence', () => {
  const prefix = runPrefix('pstart');
  const env: Record<string, string> = {
    AMQP_URL,
    REDIS_URL,
    EXCHANGE: `${prefix}.events`,
    REDIS_PREFIX: `${prefix}:`,
    PRESENCE_QUEUE: `${prefix}.presence`,
    WEBHOOK_QUEUE: `${prefix}.webhooks`,
  };
  const gatewayId = `${prefix}-g1`;
  const services: RunningService[] = [];
  const clients: TestClient[] = [];
  let stats: RunningService;
  let gateway: RunningService;

  beforeAll(async () => {
    await requireServices('redis', 'rabbitmq');
    stats = await startService('api', env);
    services.push(stats);
    gateway = await startService('gateway', {
      ...env,
      INSTANCE_ID: gatewayId,
      PRESENCE_TIMEOUT_MS: '15000',
    });
    services.push(gateway);
  }, 60000);

  afterAll(async () => {
    for (const c of clients) c.close();
    for (const s of services) stopService(s, 'SIGKILL');
    await Promise.all(services.map((s) => exited(s.child)));
    await dropRunState({
      redisPrefix: env.REDIS_PREFIX,
      exchange: env.EXCHANGE,
      queues: [env.PRESENCE_QUEUE],
    });
  }, 30000);

  const client = async (name: string) => {
    const c = await connectClient(gateway.url, name, { timeoutMs: 20000 });
    clients.push(c);
    return c;
  };
  const timedJoin = async (c: TestClient, room: string) => {
    const at = Date.now();
    const ack = await c.ack<AnyAck>('room:join', { room });
    return { ack, ms: Date.now() - at };
  };
  const gatewayInStats = async () => {
    const res = await fetch(`${stats.url}/stats`).catch(() => undefined);
    if (!res?.ok) return undefined;
    const body = (await res.json()) as { instances: { id: string; connections: number }[] };
    return body.instances.find((i) => i.id === gatewayId);
  };

  it('answers a join UNAVAILABLE at once while presence is not up, not after the timeout', async () => {
    const early = await client('early');
    const { ack, ms } = await timedJoin(early, 'lobby');
    process.stdout.write(`[presence start-up] join before presence answered in ${ms} ms\n`);
    expect(ack).toMatchObject({ ok: false, error: { code: 'UNAVAILABLE' } });
    expect(ms).toBeLessThan(2000);
  }, 30000);

  it('serves connects and joins, and shows in /stats, moments after presence is up', async () => {
    const presence = await startService('presence', { ...env, INSTANCE_ID: `${prefix}-p1` });
    services.push(presence);
    const upAt = Date.now();

    const late = await client('late');
    const first = await timedJoin(late, 'lobby');
    // The client that joined before presence retries, as UNAVAILABLE tells it to.
    const again = await timedJoin(clients[0], 'lobby');
    const seen = (await waitFor(
      async () => ((await gatewayInStats()) ? Date.now() : false),
      10000,
      'the gateway in /stats',
      50,
    )) as number;
    // Both connections counted: the one made before presence was up too (re-synced).
    await waitFor(
      async () => (await gatewayInStats())?.connections === 2,
      5000,
      'both connections in /stats',
      50,
    );
    const exactAt = Date.now();
    process.stdout.write(
      `[presence start-up] after presence was up: join ${first.ms} ms, retried join ` +
        `${again.ms} ms, gateway in /stats after ${seen - upAt} ms, both connections after ` +
        `${exactAt - upAt} ms\n`,
    );
    expect(first.ack).toMatchObject({ ok: true });
    expect(again.ack).toMatchObject({ ok: true });
    expect(first.ms).toBeLessThan(1000);
    expect(again.ms).toBeLessThan(1000);
    expect(seen - upAt).toBeLessThan(1500);
    expect(exactAt - upAt).toBeLessThan(3000);
    // And members see each other.
    await waitFor(
      async () => {
        const res = await fetch(`${stats.url}/stats/rooms/lobby`);
        return res.ok && ((await res.json()) as { users?: number }).users === 2;
      },
      5000,
      'both users in the room',
    );
  }, 40000);
});
