import { createRedisClient, redisReady } from '@roomcast/store';
import { startRedisCluster } from '@roomcast/testing';
import { Cluster } from 'ioredis';
import { describeStore } from '../suites/store.suite';

// The store's suite (as on the machine's Redis, test/int/store.int-spec.ts) on a Redis Cluster of 3
// masters the harness starts: every script's keys share a slot, or the cluster refuses them.
describeStore('a Redis Cluster of 3 masters', async () => {
  const cluster = await startRedisCluster({ masters: 3 });
  const client = createRedisClient({ url: cluster.url, cluster: true }) as Cluster;
  await redisReady(client);
  return {
    client,
    nodes: () => client.nodes('master'),
    close: async () => {
      client.disconnect();
      await cluster.stop();
    },
  };
});
