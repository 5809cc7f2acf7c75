import { Module, type DynamicModule } from '@nestjs/common';
import { OpsController, OpsModule, READINESS_CHECKS, type ReadinessCheck } from '@roomcast/ops';
import { RoomFanout } from '@roomcast/amqp-transport';
import { amqpUrls, batchOptions } from '@roomcast/config';
import {
  PresenceQueries,
  PresenceStoreModule,
  RoomHistory,
  RoomWriter,
  webhookPublisher,
} from '@roomcast/presence-store';
import { ApiTokenGuard } from './api/api-token.guard';
import { BrokerLink } from './api/broker-link';
import { PublishController } from './api/publish.controller';
import { DeadLettersController } from './api/dead-letters.controller';
import { STATS_CONFIG, type StatsEnv } from './config/stats.env';
import { SignInThrottle } from './sign-in-throttle';
import { StatsTokenGuard } from './stats-token.guard';
import { APP_GUARD } from '@nestjs/core';
import { StatsController } from './stats.controller';
import { AdminController } from './admin/admin.controller';

@Module({})
export class StatsModule {
  static forRoot(config: StatsEnv): DynamicModule {
    // The publish API exists only with API_TOKEN set: then the service also publishes on the
    // broker, which it does not need to start or to serve anything else.
    const api = config.API_TOKEN
      ? {
          controllers: [PublishController, DeadLettersController],
          providers: [
            ApiTokenGuard,
            {
              // Opened in the background: stats serves without the broker (BrokerLink).
              provide: BrokerLink,
              useFactory: () =>
                new BrokerLink({
                  urls: amqpUrls(config.AMQP_URL),
                  name: `${config.INSTANCE_ID}/publish`,
                  exchange: config.EXCHANGE,
                  publishTimeoutMs: config.PUBLISH_TIMEOUT_MS,
                }),
            },
            {
              provide: RoomWriter,
              inject: [RoomHistory, BrokerLink],
              useFactory: (log: RoomHistory, broker: BrokerLink) =>
                new RoomWriter(
                  log,
                  new RoomFanout(
                    (key, body, options) => broker.publish(key, body, options),
                    batchOptions(config),
                  ),
                  webhookPublisher((key, data) => broker.publish(key, data)),
                ),
            },
          ],
        }
      : { controllers: [], providers: [] };
    return {
      module: StatsModule,
      imports: [
        OpsModule.forRoot({ service: 'stats', instance: config.INSTANCE_ID }),
        PresenceStoreModule.forRoot({
          url: config.REDIS_URL,
          cluster: config.REDIS_CLUSTER,
          prefix: config.REDIS_PREFIX,
          batching: batchOptions(config),
          retention: { maxMessages: config.HISTORY_MAX, maxAgeMs: config.HISTORY_MAX_AGE_MS },
          webhooks: { messages: config.WEBHOOK_MESSAGES },
        }),
      ],
      controllers: [OpsController, StatsController, AdminController, ...api.controllers],
      providers: [
        ...api.providers,
        { provide: STATS_CONFIG, useValue: config },
        SignInThrottle,
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
