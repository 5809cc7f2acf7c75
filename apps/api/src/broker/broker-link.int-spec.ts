import { AmqpTopicServer } from '@roomcast/amqp-transport';
import { clusterOf } from '@roomcast/contracts';
import { AMQP_URL, dropExchange, requireServices, runPrefix, waitFor } from '@roomcast/testing';
import { BrokerLink } from './broker-link';

/** A port nothing listens on: a broker cluster that is down. */
const DOWN = 'amqp://guest:guest@127.0.0.1:1';

/**
 * The server API's links to several broker clusters, one of them down, against the real broker
 * (the other): rooms are reachable by their cluster, notices to gateways go over a connected one.
 */
describe('BrokerLink over several clusters (real RabbitMQ and one that is down)', () => {
  let exchange: string;
  let server: AmqpTopicServer;
  let link: BrokerLink | undefined;
  const received: { key: string; data: unknown }[] = [];
  const firstRoom = ['r1', 'r2', 'r3', 'r4', 'r5'].find((r) => clusterOf(r, 2) === 0)!;
  const secondRoom = ['r1', 'r2', 'r3', 'r4', 'r5'].find((r) => clusterOf(r, 2) === 1)!;

  beforeAll(() => requireServices('rabbitmq'));
  // A connect attempt to DOWN that was under way at shutdown ends within its timeout.
  afterAll(() => new Promise((r) => setTimeout(r, 500)));

  beforeEach(async () => {
    exchange = runPrefix('apilink') + Math.random().toString(36).slice(2, 6);
    received.length = 0;
    server = new AmqpTopicServer({
      urls: [AMQP_URL],
      exchange,
      noAck: true,
      bindings: ['gateway.g1', 'webhook.*', 'room.*'],
    });
    for (const pattern of ['gateway.*', 'webhook.*', 'room.*']) {
      server.addHandler(
        pattern,
        async (data: unknown) => void received.push({ key: pattern, data }),
        true,
      );
    }
    await new Promise<void>((resolve, reject) =>
      server.listen((err?: unknown) => (err ? reject(err) : resolve())),
    );
  });

  afterEach(async () => {
    await link?.onApplicationShutdown();
    link = undefined;
    await dropExchange(exchange);
    await server.close();
  });

  /** A short connect timeout, so an attempt on DOWN in flight at the end is over soon. */
  const options = (url: string) => ({
    urls: [url],
    exchange,
    name: 'api-link-test',
    connectTimeoutMs: 300,
  });

  it('reaches a room by its cluster and publishes it only there', async () => {
    link = new BrokerLink([options(AMQP_URL), options(DOWN)], 200);
    await waitFor(() => link!.connected, 5000, 'the first cluster connected');
    expect(link.clusters).toBe(2);
    expect(link.reaches(firstRoom)).toBe(true);
    expect(link.reaches(secondRoom)).toBe(false);
    await link.publishOn(0, `room.${firstRoom}`, { n: 1 });
    await expect(link.publishOn(1, `room.${secondRoom}`, { n: 2 })).rejects.toThrow(
      /has not been reachable/,
    );
    // Webhook events go to the first (home) cluster, notices to any connected one.
    await link.publish('webhook.r1', { n: 3 });
    await link.notify('gateway.g1', { n: 4 });
    await waitFor(() => received.length >= 3, 3000, 'three deliveries');
    expect(received).toEqual([
      { key: 'room.*', data: { n: 1 } },
      { key: 'webhook.*', data: { n: 3 } },
      { key: 'gateway.*', data: { n: 4 } },
    ]);
  });

  it('sends notices to gateways over a connected cluster when the first is down', async () => {
    link = new BrokerLink([options(DOWN), options(AMQP_URL)], 200);
    await waitFor(() => link!.connected, 5000, 'the second cluster connected');
    expect(link.reaches(firstRoom)).toBe(false);
    expect(link.reaches(secondRoom)).toBe(true);
    await link.notify('gateway.g1', { n: 1 });
    // Webhook queues are on the first cluster only: an event cannot go elsewhere.
    await expect(link.publish('webhook.r1', { n: 2 })).rejects.toThrow(/has not been reachable/);
    await waitFor(() => received.length >= 1, 3000, 'the notice');
    expect(received).toEqual([{ key: 'gateway.*', data: { n: 1 } }]);
  });
});
