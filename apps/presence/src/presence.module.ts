import { Module, type DynamicModule } from '@nestjs/common';
import {
  AmqpTopicClient,
  provideAmqpQueueProbe,
  provideAmqpTopicClient,
} from '@roomcast/amqp-transport';
import { OpsController, OpsModule, READINESS_CHECKS, type ReadinessCheck } from '@roomcast/ops';
import { PresenceStore, StoreModule, storeOptions } from '@roomcast/store';
import { amqpUrls, batchOptions, roomPolicies, RoomPolicies } from '@roomcast/config';
import { PRESENCE_CONFIG, webhookUrls, type PresenceEnv } from './config/presence.env';
import { AmqpPresenceOutbox, PresenceOutbox } from './broker/outbox';
import { PresenceController } from './state/presence.controller';
import { PresenceMetrics } from './state/presence.metrics';
import { PresenceService } from './state/presence.service';
import { QueueWatch } from './broker/queue-watch.service';
import { SweeperService } from './cleanup/sweeper.service';
import { WebhookSenders } from './webhooks/webhook-senders.service';

@Module({})
export class PresenceModule {
  static forRoot(config: PresenceEnv): DynamicModule {
    const webhooks = webhookUrls(config).length > 0;
    // ROOM_RULES, read and checked now: a broken file stops the start with its mistakes.
    const policies = roomPolicies(config);
    return {
      module: PresenceModule,
      imports: [
        OpsModule.forRoot({ service: 'presence', instance: config.INSTANCE_ID }),
        StoreModule.forRoot(storeOptions(config, { members: webhooks }, policies)),
      ],
      controllers: [OpsController, PresenceController],
      providers: [
        { provide: PRESENCE_CONFIG, useValue: config },
        { provide: RoomPolicies, useValue: policies },
        provideAmqpTopicClient({
          urls: amqpUrls(config.AMQP_URL),
          name: `${config.INSTANCE_ID}/publish`,
          exchange: config.EXCHANGE,
        }),
        // A connection of its own: failed passive declares close channels, never the publisher's.
        provideAmqpQueueProbe({
          urls: amqpUrls(config.AMQP_URL),
          name: `${config.INSTANCE_ID}/probe`,
          exchange: config.EXCHANGE,
        }),
        {
          provide: READINESS_CHECKS,
          inject: [PresenceStore, AmqpTopicClient],
          useFactory: (store: PresenceStore, broker: AmqpTopicClient): ReadinessCheck[] => [
            { name: 'redis', check: () => store.ping() },
            { name: 'rabbitmq', check: () => broker.isConnected },
          ],
        },
        {
          provide: PresenceOutbox,
          inject: [AmqpTopicClient],
          useFactory: (client: AmqpTopicClient) =>
            new AmqpPresenceOutbox(client, batchOptions(config)),
        },
        PresenceMetrics,
        PresenceService,
        SweeperService,
        QueueWatch,
        // Also without URLs: it unbinds the queues of URLs taken out of WEBHOOK_URL.
        WebhookSenders,
      ],
    };
  }
}
