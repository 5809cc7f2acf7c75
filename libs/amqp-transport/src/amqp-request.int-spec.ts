import { AMQP_URL, requireServices, runPrefix } from '@roomcast/testing';
import type { AmqpConnectionManager } from 'amqp-connection-manager';
import { firstValueFrom } from 'rxjs';
import { AmqpTopicClient } from './amqp-topic.client';
import { AmqpTopicServer } from './amqp-topic.server';
import { openConnection } from './connection';

/** Request/response over the topic exchange: a `@MessagePattern` handler answers a client. */
describe('AmqpTopicClient requests answered by AmqpTopicServer (real RabbitMQ)', () => {
  let exchange: string;
  let queue: string;
  let server: AmqpTopicServer;
  let client: AmqpTopicClient;
  let release: (() => void) | undefined;
  const applied: unknown[] = [];

  beforeAll(async () => {
    await requireServices('rabbitmq');
  });

  beforeEach(async () => {
    exchange = runPrefix('rpc') + Math.random().toString(36).slice(2, 6);
    queue = `${exchange}.q`;
    applied.length = 0;
    server = new AmqpTopicServer({
      urls: [AMQP_URL],
      exchange,
      queue,
      durable: false,
      bindings: ['svc.#'],
      prefetch: 50,
    });
    // Request handlers (isEventHandler false), as @MessagePattern registers them.
    server.addHandler('svc.add', async (data: { a: number; b: number }) => {
      applied.push(data);
      return { sum: data.a + data.b };
    });
    server.addHandler('svc.fail', async () => {
      throw new Error('redis is down');
    });
    server.addHandler('svc.hold', async () => {
      await new Promise<void>((r) => (release = r));
      return 'held';
    });
    server.addHandler('svc.event', async (data: unknown) => void applied.push(data), true);
    await new Promise<void>((resolve, reject) =>
      server.listen((err?: unknown) => (err ? reject(err) : resolve())),
    );
    client = new AmqpTopicClient({ urls: [AMQP_URL], exchange, requestTimeoutMs: 2000 });
    await client.connect();
  });

  afterEach(async () => {
    release?.();
    release = undefined;
    await client.close();
    await server.close();
    const admin = await openConnection({ urls: [AMQP_URL], exchange });
    const ch = admin.createChannel();
    await ch.waitForConnect();
    await ch.deleteQueue(queue).catch(() => undefined);
    await ch.deleteExchange(exchange).catch(() => undefined);
    await ch.close();
    await admin.close();
  });

  it('answers each request with its own handler result, many in flight at once', async () => {
    const answers = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        client.request<{ sum: number }>('svc.add', { a: i, b: 1 }),
      ),
    );
    expect(answers.map((a) => a.sum)).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
    expect(applied).toHaveLength(200);
  });

  it("answers Nest's send() as well", async () => {
    await expect(firstValueFrom(client.send('svc.add', { a: 2, b: 3 }))).resolves.toEqual({
      sum: 5,
    });
  });

  it("rejects with the handler's error message", async () => {
    await expect(client.request('svc.fail', {})).rejects.toThrow('redis is down');
    // The server goes on answering.
    await expect(client.request('svc.add', { a: 1, b: 1 })).resolves.toEqual({ sum: 2 });
  });

  it('times out when nothing answers, and ignores the late answer', async () => {
    await expect(client.request('svc.hold', {}, 300)).rejects.toThrow('no answer');
    release?.();
    await expect(client.request('svc.add', { a: 1, b: 2 })).resolves.toEqual({ sum: 3 });
  });

  it('fails a request in flight when its link drops, and answers again after the reconnect', async () => {
    const held = client.request('svc.hold', {}, 10000);
    await new Promise((r) => setTimeout(r, 200));
    client.unwrap<AmqpConnectionManager>().reconnect();
    await expect(held).rejects.toThrow('dropped');
    release?.();
    for (let i = 0; i < 100; i++) {
      const answer = await client.request('svc.add', { a: 4, b: 4 }).catch(() => undefined);
      if (answer) return expect(answer).toEqual({ sum: 8 });
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error('no answer after the reconnect');
  });

  it('still applies events without a reply', async () => {
    await client.publishEvent('svc.event', { e: 1 });
    await client.request('svc.add', { a: 0, b: 0 });
    // One queue, so the event (published first) was delivered first.
    expect(applied[0]).toEqual({ e: 1 });
  });
});
