import { AMQP_URL, requireServices, runPrefix } from '@roomcast/testing';
import type { AmqpConnectionManager } from 'amqp-connection-manager';
import { AmqpQueueProbe } from './amqp-queue.probe';
import { openConnection } from './connection';

describe('AmqpQueueProbe (real RabbitMQ)', () => {
  let prefix: string;
  let owner: AmqpConnectionManager;
  let probe: AmqpQueueProbe;

  beforeAll(async () => {
    await requireServices('rabbitmq');
  });

  beforeEach(async () => {
    prefix = `${runPrefix('probe')}-${Math.random().toString(36).slice(2, 6)}`;
    owner = await openConnection({ urls: [AMQP_URL], exchange: prefix });
    const ch = owner.createChannel();
    await ch.waitForConnect();
    for (const q of ['a', 'b'])
      await ch.assertQueue(`${prefix}.${q}`, { exclusive: true, autoDelete: true, durable: false });
    probe = new AmqpQueueProbe({ urls: [AMQP_URL], exchange: prefix });
    await probe.connect();
  });

  afterEach(async () => {
    await probe.close();
    await owner.close().catch(() => undefined);
  });

  it('tells present from missing, on a fresh channel after each 404', async () => {
    const q = (n: string) => `${prefix}.${n}`;
    const states = await probe.check([q('x'), q('a'), q('y'), q('b')]);
    expect(
      Object.fromEntries([...states].map(([k, v]) => [k.slice(prefix.length + 1), v])),
    ).toEqual({
      x: { state: 'missing' },
      a: { state: 'present' },
      y: { state: 'missing' },
      b: { state: 'present' },
    });
  });

  it('sees an exclusive queue go the moment its connection closes', async () => {
    await owner.close();
    const states = await probe.check([`${prefix}.a`]);
    expect(states.get(`${prefix}.a`)).toEqual({ state: 'missing' });
  });

  it('answers unknown, never missing, when its own link is down', async () => {
    await probe.close();
    const state = (await probe.check([`${prefix}.zzz`])).get(`${prefix}.zzz`);
    expect(state).toMatchObject({ state: 'unknown' });
  });
});
