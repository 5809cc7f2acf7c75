import { Module, type DynamicModule } from '@nestjs/common';
import { opsController, OpsModule, READINESS_CHECKS, type ReadinessCheck } from '@roomcast/ops';
import {
  amqpClusters,
  amqpUrls,
  batchOptions,
  loadConfig,
  publisherOptions,
  roomPolicies,
  RoomPolicies,
} from '@roomcast/config';
import { PresenceQueries, StoreModule, storeOptions, RoomHistory } from '@roomcast/store';
import { RoomFanout, RoomWriter, ShardedRoomPublisher, webhookPublisher } from '@roomcast/delivery';
import { ApiTokenGuard } from './server-api/api-token.guard';
import { BrokerLink } from './broker/broker-link';
import { PublishController } from './server-api/publish.controller';
import { DeadLettersController } from './server-api/dead-letters.controller';
import { ModerationController } from './server-api/moderation.controller';
import { API_CONFIG, SHOWS_PRIVATE_ROOMS, showsPrivateRooms, type ApiEnv } from './config/api.env';
import { SignInThrottle } from './auth/sign-in-throttle';
import { StatsTokenGuard } from './stats/stats-token.guard';
import { StatsController } from './stats/stats.controller';
import { AdminController } from './ops-page/admin.controller';
import { OpsPageGuard } from './ops-page/ops-page.guard';
import {
  WebhookBacklog,
  webhookReceiverUrls,
  WebhookReceiversEnv,
} from './ops-page/webhook-backlog';
import { BrokerQueueCounts } from './broker/queue-counts';

@Module({})
export class ApiModule {
  static forRoot(config: ApiEnv): DynamicModule {
    // ROOM_RULES, read and checked now: a broken file stops the start with its mistakes.
    const policies = roomPolicies(config);
    // The publish API exists only with API_TOKEN set: then the service also publishes on the
    // broker, which it does not need to start or to serve anything else.
    const api = config.API_TOKEN
      ? {
          controllers: [PublishController, DeadLettersController, ModerationController],
          providers: [
            ApiTokenGuard,
            {
              // Opened in the background: the service serves without the broker (BrokerLink).
              provide: BrokerLink,
              // One link per broker cluster of AMQP_URL (one in most deployments).
              useFactory: () =>
                new BrokerLink(
                  amqpClusters(config.AMQP_URL).map((_, i) => publisherOptions(config, i)),
                ),
            },
            {
              provide: RoomWriter,
              inject: [RoomHistory, BrokerLink],
              useFactory: (log: RoomHistory, broker: BrokerLink) => {
                // A group commit per cluster; a room's writes go to its cluster's.
                const fanouts = Array.from(
                  { length: broker.clusters },
                  (_, i) =>
                    new RoomFanout(
                      (key, body, options) => broker.publishOn(i, key, body, options),
                      batchOptions(config),
                    ),
                );
                return new RoomWriter(
                  log,
                  fanouts.length === 1 ? fanouts[0] : new ShardedRoomPublisher(fanouts),
                  webhookPublisher((key, data) => broker.publish(key, data)),
                );
              },
            },
          ],
        }
      : { controllers: [], providers: [] };
    return {
      module: ApiModule,
      imports: [
        OpsModule.forRoot({ service: 'api', instance: config.INSTANCE_ID }),
        StoreModule.forRoot(storeOptions(config, { messages: config.WEBHOOK_MESSAGES }, policies)),
      ],
      controllers: [
        opsController(StatsTokenGuard),
        StatsController,
        AdminController,
        ...api.controllers,
      ],
      providers: [
        ...api.providers,
        { provide: API_CONFIG, useValue: config },
        { provide: RoomPolicies, useValue: policies },
        { provide: SHOWS_PRIVATE_ROOMS, useValue: showsPrivateRooms(config) },
        SignInThrottle,
        StatsTokenGuard,
        OpsPageGuard,
        {
          // The operations page's webhook backlog: passive queue checks, one connection opened
          // at the first read, none without WEBHOOK_URL (presence's setting, read here too).
          provide: BrokerQueueCounts,
          useFactory: () =>
            new BrokerQueueCounts({
              urls: amqpUrls(config.AMQP_URL),
              exchange: config.EXCHANGE,
              name: `${config.INSTANCE_ID}/queue-counts`,
              timeoutMs: 1000,
            }),
        },
        {
          provide: WebhookBacklog,
          inject: [BrokerQueueCounts],
          useFactory: (counts: BrokerQueueCounts) =>
            new WebhookBacklog(
              webhookReceiverUrls(loadConfig(WebhookReceiversEnv)),
              config.WEBHOOK_QUEUE,
              (queues) => counts.count(queues),
            ),
        },
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
