import { Module, type DynamicModule } from '@nestjs/common';
import { getRedisConnectionToken, RedisModule } from '@nestjs-modules/ioredis';
import { Cluster, type Redis } from 'ioredis';
import { PresenceStore } from './presence.store';
import { redisReady, redisConnectionOptions, type RedisClient } from './redis';
import { RoomHistory, type Retention } from './room-history';

export interface PresenceStoreOptions {
  /** REDIS_URL: one Redis, or with `cluster` a Redis Cluster's seed nodes separated by commas. */
  url: string;
  /** REDIS_CLUSTER. @default false */
  cluster?: boolean;
  prefix: string;
  retention?: Retention;
}

/**
 * A cluster client runs without an offline queue (see REDIS_CLUSTER_OPTIONS), so nothing may use
 * it before it is ready. The stores still take one Redis: presence's scripts and global keys are
 * not yet laid out for a cluster (issue 13), so on a cluster they start but most commands fail.
 */
async function ready(redis: RedisClient): Promise<Redis> {
  if (redis instanceof Cluster) await redisReady(redis);
  return redis as Redis;
}

@Module({})
export class PresenceStoreModule {
  static forRoot(options: PresenceStoreOptions): DynamicModule {
    const connection = redisConnectionOptions({ url: options.url, cluster: options.cluster });
    return {
      module: PresenceStoreModule,
      global: true,
      imports: [RedisModule.forRoot(connection)],
      providers: [
        {
          provide: PresenceStore,
          inject: [getRedisConnectionToken()],
          useFactory: async (redis: RedisClient) =>
            new PresenceStore(await ready(redis), options.prefix),
        },
        {
          provide: RoomHistory,
          inject: [getRedisConnectionToken()],
          useFactory: async (redis: RedisClient) =>
            new RoomHistory(await ready(redis), options.prefix, options.retention),
        },
      ],
      exports: [PresenceStore, RoomHistory],
    };
  }
}
