import { clusterServices } from '../../scripts/services';

describe('npm start: the local cluster (scripts/services.js)', () => {
  const gatewayUrls = (env: NodeJS.ProcessEnv) =>
    clusterServices(env)
      .filter((s) => s.app === 'gateway')
      .map((s) => s.env?.AMQP_URL);

  it('gives each gateway the RabbitMQ cluster nodes starting at a node of its own', () => {
    expect(gatewayUrls({ AMQP_URL: 'amqp://a:1, amqp://b:2,amqp://c:3', GATEWAYS: '4' })).toEqual([
      'amqp://a:1,amqp://b:2,amqp://c:3',
      'amqp://b:2,amqp://c:3,amqp://a:1',
      'amqp://c:3,amqp://a:1,amqp://b:2',
      'amqp://a:1,amqp://b:2,amqp://c:3',
    ]);
  });

  it("turns each broker cluster's nodes and keeps the clusters in their order", () => {
    expect(gatewayUrls({ AMQP_URL: 'amqp://a:1,amqp://b:2;amqp://c:3', GATEWAYS: '3' })).toEqual([
      'amqp://a:1,amqp://b:2;amqp://c:3',
      'amqp://b:2,amqp://a:1;amqp://c:3',
      'amqp://a:1,amqp://b:2;amqp://c:3',
    ]);
    // Single-node clusters: nothing to turn, the environment passes it through.
    expect(gatewayUrls({ AMQP_URL: 'amqp://a:1;amqp://c:3' })).toEqual([
      undefined,
      undefined,
      undefined,
    ]);
  });

  it('leaves one broker as it is (the environment passes it through)', () => {
    expect(gatewayUrls({ AMQP_URL: 'amqp://a:1' })).toEqual([undefined, undefined, undefined]);
    expect(gatewayUrls({})).toEqual([undefined, undefined, undefined]);
  });
});
