import { hostname } from 'node:os';
import { Logger, Module, type DynamicModule } from '@nestjs/common';
import { getRedisConnectionToken, RedisModule } from '@nestjs-modules/ioredis';
import { Cluster } from 'ioredis';
import { migrateLayout } from './redis/migration';
import { PresenceQueries } from './presence/presence.queries';
import { PresenceStore } from './presence/presence.store';
import {
  coalesceRedisWrites,
  redisReady,
  redisConnectionOptions,
  type RedisClient,
} from './redis/connection';
import { Moderation } from './moderation/moderation';
import { WebhookNumbers } from './moderation/webhook-numbers';
import { ReadCursors } from './room-log/read-cursors';
import { ScriptRunner } from './redis/script-runner';
import type { GroupCommitOptions } from '@roomcast/batching';
import { batchOptions, type CommonEnv, type RoomPolicies, type WriterEnv } from '@roomcast/config';
import { CURSOR_TTL_MS, RoomHistory, type Retention } from './room-log/room-history';

export interface StoreOptions {
  /** REDIS_URL: one Redis, or with `cluster` a Redis Cluster's seed nodes separated by commas. */
  url: string;
  /** REDIS_CLUSTER. @default false */
  cluster?: boolean;
  prefix: string;
  retention?: Retention;
  /** A room's own retention (its room rule); absent: `retention` for every room. */
  retentionFor?: (room: string) => Retention;
  /** Rooms ranked with the private ones (a room rule's requiresClaim). @default none */
  hidden?: (room: string) => boolean;
  /**
   * Number membership changes (presence: WEBHOOK_URL set) and accepted messages
   * (WEBHOOK_MESSAGES) among their rooms' webhook events. @default none
   */
  webhooks?: { members?: boolean; messages?: boolean };
  /** Group commit of the write path's scripts (BATCH_MAX_ITEMS, BATCH_MAX_WAIT_MS). */
  batching?: GroupCommitOptions;
}

/**
 * A service's store options from its settings: the connection, the group commit and, for the
 * services that append to rooms' logs (a WriterEnv), the retention. `webhooks` says which
 * changes the service numbers among webhook events.
 */
export function storeOptions(
  env: CommonEnv & Partial<Pick<WriterEnv, 'HISTORY_MAX' | 'HISTORY_MAX_AGE_MS'>>,
  webhooks: StoreOptions['webhooks'] = {},
  /** The rooms' rules (ROOM_RULES): their history settings apply per room. */
  policies?: RoomPolicies,
): StoreOptions {
  return {
    url: env.REDIS_URL,
    cluster: env.REDIS_CLUSTER,
    prefix: env.REDIS_PREFIX,
    batching: batchOptions(env),
    webhooks,
    ...(env.HISTORY_MAX !== undefined && env.HISTORY_MAX_AGE_MS !== undefined
      ? { retention: { maxMessages: env.HISTORY_MAX, maxAgeMs: env.HISTORY_MAX_AGE_MS } }
      : {}),
    ...(policies && policies.rules.size > 0
      ? {
          retentionFor: (room: string) => {
            const p = policies.of(room);
            return { maxMessages: p.historyMax, maxAgeMs: p.historyMaxAgeMs };
          },
          hidden: (room: string) => policies.of(room).requiresClaim,
        }
      : {}),
  };
}

/** The Redis client once it is ready and its keys are in this version's layout. */
const STORE_CLIENT = Symbol('STORE_CLIENT');

/**
 * The services' Redis store: presence (writes), its queries and room history over one client.
 * Before any of them is handed out the client is ready (a cluster client runs without an offline
 * queue, see REDIS_CLUSTER_OPTIONS) and the keys are in this version's layout (migration.ts).
 */
@Module({})
export class StoreModule {
  static forRoot(options: StoreOptions): DynamicModule {
    const connection = redisConnectionOptions({ url: options.url, cluster: options.cluster });
    const logger = new Logger('RedisLayout');
    return {
      module: StoreModule,
      global: true,
      imports: [RedisModule.forRoot(connection)],
      providers: [
        {
          provide: STORE_CLIENT,
          inject: [getRedisConnectionToken()],
          useFactory: async (redis: RedisClient) => {
            if (redis instanceof Cluster) await redisReady(redis);
            coalesceRedisWrites(redis);
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
            new PresenceStore(redis, options.prefix, {
              webhooks: options.webhooks?.members,
              hidden: options.hidden,
            }),
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
            new RoomHistory(
              redis,
              options.prefix,
              options.retention,
              options.webhooks?.messages,
              options.retentionFor,
            ),
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
        {
          provide: Moderation,
          inject: [STORE_CLIENT],
          useFactory: (redis: RedisClient) => new Moderation(redis, options.prefix),
        },
        {
          provide: WebhookNumbers,
          inject: [STORE_CLIENT],
          useFactory: (redis: RedisClient) => new WebhookNumbers(redis, options.prefix),
        },
      ],
      exports: [
        PresenceStore,
        PresenceQueries,
        RoomHistory,
        ReadCursors,
        Moderation,
        WebhookNumbers,
      ],
    };
  }
}
