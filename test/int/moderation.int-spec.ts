import Redis from 'ioredis';
import { REDIS_URL, requireServices } from '@roomcast/testing';
import { describeModeration } from '../suites/moderation.suite';

// Moderation's suite on the machine's Redis; test/cluster/moderation.cluster-spec.ts runs it on a
// Redis Cluster.
describeModeration('a standalone Redis', async () => {
  await requireServices('redis');
  const redis = new Redis(REDIS_URL);
  return {
    client: redis,
    nodes: () => [redis],
    close: async () => void (await redis.quit()),
  };
});
