import { openConnection } from '@roomcast/amqp-transport';
import Redis from 'ioredis';
import { AMQP_URL, REDIS_URL } from './services';

/** Deletes what a run left in Redis (keys under its prefix) and RabbitMQ (its queues, exchange). */
export async function dropRunState(run: {
  redisPrefix: string;
  exchange: string;
  queues: string[];
}): Promise<void> {
  const redis = new Redis(REDIS_URL);
  try {
    const keys = await redis.keys(`${run.redisPrefix}*`);
    if (keys.length) await redis.del(...keys);
  } finally {
    await redis.quit();
  }
  const conn = await openConnection({ urls: [AMQP_URL], exchange: run.exchange });
  try {
    const ch = conn.createChannel();
    await ch.waitForConnect();
    for (const queue of run.queues) await ch.deleteQueue(queue).catch(() => undefined);
    await ch.deleteExchange(run.exchange).catch(() => undefined);
    await ch.close();
  } finally {
    await conn.close();
  }
}
