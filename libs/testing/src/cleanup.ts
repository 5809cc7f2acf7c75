import { openConnection } from '@roomcast/amqp-transport';
import { amqpUrls, redisUrls } from '@roomcast/config';
import Redis, { Cluster } from 'ioredis';
import { AMQP_URL, REDIS_URL } from './services';

export interface RunState {
  redisPrefix: string;
  exchange: string;
  queues: string[];
  /** null: nothing to remove from Redis (a Redis Cluster that goes with the run). @default REDIS_URL */
  redisUrl?: string | null;
  /** `redisUrl` is a Redis Cluster's seed list (REDIS_CLUSTER=true): every master is scanned. */
  redisCluster?: boolean;
  /**
   * The broker itself, not a proxy a test may have cut (a cluster's nodes separated by commas).
   * @default AMQP_URL
   */
  amqpUrl?: string;
}

/**
 * Deletes what a run left in Redis (keys under its prefix) and RabbitMQ (its queues, exchange).
 * Both are tried; a failure of either is thrown afterwards, naming the URL.
 */
export async function dropRunState(run: RunState): Promise<void> {
  const failures: string[] = [];
  const redisUrl = run.redisUrl === undefined ? REDIS_URL : run.redisUrl;
  const amqpUrl = run.amqpUrl ?? AMQP_URL;
  if (redisUrl !== null) {
    try {
      await (run.redisCluster
        ? dropClusterKeys(redisUrl, run.redisPrefix)
        : dropKeys(new Redis(redisUrl, { maxRetriesPerRequest: 1 }), run.redisPrefix));
    } catch (err) {
      failures.push(`Redis at ${redisUrl}: ${String(err)}`);
    }
  }
  try {
    const conn = await openConnection({ urls: amqpUrls(amqpUrl), exchange: run.exchange });
    try {
      const ch = conn.createChannel();
      await ch.waitForConnect();
      // A queue or exchange that is already gone is what we want.
      for (const queue of run.queues) await ch.deleteQueue(queue).catch(() => undefined);
      await ch.deleteExchange(run.exchange).catch(() => undefined);
      await ch.close();
    } finally {
      await conn.close();
    }
  } catch (err) {
    failures.push(`RabbitMQ: ${String(err)}`);
  }
  if (failures.length) throw new Error(`clean-up of ${run.redisPrefix}*: ${failures.join('; ')}`);
}

/** Deletes a test's exchange (gone already is fine) over a connection of its own. */
export async function dropExchange(exchange: string, url = AMQP_URL): Promise<void> {
  const conn = await openConnection({ urls: amqpUrls(url), exchange });
  try {
    const ch = conn.createChannel();
    await ch.waitForConnect();
    await ch.deleteExchange(exchange).catch(() => undefined);
    await ch.close();
  } finally {
    await conn.close();
  }
}

/** Unlinks the keys under `prefix` on one Redis (or one cluster master), and disconnects it. */
async function dropKeys(redis: Redis, prefix: string, oneByOne = false): Promise<void> {
  // Reported through the failed command; without a listener ioredis logs each retry.
  redis.on('error', () => undefined);
  try {
    // SCAN, not KEYS: a benchmark run leaves thousands of keys in a Redis others use.
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = next;
      if (!keys.length) continue;
      // On a cluster node a multi-key UNLINK fails with CROSSSLOT unless the keys share a slot.
      if (oneByOne) await Promise.all(keys.map((k) => redis.unlink(k)));
      else await redis.unlink(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

/** The same on every master of a Redis Cluster: SCAN sees one node's keys only. */
async function dropClusterKeys(seeds: string, prefix: string): Promise<void> {
  const nodes = redisUrls(seeds).map((u) => {
    const url = new URL(u);
    return { host: url.hostname, port: Number(url.port || 6379) };
  });
  const cluster = new Cluster(nodes, {
    enableOfflineQueue: true,
    clusterRetryStrategy: () => null,
    redisOptions: { maxRetriesPerRequest: 1, connectTimeout: 2000 },
  });
  cluster.on('error', () => undefined);
  try {
    await new Promise<void>((resolve, reject) => {
      cluster.once('ready', resolve);
      cluster.once('end', () => reject(new Error('no node of the Redis Cluster answered')));
    });
    for (const master of cluster.nodes('master')) {
      await dropKeys(master.duplicate(), prefix, true);
    }
  } finally {
    cluster.disconnect();
  }
}
