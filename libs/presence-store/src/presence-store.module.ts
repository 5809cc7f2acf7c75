import { Module, type DynamicModule } from '@nestjs/common';
import { getRedisConnectionToken, RedisModule } from '@nestjs-modules/ioredis';
import type Redis from 'ioredis';
import { PresenceStore } from './presence.store';
import { RoomHistory, type Retention } from './room-history';
import { REDIS_CLIENT_OPTIONS } from './redis';

@Module({})
export class PresenceStoreModule {
  static forRoot(options: { url: string; prefix: string; retention?: Retention }): DynamicModule {
    return {
      module: PresenceStoreModule,
      global: true,
      imports: [
        RedisModule.forRoot({ type: 'single', url: options.url, options: REDIS_CLIENT_OPTIONS }),
      ],
      providers: [
        {
          provide: PresenceStore,
          inject: [getRedisConnectionToken()],
          useFactory: (redis: Redis) => new PresenceStore(redis, options.prefix),
        },
        {
          provide: RoomHistory,
          inject: [getRedisConnectionToken()],
          useFactory: (redis: Redis) => new RoomHistory(redis, options.prefix, options.retention),
        },
      ],
      exports: [PresenceStore, RoomHistory],
    };
  }
}
