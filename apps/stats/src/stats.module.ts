import { Module, type DynamicModule } from '@nestjs/common';
import { OpsController, OpsModule, READINESS_CHECKS, type ReadinessCheck } from '@roomcast/ops';
import { PresenceQueries, PresenceStoreModule } from '@roomcast/presence-store';
import { STATS_CONFIG, type StatsEnv } from './config/stats.env';
import { StatsTokenGuard } from './stats-token.guard';
import { APP_GUARD } from '@nestjs/core';
import { StatsController } from './stats.controller';

@Module({})
export class StatsModule {
  static forRoot(config: StatsEnv): DynamicModule {
    return {
      module: StatsModule,
      imports: [
        OpsModule.forRoot({ service: 'stats', instance: config.INSTANCE_ID }),
        PresenceStoreModule.forRoot({
          url: config.REDIS_URL,
          cluster: config.REDIS_CLUSTER,
          prefix: config.REDIS_PREFIX,
        }),
      ],
      controllers: [OpsController, StatsController],
      providers: [
        { provide: STATS_CONFIG, useValue: config },
        { provide: APP_GUARD, useClass: StatsTokenGuard },
        {
          provide: READINESS_CHECKS,
          inject: [PresenceQueries],
          useFactory: (store: PresenceQueries): ReadinessCheck[] => [
            { name: 'redis', check: () => store.ping() },
          ],
        },
      ],
    };
  }
}
