import Redis from 'ioredis';
import { UnreachableError } from '@roomcast/config';
import { REDIS_URL, requireServices } from '@roomcast/testing';
import { describeStore } from '../suites/store.suite';
import { probeRedis } from '@roomcast/store';

// The store's suite on the machine's Redis; test/cluster/store.cluster-spec.ts runs it on a Redis
// Cluster.
describeStore('a standalone Redis', async () => {
  await requireServices('redis');
  const redis = new Redis(REDIS_URL);
  return {
    client: redis,
    nodes: () => [redis],
    close: async () => void (await redis.quit()),
  };
});

describe('probeRedis', () => {
  it('names the URL when Redis cannot be reached', async () => {
    const err = await probeRedis('redis://127.0.0.1:1', 1000).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnreachableError);
    expect((err as Error).message).toBe('cannot reach Redis at redis://127.0.0.1:1');
  });
});
