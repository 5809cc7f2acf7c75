import { AmqpQueueProbe, openConnection } from '@roomcast/amqp-transport';
import { loadConfig } from '@roomcast/config';
import { gatewayQueueName } from '@roomcast/contracts';
import { PresenceQueries, PresenceStore } from '@roomcast/store';
import { AMQP_URL, REDIS_URL, requireServices, runPrefix, waitFor } from '@roomcast/testing';
import type { AmqpConnectionManager } from 'amqp-connection-manager';
import Redis from 'ioredis';
import { PresenceEnv } from '../config/presence.env';
import { MemoryPresenceOutbox } from '../testing/memory-outbox';
import { PresenceService } from '../state/presence.service';
import { QueueWatch } from './queue-watch.service';

const ann = { id: 'u-ann', name: 'Ann' };

/**
 * QueueWatch against the real broker and Redis: a "gateway" is a connection holding an exclusive
 * queue named by its instance id, as the gateway's transport declares it.
 */
describe('QueueWatch (real RabbitMQ and Redis)', () => {
  let redis: Redis;
  let prefix: string;
  let exchange: string;
  let store: PresenceStore;
  let outbox: MemoryPresenceOutbox;
  let presence: PresenceService;
  let probe: AmqpQueueProbe;
  let watch: QueueWatch;
  let gateway: AmqpConnectionManager | undefined;

  beforeAll(async () => {
    await requireServices('redis', 'rabbitmq');
    redis = new Redis(REDIS_URL);
  });

  beforeEach(async () => {
    prefix = `${runPrefix('qwatch')}-${Math.random().toString(36).slice(2, 6)}`;
    exchange = `${prefix}.events`;
    store = new PresenceStore(redis, `${prefix}:`);
    outbox = new MemoryPresenceOutbox();
    presence = new PresenceService(store, outbox);
    probe = new AmqpQueueProbe({ urls: [AMQP_URL], exchange, checkTimeoutMs: 1000 });
    await probe.connect();
    const config = loadConfig(PresenceEnv, {
      EXCHANGE: exchange,
      INSTANCE_ID: 'presence-1',
      LIVENESS_CHECK_MS: '100',
    });
    watch = new QueueWatch(store, presence, probe, config);
    // A gateway g1 that holds its queue, with Ann connected and in room r.
    gateway = await openConnection({ urls: [AMQP_URL], exchange });
    const ch = gateway.createChannel();
    await ch.waitForConnect();
    await ch.assertQueue(gatewayQueueName(exchange, 'g1'), {
      exclusive: true,
      autoDelete: true,
      durable: false,
    });
    await presence.heartbeat({ instanceId: 'g1', startedAt: 1 });
    await presence.connect('g1', 's1', ann);
    await presence.join('g1', 's1', ann, 'r');
    outbox.notices.length = 0;
  });

  afterEach(async () => {
    await gateway?.close().catch(() => undefined);
    await probe.close();
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length) await redis.del(...keys);
  });

  afterAll(async () => {
    await redis?.quit();
  });

  /** Runs rounds (each takes the lock in turn) until one has checked. */
  const checkedRound = () => waitFor(() => watch.checkOnce().then((r) => r?.checked && r), 2000);

  it('keeps a gateway whose connection lives, and removes it within a second of its death', async () => {
    expect(await checkedRound()).toEqual({ checked: true, removed: [], unknown: [] });
    expect(await store.knownInstances()).toEqual(['g1']);

    await gateway!.close();
    gateway = undefined;
    const closedAt = Date.now();
    await waitFor(
      async () => (await watch.checkOnce())?.removed.includes('g1'),
      1000,
      'g1 removed',
      20,
    );
    const ms = Date.now() - closedAt;
    expect(ms).toBeLessThan(1000);
    expect(await store.knownInstances()).toEqual([]);
    expect((await new PresenceQueries(redis, `${prefix}:`).clusterStats()).connections).toBe(0);
    expect(outbox.notices).toEqual([{ room: 'r', event: 'leave', user: ann }]);
  });

  it('removes nothing while another replica holds the lock', async () => {
    await gateway!.close();
    gateway = undefined;
    expect(await store.tryLockQueueWatch('presence-2', 300)).toBe(true);
    expect(await watch.checkOnce()).toMatchObject({ checked: false, removed: [] });
    expect(await store.knownInstances()).toEqual(['g1']);
    // The other replica died holding it: the lock expires and this one takes over.
    expect(await checkedRound()).toMatchObject({ removed: ['g1'] });
  });

  it('removes nothing when its own broker link is down: no answer is not an answer', async () => {
    await gateway!.close();
    gateway = undefined;
    await probe.close();
    expect(await checkedRound()).toMatchObject({ removed: [], unknown: ['g1'] });
    expect(await store.knownInstances()).toEqual(['g1']);
    expect(outbox.notices).toEqual([]);
  });
});
