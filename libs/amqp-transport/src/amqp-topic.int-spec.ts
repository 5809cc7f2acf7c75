import { AMQP_URL, dropExchange, requireServices, runPrefix, waitFor } from '@roomcast/testing';
import type { AmqpConnectionManager } from 'amqp-connection-manager';
import { AmqpTopicClient } from './amqp-topic.client';
import { AmqpTopicServer } from './amqp-topic.server';
import { BrokerUnreachableError, QueueInUseError, QueueTypeMismatchError } from './amqp.errors';
import { openConnection } from './connection';

describe('AmqpTopicServer and AmqpTopicClient (real RabbitMQ)', () => {
  let exchange: string;
  let server: AmqpTopicServer;
  let client: AmqpTopicClient;
  const received: { key: string; data: unknown }[] = [];

  beforeAll(async () => {
    await requireServices('rabbitmq');
  });

  beforeEach(async () => {
    exchange = runPrefix('amqp') + Math.random().toString(36).slice(2, 6);
    received.length = 0;
    server = new AmqpTopicServer({ urls: [AMQP_URL], exchange, noAck: true });
    server.addHandler(
      'room.*',
      async (data: unknown) => void received.push({ key: 'room.*', data }),
      true,
    );
    server.addHandler(
      'room.special',
      async (data: unknown) => void received.push({ key: 'room.special', data }),
      true,
    );
    await new Promise<void>((resolve, reject) =>
      server.listen((err?: unknown) => (err ? reject(err) : resolve())),
    );
    client = new AmqpTopicClient({ urls: [AMQP_URL], exchange });
    await client.connect();
  });

  afterEach(async () => {
    await client.close();
    // Remove the exchange this test made; the exclusive queue goes with the connection.
    await dropExchange(exchange);
    await server.close();
  });

  it('receives a room only while bound to it', async () => {
    await client.publishEvent('room.general', { n: 1 });
    await server.bind('room.general');
    await client.publishEvent('room.general', { n: 2 });
    await client.publishEvent('room.other', { n: 3 });
    await waitFor(() => received.length >= 1, 3000, 'the bound delivery');
    await server.unbind('room.general');
    await client.publishEvent('room.general', { n: 4 });
    await client.publishEvent('room.special', { n: 0 }); // unbound: a marker that must not arrive
    await server.bind('room.special');
    await client.publishEvent('room.special', { n: 5 });
    await waitFor(() => received.length >= 2, 3000, 'the second delivery');
    expect(received).toEqual([
      { key: 'room.*', data: { n: 2 } },
      { key: 'room.special', data: { n: 5 } },
    ]);
  });

  it('routes a message by its BCC keys too: once per bound queue, never to an unbound one', async () => {
    // A second queue, bound to none of the message's keys: it must get nothing.
    const other: unknown[] = [];
    const stranger = new AmqpTopicServer({ urls: [AMQP_URL], exchange, noAck: true });
    stranger.addHandler('room.*', async (data: unknown) => void other.push(data), true);
    await new Promise<void>((resolve, reject) =>
      stranger.listen((err?: unknown) => (err ? reject(err) : resolve())),
    );
    try {
      await stranger.bind('room.z');
      await server.bind('room.b');
      await server.bind('room.c');
      // Routed by room.a (unbound here) and, in BCC, room.b and room.c (both bound here).
      await client.publishEvent('room.a', { n: 1 }, { bcc: ['room.b', 'room.c'] });
      await client.publishEvent('room.c', { n: 2 });
      await waitFor(() => received.length >= 2, 3000, 'the two deliveries');
      await new Promise((r) => setTimeout(r, 200));
      expect(received.map((r) => r.data)).toEqual([{ n: 1 }, { n: 2 }]);
      expect(other).toEqual([]);
    } finally {
      await stranger.close();
    }
  });

  it('restores its queue and every binding after the connection drops', async () => {
    await server.bind('room.a');
    await server.bind('room.b');
    await server.unbind('room.b');
    const before = server.queue;
    server.unwrap<AmqpConnectionManager>().reconnect();
    await waitFor(() => server.isConnected && server.queue !== before, 10000, 'the reconnect');
    await client.publishEvent('room.b', { n: 'b' });
    await client.publishEvent('room.a', { n: 'a' });
    await waitFor(() => received.length >= 1, 3000, 'a delivery after reconnect');
    await new Promise((r) => setTimeout(r, 200));
    expect(received).toEqual([{ key: 'room.*', data: { n: 'a' } }]);
    expect([...server.bindings]).toEqual(['room.a']);
  });

  it('confirms many pipelined publishes', async () => {
    await server.bind('room.load');
    await Promise.all(
      Array.from({ length: 200 }, (_, i) => client.publishEvent('room.load', { i })),
    );
    await waitFor(() => received.length === 200, 5000, '200 deliveries');
    expect(received.map((r) => (r.data as { i: number }).i)).toEqual(
      Array.from({ length: 200 }, (_, i) => i),
    );
  });

  it('names the URL when the broker cannot be reached', async () => {
    const err = await openConnection({
      urls: ['amqp://guest:guest@127.0.0.1:1'],
      exchange,
      connectTimeoutMs: 1000,
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BrokerUnreachableError);
    expect((err as Error).message).toBe('cannot reach RabbitMQ at amqp://guest:***@127.0.0.1:1');
  });

  describe('a list of broker URLs', () => {
    it('connects to the next URL when the first does not answer', async () => {
      const conn = await openConnection({
        urls: ['amqp://guest:guest@127.0.0.1:1', AMQP_URL],
        exchange,
        connectTimeoutMs: 4000,
      });
      try {
        expect(conn.isConnected()).toBe(true);
        expect(conn.connection?.connection.serverProperties.product).toBe('RabbitMQ');
      } finally {
        await conn.close();
      }
    });

    it('fails start-up naming every URL tried and what each answered', async () => {
      const err = await openConnection({
        urls: ['amqp://guest:guest@127.0.0.1:1', 'amqp://u:secret@127.0.0.1:2'],
        exchange,
        connectTimeoutMs: 3000,
      }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(BrokerUnreachableError);
      const message = (err as Error).message;
      expect(message).toMatch(/^cannot reach RabbitMQ at any of 2 URLs \(/);
      expect(message).toContain('amqp://guest:***@127.0.0.1:1: connect ECONNREFUSED');
      expect(message).toContain('amqp://u:***@127.0.0.1:2: connect ECONNREFUSED');
      expect(message).not.toContain('secret');
      expect(message.split('\n')).toHaveLength(1);
    });
  });

  describe('a shared quorum queue', () => {
    const started: AmqpTopicServer[] = [];
    let admin: AmqpConnectionManager;
    const start = async (queue: string, queueType: 'classic' | 'quorum') => {
      const s = new AmqpTopicServer({ urls: [AMQP_URL], exchange, queue, queueType });
      started.push(s);
      await new Promise<void>((resolve, reject) =>
        s.listen((err?: unknown) => (err ? reject(err) : resolve())),
      );
      return s;
    };
    /** Declaring with other arguments fails unless `args` are the queue's. */
    const declaredAs = async (queue: string, args: Record<string, unknown>) => {
      const ch = await admin.connection!.createChannel();
      ch.on('error', () => undefined);
      try {
        await ch.assertQueue(queue, { durable: true, arguments: args });
        return true;
      } catch {
        return false;
      } finally {
        void ch.close().catch(() => undefined);
      }
    };
    const dropQueue = async (queue: string) => {
      const ch = await admin.connection!.createChannel();
      await ch.deleteQueue(queue).catch(() => undefined);
      await ch.close().catch(() => undefined);
    };

    beforeEach(async () => {
      admin = await openConnection({ urls: [AMQP_URL], exchange });
    });

    afterEach(async () => {
      for (const s of started.splice(0)) await s.close();
      await admin.close();
    });

    it('declares it as a quorum queue and consumes from it', async () => {
      const queue = `${exchange}.presence`;
      const s = await start(queue, 'quorum');
      try {
        expect(await declaredAs(queue, { 'x-queue-type': 'quorum' })).toBe(true);
        const got: unknown[] = [];
        s.addHandler('presence.x', async (d: unknown) => void got.push(d), true);
        await s.bind('presence.x');
        await client.publishEvent('presence.x', { n: 1 });
        await waitFor(() => got.length === 1, 3000, 'a delivery from the quorum queue');
      } finally {
        await dropQueue(queue);
      }
    });

    it('replaces an unused classic queue of the same name, and says so', async () => {
      const queue = `${exchange}.presence-old`;
      const old = await start(queue, 'classic');
      await old.close();
      started.length = 0;
      try {
        expect(await declaredAs(queue, {})).toBe(true); // classic, unused
        await start(queue, 'quorum');
        expect(await declaredAs(queue, { 'x-queue-type': 'quorum' })).toBe(true);
      } finally {
        await dropQueue(queue);
      }
    });

    it('refuses to start while an earlier classic queue is still consumed', async () => {
      const queue = `${exchange}.presence-busy`;
      const old = await start(queue, 'classic');
      try {
        const err = await start(queue, 'quorum').catch((e: unknown) => e);
        expect(err).toBeInstanceOf(QueueTypeMismatchError);
        expect((err as QueueTypeMismatchError).consumers).toBe(1);
        expect(old.isConnected).toBe(true); // the earlier consumer is left alone
        expect(await declaredAs(queue, {})).toBe(true); // still the classic queue
      } finally {
        await dropQueue(queue);
      }
    });
  });

  describe('a named exclusive queue', () => {
    const started: AmqpTopicServer[] = [];
    const start = async (queue: string) => {
      const named = new AmqpTopicServer({ urls: [AMQP_URL], exchange, queue, exclusive: true });
      started.push(named);
      await new Promise<void>((resolve, reject) =>
        named.listen((err?: unknown) => (err ? reject(err) : resolve())),
      );
      return named;
    };

    afterEach(async () => {
      for (const s of started.splice(0)) await s.close();
    });

    it('refuses a second server on the same name with QueueInUseError', async () => {
      const queue = `${exchange}.gateway.g1`;
      const first = await start(queue);
      expect(first.queue).toBe(queue);
      const err = await start(queue).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(QueueInUseError);
      expect((err as Error).message).toBe(
        `queue ${queue} is held by another live connection (RESOURCE_LOCKED)`,
      );
      expect(first.isConnected).toBe(true); // the refused one did not disturb the owner
    });

    it('declares the same name again after a reconnect, with its bindings', async () => {
      const queue = `${exchange}.gateway.g2`;
      const named = await start(queue);
      const got: unknown[] = [];
      named.addHandler('room.*', async (data: unknown) => void got.push(data), true);
      await named.bind('room.x');
      let wentDown = false;
      named.status.subscribe((s) => (wentDown ||= s === 'disconnected'));
      named.unwrap<AmqpConnectionManager>().reconnect();
      await waitFor(() => wentDown && named.isConnected, 10000, 'the reconnect');
      expect(named.queue).toBe(queue);
      await client.publishEvent('room.x', { n: 1 });
      await waitFor(() => got.length === 1, 3000, 'a delivery on the redeclared queue');
    });
  });
});
