import { openConnection } from '@roomcast/amqp-transport';
import Redis from 'ioredis';
import { AMQP_URL, REDIS_URL } from './services';

export interface RunState {
  redisPrefix: string;
  exchange: string;
  queues: string[];
  /** @default REDIS_URL */
  redisUrl?: string;
  /** The broker itself, not a proxy a test may have cut. @default AMQP_URL */
  amqpUrl?: string;
}

/**
 * Deletes what a run left in Redis (keys under its prefix) and RabbitMQ (its queues, exchange).
 * Both are tried; a failure of either is thrown afterwards, naming the URL.
 */
export async function dropRunState(run: RunState): Promise<void> {
  const failures: string[] = [];
  const redisUrl = run.redisUrl ?? REDIS_URL;
  const amqpUrl = run.amqpUrl ?? AMQP_URL;
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
  // Reported through the failed command below; without a listener ioredis logs each retry.
  redis.on('error', () => undefined);
  try {
    // SCAN, not KEYS: a benchmark run leaves thousands of keys in a Redis others use.
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${run.redisPrefix}*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length) await redis.unlink(...keys);
    } while (cursor !== '0');
  } catch (err) {
    failures.push(`Redis at ${redisUrl}: ${String(err)}`);
  } finally {
    redis.disconnect();
  }
  try {
    const conn = await openConnection({ urls: [amqpUrl], exchange: run.exchange });
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
