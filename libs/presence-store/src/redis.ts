import { START_HINTS, UnreachableError } from '@roomcast/config';
import Redis, { type RedisOptions } from 'ioredis';

/**
 * Client options that keep callers from hanging while Redis is away: a command fails after a
 * bounded wait (and the gateway answers UNAVAILABLE) instead of queueing forever.
 */
export const REDIS_CLIENT_OPTIONS: RedisOptions = {
  maxRetriesPerRequest: 1,
  commandTimeout: 3000,
  connectTimeout: 3000,
  retryStrategy: (times) => Math.min(times * 200, 2000),
};

/** Fails start-up with the URL named when Redis does not answer. */
export async function probeRedis(url: string, timeoutMs = 3000): Promise<void> {
  const client = new Redis(url, {
    lazyConnect: true,
    connectTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    enableOfflineQueue: false,
  });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.ping();
  } catch (err) {
    throw new UnreachableError('Redis', url, START_HINTS.redis, err);
  } finally {
    client.disconnect();
  }
}
