import { Module, type DynamicModule } from '@nestjs/common';
import { getRedisConnectionToken, RedisModule } from '@nestjs-modules/ioredis';
import { Cluster } from 'ioredis';
import { PresenceQueries } from './presence.queries';
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
 * it before it is ready.
 */
async function ready(redis: RedisClient): Promise<RedisClient> {
  if (redis instanceof Cluster) await redisReady(redis);
  return redis;
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
          provide: PresenceQueries,
          inject: [getRedisConnectionToken()],
          useFactory: async (redis: RedisClient) =>
            new PresenceQueries(await ready(redis), options.prefix),
        },
        {
          provide: RoomHistory,
          inject: [getRedisConnectionToken()],
          useFactory: async (redis: RedisClient) =>
            new RoomHistory(await ready(redis), options.prefix, options.retention),
        },
      ],
      exports: [PresenceStore, PresenceQueries, RoomHistory],
    };
  }
}
