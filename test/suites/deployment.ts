import type { ClusterOptions, RabbitCluster, RedisCluster } from '@roomcast/testing';

/**
 * Where a shared suite runs roomcast: the suites in this folder are written once and run on each
 * deployment (standalone Redis by `npm test`, a Redis Cluster by `npm run test:cluster`).
 */
export interface Deployment {
  /** Ends the suite's title: "on standalone Redis". */
  name: string;
  /** The machine's services the deployment needs (checked before starting anything). */
  requires: ('redis' | 'rabbitmq')[];
  /** startCluster options, read when the suite starts its cluster (after outer beforeAll hooks). */
  options(): Partial<ClusterOptions>;
}

export const STANDALONE: Deployment = {
  name: 'standalone Redis',
  requires: ['redis', 'rabbitmq'],
  options: () => ({}),
};

/** Every service on a Redis Cluster the spec started (and stops) itself. */
export function onRedisCluster(name: string, redisCluster: () => RedisCluster): Deployment {
  return { name, requires: ['rabbitmq'], options: () => ({ redisCluster: redisCluster() }) };
}

/** Every service on a RabbitMQ cluster and a Redis Cluster the spec started (and stops) itself. */
export function onClusters(
  name: string,
  rabbitCluster: () => RabbitCluster,
  redisCluster: () => RedisCluster,
): Deployment {
  return {
    name,
    requires: [],
    options: () => ({ rabbitCluster: rabbitCluster(), redisCluster: redisCluster() }),
  };
}
