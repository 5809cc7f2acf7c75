import { Module, type DynamicModule } from '@nestjs/common';
import { getRedisConnectionToken, RedisModule } from '@nestjs-modules/ioredis';
import { Cluster, type Redis } from 'ioredis';
import { PresenceStore, type Retention } from './presence.store';
import { redisReady, redisConnectionOptions, type RedisClient } from './redis';

export interface PresenceStoreOptions {
  /** REDIS_URL: one Redis, or with `cluster` a Redis Cluster's seed nodes separated by commas. */
  url: string;
  /** REDIS_CLUSTER. @default false */
  cluster?: boolean;
  prefix: string;
  retention?: Retention;
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
          useFactory: async (redis: RedisClient) => {
            // A cluster client runs without an offline queue (see REDIS_CLUSTER_OPTIONS), so
            // nothing may use it before it is ready.
            if (redis instanceof Cluster) await redisReady(redis);
            // The store still takes one Redis: its scripts and global keys are not yet laid out
            // for a cluster (issue 13), so on a cluster it starts but most commands fail.
            return new PresenceStore(redis as Redis, options.prefix, options.retention);
          },
        },
      ],
      exports: [PresenceStore],
    };
  }
}
