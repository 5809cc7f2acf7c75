import { Module, type DynamicModule } from '@nestjs/common';
import { AmqpTopicClient, AmqpTopicServer, provideAmqpTopicClient } from '@roomcast/amqp-transport';
import { OpsController, OpsModule, READINESS_CHECKS, type ReadinessCheck } from '@roomcast/ops';
import { PresenceQueries, PresenceStoreModule, RoomHistory } from '@roomcast/presence-store';
import { ChatGateway } from './chat/chat.gateway';
import { Handshake } from './chat/handshake';
import { EventLimiter, SendLimiter, UnreadLimiter } from './chat/rate-limits';
import { SlowConsumers } from './chat/slow-consumers';
import { ChatService } from './chat/chat.service';
import { DeliveryController } from './chat/delivery.controller';
import { HeartbeatService } from './chat/heartbeat.service';
import { LocalDelivery } from './chat/local-delivery';
import { RoomRegistry } from './chat/room-registry';
import { RoomSequencer } from './chat/room-sequencer';
import { PresenceLink } from './chat/presence-link';
import { BrokerRecovery } from './broker/broker-recovery';
import { AmqpPresenceEvents, AmqpRoomTraffic } from './broker/amqp-ports';
import { PresenceEvents, RoomTraffic } from './broker/ports';
import { RoomBindings } from './broker/room-bindings';
import { amqpUrls, batchOptions } from '@roomcast/config';
import { GATEWAY_CONFIG, type GatewayEnv } from './config/gateway.env';
import { GatewayMetrics } from './metrics/gateway.metrics';

@Module({})
export class GatewayModule {
  /** `server` is the transport consuming this instance's queue; rooms bind and unbind on it. */
  static forRoot(config: GatewayEnv, server: AmqpTopicServer): DynamicModule {
    return {
      module: GatewayModule,
      imports: [
        OpsModule.forRoot({ service: 'gateway', instance: config.INSTANCE_ID }),
        PresenceStoreModule.forRoot({
          url: config.REDIS_URL,
          cluster: config.REDIS_CLUSTER,
          prefix: config.REDIS_PREFIX,
          batching: batchOptions(config),
          retention: { maxMessages: config.HISTORY_MAX, maxAgeMs: config.HISTORY_MAX_AGE_MS },
          webhooks: { messages: config.WEBHOOK_MESSAGES },
        }),
      ],
      controllers: [OpsController, DeliveryController],
      providers: [
        { provide: GATEWAY_CONFIG, useValue: config },
        { provide: AmqpTopicServer, useValue: server },
        provideAmqpTopicClient({
          urls: amqpUrls(config.AMQP_URL),
          name: `${config.INSTANCE_ID}/publish`,
          exchange: config.EXCHANGE,
          publishTimeoutMs: config.PUBLISH_TIMEOUT_MS,
        }),
        {
          provide: RoomSequencer,
          inject: [RoomHistory, LocalDelivery, GatewayMetrics],
          useFactory: (log: RoomHistory, delivery: LocalDelivery, metrics: GatewayMetrics) =>
            new RoomSequencer({
              emit: (entry) => delivery.emitEntry(entry),
              currentSeq: (room) => log.currentSeq(room),
              fetch: (room, afterSeq, beforeSeq) =>
                log.entriesBetween(room, afterSeq, beforeSeq, log.retention.maxMessages),
              gapMs: config.GAP_FILL_MS,
              onDuplicate: () => metrics.duplicatesDropped.inc(),
              onGapFilled: (n) => metrics.gapFills.inc(n),
            }),
        },
        {
          provide: RoomTraffic,
          inject: [AmqpTopicClient, GatewayMetrics],
          useFactory: (client: AmqpTopicClient, metrics: GatewayMetrics) =>
            new AmqpRoomTraffic(client, server, batchOptions(config), (entries) => {
              metrics.publishedMessages.inc();
              metrics.publishedEntries.inc(entries);
            }),
        },
        {
          provide: PresenceEvents,
          inject: [AmqpTopicClient],
          useFactory: (client: AmqpTopicClient) =>
            new AmqpPresenceEvents(client, {
              requestMs: config.PRESENCE_TIMEOUT_MS,
              syncMs: config.PRESENCE_SYNC_TIMEOUT_MS,
            }),
        },
        {
          provide: RoomRegistry,
          inject: [RoomTraffic, RoomSequencer, GatewayMetrics],
          useFactory: (traffic: RoomTraffic, sequencer: RoomSequencer, metrics: GatewayMetrics) =>
            new RoomRegistry(new RoomBindings(traffic, sequencer, metrics.bindings)),
        },
        {
          provide: READINESS_CHECKS,
          inject: [PresenceQueries, AmqpTopicClient],
          useFactory: (store: PresenceQueries, broker: AmqpTopicClient): ReadinessCheck[] => [
            { name: 'redis', check: () => store.ping() },
            { name: 'rabbitmq', check: () => broker.isConnected && server.isConnected },
          ],
        },
        GatewayMetrics,
        LocalDelivery,
        Handshake,
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
