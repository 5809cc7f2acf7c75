import { Cluster, Redis } from 'ioredis';
import {
  createRedisClient,
  REDIS_CLIENT_OPTIONS,
  REDIS_CLUSTER_OPTIONS,
  redisConnectionOptions,
} from './connection';

describe('redisConnectionOptions', () => {
  it('is one Redis with REDIS_CLIENT_OPTIONS by default', () => {
    expect(redisConnectionOptions('redis://127.0.0.1:6379')).toEqual({
      type: 'single',
      url: 'redis://127.0.0.1:6379',
      options: REDIS_CLIENT_OPTIONS,
    });
    expect(redisConnectionOptions({ url: 'redis://127.0.0.1:6379', cluster: false }).type).toBe(
      'single',
    );
  });

  it('is a cluster of the seed nodes, their credentials and TLS given to every node', () => {
    const options = redisConnectionOptions({
      url: 'rediss://app:p%40ss@10.0.0.1:7001,rediss://10.0.0.2,rediss://[::1]:7003',
      cluster: true,
    });
    if (options.type !== 'cluster') throw new Error('expected a cluster');
    expect(options.nodes).toEqual([
      { host: '10.0.0.1', port: 7001 },
      { host: '10.0.0.2', port: 6379 },
      { host: '::1', port: 7003 },
    ]);
    expect(options.options).toMatchObject({
      ...REDIS_CLUSTER_OPTIONS,
      scaleReads: 'master',
      enableReadyCheck: true,
      enableOfflineQueue: false,
      redisOptions: {
        username: 'app',
        password: 'p@ss',
        tls: {},
        commandTimeout: REDIS_CLIENT_OPTIONS.commandTimeout,
        maxRetriesPerRequest: REDIS_CLIENT_OPTIONS.maxRetriesPerRequest,
      },
    });
    // Nodes never reconnect by themselves: the cluster does (clusterRetryStrategy).
    expect(options.options?.redisOptions).not.toHaveProperty('retryStrategy');
  });

  it('bounds the retries of a failover to about 3 s, and reconnecting to the seeds', () => {
    const o = REDIS_CLUSTER_OPTIONS;
    const retries =
      o.maxRedirections! * Math.max(o.retryDelayOnFailover!, o.retryDelayOnClusterDown!);
    expect(retries).toBeLessThanOrEqual(3000);
    for (const times of [1, 10, 1000]) {
      expect(o.clusterRetryStrategy!(times)).toBeLessThanOrEqual(2000);
    }
  });
});

describe('createRedisClient', () => {
  it('makes a Redis or a Cluster from the same description', () => {
    const single = createRedisClient({ url: 'redis://127.0.0.1:1' });
    const cluster = createRedisClient({
      url: 'redis://127.0.0.1:1,redis://127.0.0.1:2',
      cluster: true,
    });
    try {
      expect(single).toBeInstanceOf(Redis);
      expect(cluster).toBeInstanceOf(Cluster);
    } finally {
      single.disconnect();
      cluster.disconnect();
    }
  });
});
