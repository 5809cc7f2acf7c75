import { AMQP_URL, requireServices, runPrefix, waitFor } from '@roomcast/testing';
import type { AmqpConnectionManager, ChannelWrapper } from 'amqp-connection-manager';
import type { ConfirmChannel } from 'amqplib';
import type { MessageHandler } from '@nestjs/microservices';
import { REOPEN_MIN_INTERVAL_MS } from './amqp.constants';

/** The retry time after both tries, short for the test (30 s by default). */
const RETRY_MS = 12_000;
import { UnroutableError } from './amqp.errors';
import { AmqpTopicClient } from './amqp-topic.client';
import { AmqpTopicServer } from './amqp-topic.server';
import { openConnection } from './connection';

/**
 * What a publisher does when the broker will not take a message: a mandatory one that no queue
 * is bound for comes back at once, and a destination that nacks every publish gets a fresh
 * channel (then a fresh connection) instead of nacking for good.
 */
describe('AmqpTopicClient publishes the broker refuses (real RabbitMQ)', () => {
  let exchange: string;
  let admin: AmqpConnectionManager;
  let adminChannel: ChannelWrapper;
  let server: AmqpTopicServer | undefined;
  let client: AmqpTopicClient;
  let release: (() => void) | undefined;
  const queues: string[] = [];

  beforeAll(async () => {
    await requireServices('rabbitmq');
  });

  beforeEach(async () => {
    exchange = runPrefix('refuse') + Math.random().toString(36).slice(2, 6);
    admin = await openConnection({ urls: [AMQP_URL], exchange });
    adminChannel = admin.createChannel({
      setup: (ch: ConfirmChannel) => ch.assertExchange(exchange, 'topic', { durable: true }),
    });
    await adminChannel.waitForConnect();
    client = new AmqpTopicClient({
      urls: [AMQP_URL],
      exchange,
      requestTimeoutMs: 3000,
      reopenRetryMs: RETRY_MS,
    });
    await client.connect();
  });

  afterEach(async () => {
    release?.();
    release = undefined;
    await client.close();
    await server?.close();
    server = undefined;
    for (const q of queues.splice(0)) await adminChannel.deleteQueue(q).catch(() => undefined);
    await adminChannel.deleteExchange(exchange).catch(() => undefined);
    await adminChannel.close();
    await admin.close();
  });

  /** A queue bound to `pattern` that refuses every message (length 0, reject-publish): nacks. */
  const refusingQueue = async (pattern: string) => {
    const q = `${exchange}.${pattern.replace(/\W/g, '')}.full`;
    queues.push(q);
    await adminChannel.assertQueue(q, {
      durable: false,
      arguments: { 'x-max-length': 0, 'x-overflow': 'reject-publish' },
    });
    await adminChannel.bindQueue(q, exchange, pattern);
  };
  const takingQueue = async (pattern: string) => {
    const q = `${exchange}.${pattern.replace(/\W/g, '')}.ok`;
    queues.push(q);
    await adminChannel.assertQueue(q, { durable: false });
    await adminChannel.bindQueue(q, exchange, pattern);
  };

  /** A server on `svc.#` with `handlers`, listening (its queue removed after the test). */
  const svcServer = async (handlers: Record<string, MessageHandler>) => {
    server = new AmqpTopicServer({
      urls: [AMQP_URL],
      exchange,
      queue: `${exchange}.svc`,
      durable: false,
      bindings: ['svc.#'],
      prefetch: 10,
    });
    queues.push(`${exchange}.svc`);
    for (const [pattern, handler] of Object.entries(handlers)) server.addHandler(pattern, handler);
    await new Promise<void>((resolve, reject) =>
      server!.listen((err?: unknown) => (err ? reject(err) : resolve())),
    );
  };

  it('fails a mandatory request at once when no queue is bound, instead of at its timeout', async () => {
    const started = Date.now();
    await expect(client.request('svc.check', {}, 3000, { mandatory: true })).rejects.toBeInstanceOf(
      UnroutableError,
    );
    expect(Date.now() - started).toBeLessThan(1000);
    // A mandatory event likewise; one that a queue takes is confirmed as usual.
    await expect(client.publishEvent('svc.beat', {}, { mandatory: true })).rejects.toThrow(
      'no queue is bound for svc.beat',
    );
    await takingQueue('svc.#');
    await expect(client.publishEvent('svc.beat', {}, { mandatory: true })).resolves.toBeUndefined();
    // Without mandatory an unroutable message is dropped silently, as before.
    await expect(client.publishEvent('other.x', {})).resolves.toBeUndefined();
  });

  it('answers a mandatory request once a server has bound its queue', async () => {
    await svcServer({ 'svc.add': async (d: { a: number; b: number }) => ({ sum: d.a + d.b }) });
    await expect(
      client.request('svc.add', { a: 1, b: 2 }, 3000, { mandatory: true }),
    ).resolves.toEqual({ sum: 3 });
  });

  it('replaces a channel that nacks one destination in a row, keeping the answers in flight', async () => {
    await refusingQueue('sink.#');
    await takingQueue('room.#');
    await svcServer({
      'svc.hold': async () => {
        await new Promise<void>((r) => (release = r));
        return 'held';
      },
    });
    const reasons: string[] = [];
    client.onReopen((reason) => reasons.push(reason));
    const held = client.request<string>('svc.hold', {}, 5000);
    await waitFor(() => release !== undefined, 3000, 'the held request at the server');

    // Nacks to sink.* while room.* is confirmed on the same channel: only sink counts.
    for (let i = 0; i < 3; i++) {
      await expect(client.publishEvent('sink.x', { i })).rejects.toThrow('message nacked');
      await expect(client.publishEvent('room.r', { i })).resolves.toBeUndefined();
    }
    await waitFor(() => client.reopens === 1, 3000, 'a fresh channel');
    expect(reasons).toEqual([expect.stringContaining('nacked 3 publishes in a row to sink.*')]);
    // The request sent on the old channel still gets its answer there.
    release!();
    await expect(held).resolves.toBe('held');
    await expect(client.publishEvent('room.r', {})).resolves.toBeUndefined();

    // Still nacked on the fresh channel, with no confirm between: the connection is replaced.
    const connection = client.unwrap<AmqpConnectionManager>();
    let reconnected = 0;
    connection.on('disconnect', () => reconnected++);
    await new Promise((r) => setTimeout(r, REOPEN_MIN_INTERVAL_MS));
    for (let i = 0; i < 3; i++) {
      await expect(client.publishEvent('sink.x', { i })).rejects.toThrow('message nacked');
    }
    await waitFor(() => reconnected === 1, 3000, 'a fresh connection');
    await waitFor(
      () =>
        client.publishEvent('room.r', {}).then(
          () => true,
          () => false,
        ),
      5000,
      'publishing again after the reconnect',
    );

    // A queue that refuses by design costs no more: no reopen, no reconnect until it confirms.
    await new Promise((r) => setTimeout(r, REOPEN_MIN_INTERVAL_MS));
    for (let i = 0; i < 6; i++) {
      await expect(client.publishEvent('sink.x', { i })).rejects.toThrow('message nacked');
    }
    await new Promise((r) => setTimeout(r, 500));
    expect([client.reopens, reconnected]).toEqual([1, 1]);

    // Still refused once the retry time has passed: it starts over with a fresh channel, so a
    // gateway whose both tries landed in one leader election is not cut off for good.
    await new Promise((r) => setTimeout(r, RETRY_MS - 5500));
    for (let i = 0; i < 3; i++) {
      await expect(client.publishEvent('sink.x', { i })).rejects.toThrow('message nacked');
    }
    await waitFor(() => client.reopens === 2, 3000, 'a fresh channel after the retry time');
  }, 45000);

  it('replaces a channel whose confirmed requests to one destination go unanswered in a row', async () => {
    // Answers when asked to, else never: a reply lost on the way looks the same to the client.
    await svcServer({
      'svc.maybe': (d: { answer: boolean }) =>
        d.answer ? Promise.resolve('ok') : new Promise(() => undefined),
    });
    const reasons: string[] = [];
    client.onReopen((reason) => reasons.push(reason));
    const ask = (answer: boolean) => client.request('svc.maybe', { answer }, 300);

    // An answer between failures ends the run: two, an answer, two more: no new channel.
    await Promise.all([ask(false), ask(false)].map((p) => expect(p).rejects.toThrow('no answer')));
    await expect(ask(true)).resolves.toBe('ok');
    await Promise.all([ask(false), ask(false)].map((p) => expect(p).rejects.toThrow('no answer')));
    await new Promise((r) => setTimeout(r, 300));
    expect(client.reopens).toBe(0);

    // A third in a row: the channel is replaced, and requests are answered on the fresh one.
    await expect(ask(false)).rejects.toThrow('no answer');
    await waitFor(() => client.reopens === 1, 3000, 'a fresh channel');
    expect(reasons).toEqual([
      expect.stringContaining(
        '3 requests in a row to svc.* failed, the last (svc.maybe) confirmed but unanswered',
      ),
    ]);
    await expect(ask(true)).resolves.toBe('ok');
  }, 20000);
});
