import { hostname } from 'node:os';
import { Logger, Module, type DynamicModule } from '@nestjs/common';
import { getRedisConnectionToken, RedisModule } from '@nestjs-modules/ioredis';
import { Cluster } from 'ioredis';
import { migrateLayout } from './migration';
import { PresenceQueries } from './presence.queries';
import { PresenceStore } from './presence.store';
import { redisReady, redisConnectionOptions, type RedisClient } from './redis';
import { ReadCursors } from './read-cursors';
import { ScriptRunner } from './script-runner';
import type { GroupCommitOptions } from '@roomcast/batching';
import { CURSOR_TTL_MS, RoomHistory, type Retention } from './room-history';

export interface PresenceStoreOptions {
  /** REDIS_URL: one Redis, or with `cluster` a Redis Cluster's seed nodes separated by commas. */
  url: string;
  /** REDIS_CLUSTER. @default false */
  cluster?: boolean;
  prefix: string;
  retention?: Retention;
  /**
   * Number membership changes (presence: WEBHOOK_URL set) and accepted messages
   * (WEBHOOK_MESSAGES) among their rooms' webhook events. @default none
   */
  webhooks?: { members?: boolean; messages?: boolean };
  /** Group commit of the write path's scripts (BATCH_MAX_ITEMS, BATCH_MAX_WAIT_MS). */
  batching?: GroupCommitOptions;
}

/** The Redis client once it is ready and its keys are in this version's layout. */
const STORE_CLIENT = Symbol('STORE_CLIENT');

/**
 * The services' Redis store: presence (writes), its queries and room history over one client.
 * Before any of them is handed out the client is ready (a cluster client runs without an offline
 * queue, see REDIS_CLUSTER_OPTIONS) and the keys are in this version's layout (migration.ts).
 */
@Module({})
export class PresenceStoreModule {
  static forRoot(options: PresenceStoreOptions): DynamicModule {
    const connection = redisConnectionOptions({ url: options.url, cluster: options.cluster });
    const logger = new Logger('RedisLayout');
    return {
      module: PresenceStoreModule,
      global: true,
      imports: [RedisModule.forRoot(connection)],
      providers: [
        {
          provide: STORE_CLIENT,
          inject: [getRedisConnectionToken()],
          useFactory: async (redis: RedisClient) => {
            if (redis instanceof Cluster) await redisReady(redis);
            ScriptRunner.configure(redis, options.batching);
            await migrateLayout(redis, options.prefix, `${hostname()}-${process.pid}`, (m) =>
              logger.log(m),
            );
            return redis;
          },
        },
        {
          provide: PresenceStore,
          inject: [STORE_CLIENT],
          useFactory: (redis: RedisClient) =>
            new PresenceStore(redis, options.prefix, { webhooks: options.webhooks?.members }),
        },
        {
          provide: PresenceQueries,
          inject: [STORE_CLIENT],
          useFactory: (redis: RedisClient) => new PresenceQueries(redis, options.prefix),
        },
        {
          provide: RoomHistory,
          inject: [STORE_CLIENT],
          useFactory: (redis: RedisClient) =>
            new RoomHistory(redis, options.prefix, options.retention, options.webhooks?.messages),
        },
        {
          provide: ReadCursors,
          inject: [STORE_CLIENT],
          useFactory: (redis: RedisClient) =>
            new ReadCursors(
              redis,
              options.prefix,
              Math.max(CURSOR_TTL_MS, options.retention?.maxAgeMs ?? 0),
              options.retention?.maxAgeMs,
            ),
        },
      ],
      exports: [PresenceStore, PresenceQueries, RoomHistory, ReadCursors],
    };
  }
}
