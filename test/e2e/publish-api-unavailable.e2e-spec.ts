import type { Message } from '@roomcast/contracts';
import {
  connectClient,
  exited,
  requireServices,
  startCluster,
  startRedisServer,
  startService,
  startTcpProxy,
  stopService,
  waitFor,
  type AnyAck,
  type RedisServer,
  type TcpProxy,
  type TestClient,
  type TestCluster,
} from '@roomcast/testing';

const TOKEN = 'publish-api-token-unavailable-0123';

/**
 * The publish API when what it writes to is gone: stats' broker link through a proxy the test
 * cuts, and a Redis of the test's own it stops. Each answers 503 UNAVAILABLE within the
 * configured timeouts, stats keeps serving, and a retry with the same Idempotency-Key once the
 * dependency is back is delivered once. A stats started while the broker is unreachable serves
 * all but the publish route, which works once the broker is back.
 */
describe('server publish API: Redis or broker down', () => {
  let redis: RedisServer;
  let proxy: TcpProxy;
  let cluster: TestCluster;
  const clients: TestClient[] = [];
  const user = { id: 'backend-bot', name: 'Bot' };

  beforeAll(async () => {
    await requireServices('redis', 'rabbitmq');
    redis = await startRedisServer();
    proxy = await startTcpProxy(
      Number(new URL(process.env.AMQP_URL ?? 'amqp://127.0.0.1:5672').port || 5672),
    );
    cluster = await startCluster({
      label: 'pub503',
      gateways: 1,
      env: { REDIS_URL: redis.url },
      apiEnv: {
        API_TOKEN: TOKEN,
        AMQP_URL: `amqp://guest:guest@127.0.0.1:${proxy.port}`,
        PUBLISH_TIMEOUT_MS: '2000',
      },
    });
  }, 60000);

  afterAll(async () => {
    for (const c of clients) c.close();
    proxy?.restore();
    await cluster?.stop();
    await proxy?.close();
    await redis?.stop();
  }, 30000);

  const post = (room: string, text: string, key?: string, url = cluster.api.url) =>
    fetch(`${url}/api/rooms/${room}/messages`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: `Bearer ${TOKEN}`,
        ...(key ? { 'idempotency-key': key } : {}),
      },
      body: JSON.stringify({ text, user }),
      signal: AbortSignal.timeout(15000),
    });
  const answer = async (res: Response) => ({
    status: res.status,
    body: (await res.json()) as { error?: { code: string; message: string }; seq?: number },
  });

  it('answers 503 UNAVAILABLE with the broker cut, and a retry once it is back is delivered once', async () => {
    const member = await connectClient(cluster.gateways[0].url, 'Ann');
    clients.push(member);
    expect((await member.ack<AnyAck>('room:join', { room: 'down' })).ok).toBe(true);
    expect((await post('down', 'before')).status).toBe(201);

    proxy.cut();
    const started = Date.now();
    const during = await answer(await post('down', 'during', 'key-broker'));
    expect(during.status).toBe(503);
    expect(during.body.error).toEqual({
      code: 'UNAVAILABLE',
      message: expect.stringMatching(/broker/),
    });
    expect(Date.now() - started).toBeLessThan(8000);
    expect((await fetch(`${cluster.api.url}/health`)).status).toBe(200);

    proxy.restore();
    let retried: Awaited<ReturnType<typeof answer>> | undefined;
    await waitFor(
      async () => {
        retried = await answer(await post('down', 'during', 'key-broker'));
        return retried.status === 201;
      },
      20000,
      'a 201 for the retry once the broker is reachable',
    );
    await waitFor(() => member.messages.some((m) => m.text === 'during'), 5000, 'the retry');
    await new Promise((r) => setTimeout(r, 500));
    const texts = member.messages.filter((m: Message) => m.room === 'down').map((m) => m.text);
    expect(texts).toEqual(['before', 'during']);
    expect(member.messages.find((m) => m.text === 'during')?.seq).toBe(retried?.body.seq);
  }, 60000);

  it('starts without the broker: /stats and /admin serve, publish answers 503 until the broker is reachable, then 201', async () => {
    const member = await connectClient(cluster.gateways[0].url, 'Cy');
    clients.push(member);
    expect((await member.ack<AnyAck>('room:join', { room: 'nobroker' })).ok).toBe(true);
    // A link of its own, cut before the service starts: the broker was never reachable.
    const away = await startTcpProxy(
      Number(new URL(process.env.AMQP_URL ?? 'amqp://127.0.0.1:5672').port || 5672),
    );
    away.cut();
    const stats = await startService('api', {
      ...cluster.env,
      API_TOKEN: TOKEN,
      AMQP_URL: `amqp://guest:guest@127.0.0.1:${away.port}`,
      PUBLISH_TIMEOUT_MS: '2000',
    });
    try {
      expect((await fetch(`${stats.url}/stats`)).status).toBe(200);
      expect((await fetch(`${stats.url}/stats/rooms`)).status).toBe(200);
      expect((await fetch(`${stats.url}/admin`)).status).toBe(200);
      expect((await fetch(`${stats.url}/admin/state`)).status).toBe(200);
      const started = Date.now();
      const during = await answer(await post('nobroker', 'while away', undefined, stats.url));
      expect(during).toEqual({
        status: 503,
        body: { error: { code: 'UNAVAILABLE', message: expect.stringMatching(/broker/) } },
      });
      expect(Date.now() - started).toBeLessThan(2000);

      away.restore();
      let back: Awaited<ReturnType<typeof answer>> | undefined;
      await waitFor(
        async () => {
          back = await answer(await post('nobroker', 'broker back', 'key-back', stats.url));
          return back.status === 201;
        },
        20000,
        'a 201 once the broker is reachable',
      );
      await waitFor(() => member.messages.some((m) => m.text === 'broker back'), 5000, 'delivery');
      await new Promise((r) => setTimeout(r, 300));
      const texts = member.messages.filter((m) => m.room === 'nobroker').map((m) => m.text);
      expect(texts).toEqual(['broker back']);
      expect(stats.child.exitCode).toBeNull();
    } finally {
      stopService(stats, 'SIGKILL');
      await exited(stats.child);
      await away.close();
    }
  }, 60000);

  it('answers 503 UNAVAILABLE with Redis down, and publishes again once Redis is back', async () => {
    await redis.stop();
    const started = Date.now();
    const during = await answer(await post('down', 'no redis'));
    expect(during.status).toBe(503);
    expect(during.body.error).toEqual({
      code: 'UNAVAILABLE',
      message: expect.stringMatching(/Redis/),
    });
    expect(Date.now() - started).toBeLessThan(8000);
    expect((await fetch(`${cluster.api.url}/health`)).status).toBe(200);

    await redis.start();
    await waitFor(
      async () => (await post('down', 'redis back')).status === 201,
      20000,
      'a 201 once Redis is back',
    );
  }, 60000);
});
