import { createRedisClient, redisReady } from '@roomcast/store';
import { startRedisCluster } from '@roomcast/testing';
import { Cluster } from 'ioredis';
import { describeModeration } from '../suites/moderation.suite';

// Moderation's suite (as on the machine's Redis, test/int/moderation.int-spec.ts) on a Redis
// Cluster of 3 masters the harness starts: a room's MULTI and the cross-room index's each stay in
// one slot, or the cluster refuses them.
describeModeration('a Redis Cluster of 3 masters', async () => {
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
