import { startRedisCluster, type RedisCluster } from '@roomcast/testing';
import { chatSuite } from '../suites/chat.suite';
import { crashCleanupSuite } from '../suites/crash-cleanup.suite';
import { onRedisCluster } from '../suites/deployment';

/**
 * The e2e suites of test/suites (delivery, history, sinceSeq, clientId, stats, kill -9 and
 * stalls) with every service on one Redis Cluster of 3 masters, which this file starts and stops;
 * each suite has its own key prefix on it.
 */
describe('on a Redis Cluster of 3 masters', () => {
  let redis: RedisCluster | undefined;

  beforeAll(async () => {
    redis = await startRedisCluster({ masters: 3 });
    process.stdout.write(`Redis Cluster of 3 masters started in ${redis.startMs} ms\n`);
  }, 60000);

  afterAll(() => redis?.stop());

  const deployment = onRedisCluster('a Redis Cluster of 3 masters', () => redis!);
  chatSuite(deployment);
  crashCleanupSuite(deployment);
});
