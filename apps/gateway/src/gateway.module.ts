import { Module, type DynamicModule } from '@nestjs/common';
import type { AmqpTopicServer } from '@roomcast/amqp-transport';
import { OpsController, OpsModule, READINESS_CHECKS, type ReadinessCheck } from '@roomcast/ops';
import { roomPolicies, RoomPolicies } from '@roomcast/config';
import { PresenceQueries, StoreModule, storeOptions, RoomHistory } from '@roomcast/store';
import { ChatGateway } from './socket/chat.gateway';
import { Handshake } from './socket/handshake';
import { Sessions } from './socket/sessions';
import { EventLimiter, SendLimiter, UnreadLimiter } from './socket/rate-limits';
import { SlowConsumers } from './socket/slow-consumers';
import { ChatService } from './membership/chat.service';
import { DeliveryController } from './fanout/delivery.controller';
import { ModerationController } from './membership/moderation.controller';
import { HeartbeatService } from './presence/heartbeat.service';
import { LocalDelivery } from './fanout/local-delivery';
import { RoomRegistry } from './membership/room-registry';
import { RoomSequencer } from './fanout/room-sequencer';
import { PresenceLink } from './presence/presence-link';
import { BrokerRecovery } from './fanout/broker-recovery';
import { brokerProviders } from './broker/broker.providers';
import { BrokerLink, RoomTraffic } from './broker/ports';
import { RoomBindings } from './membership/room-bindings';
import { GATEWAY_CONFIG, type GatewayEnv } from './config/gateway.env';
import { GatewayMetrics } from './metrics/gateway.metrics';

@Module({})
export class GatewayModule {
  /**
   * `servers` are the transports consuming this instance's queue, one per broker cluster of
   * AMQP_URL (one in most deployments); rooms bind and unbind on their cluster's.
   */
  static forRoot(config: GatewayEnv, servers: AmqpTopicServer[]): DynamicModule {
    // ROOM_RULES, read and checked now: a broken file stops the start with its mistakes.
    const policies = roomPolicies(config);
    return {
      module: GatewayModule,
      imports: [
        OpsModule.forRoot({ service: 'gateway', instance: config.INSTANCE_ID }),
        StoreModule.forRoot(storeOptions(config, { messages: config.WEBHOOK_MESSAGES }, policies)),
      ],
      controllers: [OpsController, DeliveryController, ModerationController],
      providers: [
        { provide: GATEWAY_CONFIG, useValue: config },
        { provide: RoomPolicies, useValue: policies },
        ...brokerProviders(config, servers),
        {
          provide: RoomSequencer,
          inject: [RoomHistory, LocalDelivery, GatewayMetrics],
          useFactory: (log: RoomHistory, delivery: LocalDelivery, metrics: GatewayMetrics) =>
            new RoomSequencer({
              emit: (entry) => delivery.emitEntry(entry),
              currentSeq: (room) => log.currentSeq(room),
              fetch: (room, afterSeq, beforeSeq) =>
                log.entriesBetween(room, afterSeq, beforeSeq, log.retentionOf(room).maxMessages),
              gapMs: config.GAP_FILL_MS,
              onDuplicate: () => metrics.duplicatesDropped.inc(),
              onGapFilled: (n) => metrics.gapFills.inc(n),
            }),
        },
        {
          provide: RoomRegistry,
          inject: [RoomTraffic, RoomSequencer, GatewayMetrics],
          useFactory: (traffic: RoomTraffic, sequencer: RoomSequencer, metrics: GatewayMetrics) =>
            new RoomRegistry(
              new RoomBindings(traffic, sequencer, metrics.bindings, metrics.bindingChanges),
              config.UNBIND_LINGER_MS,
            ),
        },
        {
          provide: READINESS_CHECKS,
          inject: [PresenceQueries, BrokerLink],
          useFactory: (store: PresenceQueries, broker: BrokerLink): ReadinessCheck[] => [
            { name: 'redis', check: () => store.ping() },
            { name: 'rabbitmq', check: () => broker.connected },
          ],
        },
        GatewayMetrics,
        LocalDelivery,
        Handshake,
        Sessions,
        {
          provide: SendLimiter,
          useFactory: () => new SendLimiter(config.RATE_LIMIT_PER_SEC, config.RATE_LIMIT_BURST),
        },
        {
          provide: EventLimiter,
          useFactory: () =>
            new EventLimiter(config.RATE_LIMIT_EVENTS_PER_SEC, config.RATE_LIMIT_EVENTS_BURST),
        },
        {
          provide: UnreadLimiter,
          useFactory: () => new UnreadLimiter(config.RATE_LIMIT_UNREAD_PER_10S),
        },
        SlowConsumers,
        ChatService,
        ChatGateway,
        HeartbeatService,
        PresenceLink,
        BrokerRecovery,
      ],
    };
  }
}
