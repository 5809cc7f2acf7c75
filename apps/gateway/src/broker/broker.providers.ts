import type { Provider } from '@nestjs/common';
import { AmqpTopicClient, AmqpTopicServer, provideAmqpTopicClient } from '@roomcast/amqp-transport';
import { batchOptions, publisherOptions } from '@roomcast/config';
import type { GatewayEnv } from '../config/gateway.env';
import { GatewayMetrics } from '../metrics/gateway.metrics';
import { AmqpBrokerLink, AmqpPresenceEvents, AmqpRoomTraffic } from './amqp-ports';
import { BrokerLink, PresenceEvents, RoomTraffic } from './ports';

/**
 * The broker ports on RabbitMQ: room traffic, presence events and the link's state, over
 * `server` (this instance's queue, where rooms bind) and one publisher. The only place the
 * gateway meets the transport, besides main.ts, which opens `server`.
 */
export function brokerProviders(config: GatewayEnv, server: AmqpTopicServer): Provider[] {
  return [
    { provide: AmqpTopicServer, useValue: server },
    provideAmqpTopicClient(publisherOptions(config)),
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
      provide: BrokerLink,
      inject: [AmqpTopicClient],
      useFactory: (client: AmqpTopicClient) => new AmqpBrokerLink(server, client),
    },
  ];
}
