import type { Provider } from '@nestjs/common';
import {
  AmqpTopicClient,
  AmqpTopicServer,
  ClusterLinks,
  ClusterPublishers,
  provideAmqpTopicClient,
} from '@roomcast/amqp-transport';
import { batchOptions, publisherOptions } from '@roomcast/config';
import { Gauge, Registry } from 'prom-client';
import type { GatewayEnv } from '../config/gateway.env';
import { GatewayMetrics } from '../metrics/gateway.metrics';
import { AmqpBrokerLink, AmqpPresenceEvents, AmqpRoomTraffic } from './amqp-ports';
import { BrokerLink, PresenceEvents, RoomTraffic } from './ports';
import { ShardedBrokerLink, ShardedPresenceEvents, ShardedRoomTraffic } from './sharded-ports';

/**
 * The broker ports on RabbitMQ: room traffic, presence events and the link's state, over
 * `servers` (this instance's queue, where rooms bind: one per broker cluster of AMQP_URL) and one
 * publisher per cluster. The only place the gateway meets the transport, besides main.ts, which
 * opens the servers. With one cluster the ports are that cluster's, as they always were; with
 * several, the sharded ones route each room to its cluster (sharded-ports.ts).
 */
export function brokerProviders(config: GatewayEnv, servers: AmqpTopicServer[]): Provider[] {
  if (servers.length === 1) return oneCluster(config, servers[0]);
  return severalClusters(config, servers);
}

function roomTraffic(
  config: GatewayEnv,
  client: AmqpTopicClient,
  server: AmqpTopicServer,
  metrics: GatewayMetrics,
): AmqpRoomTraffic {
  return new AmqpRoomTraffic(client, server, batchOptions(config), (entries) => {
    metrics.publishedMessages.inc();
    metrics.publishedEntries.inc(entries);
  });
}

function presenceEvents(config: GatewayEnv, client: AmqpTopicClient): AmqpPresenceEvents {
  return new AmqpPresenceEvents(client, {
    requestMs: config.PRESENCE_TIMEOUT_MS,
    syncMs: config.PRESENCE_SYNC_TIMEOUT_MS,
  });
}

function oneCluster(config: GatewayEnv, server: AmqpTopicServer): Provider[] {
  return [
    { provide: AmqpTopicServer, useValue: server },
    provideAmqpTopicClient(publisherOptions(config)),
    {
      provide: RoomTraffic,
      inject: [AmqpTopicClient, GatewayMetrics],
      useFactory: (client: AmqpTopicClient, metrics: GatewayMetrics) =>
        roomTraffic(config, client, server, metrics),
    },
    {
      provide: PresenceEvents,
      inject: [AmqpTopicClient],
      useFactory: (client: AmqpTopicClient) => presenceEvents(config, client),
    },
    {
      provide: BrokerLink,
      inject: [AmqpTopicClient],
      useFactory: (client: AmqpTopicClient) => new AmqpBrokerLink(server, client),
    },
  ];
}

function severalClusters(config: GatewayEnv, servers: AmqpTopicServer[]): Provider[] {
  return [
    // The first cluster's consumer, as the one-cluster wiring provides it.
    { provide: AmqpTopicServer, useValue: servers[0] },
    {
      provide: ClusterPublishers,
      useFactory: async () =>
        new ClusterPublishers(
          await ClusterLinks.open(
            servers.map((_, i) => new AmqpTopicClient(publisherOptions(config, i))),
          ),
        ),
    },
    {
      provide: RoomTraffic,
      inject: [ClusterPublishers, GatewayMetrics],
      useFactory: ({ links: clients }: ClusterPublishers, metrics: GatewayMetrics) =>
        new ShardedRoomTraffic(
          clients.map((client, i) => roomTraffic(config, client, servers[i], metrics)),
          servers,
        ),
    },
    {
      provide: PresenceEvents,
      inject: [ClusterPublishers],
      useFactory: ({ links: clients }: ClusterPublishers) =>
        new ShardedPresenceEvents(
          clients.map((client) => presenceEvents(config, client)),
          clients,
        ),
    },
    {
      provide: BrokerLink,
      inject: [ClusterPublishers, Registry],
      useFactory: ({ links: clients }: ClusterPublishers, registry: Registry) => {
        const link = new ShardedBrokerLink(
          clients.map((client, i) => new AmqpBrokerLink(servers[i], client)),
        );
        new Gauge({
          name: 'roomcast_broker_cluster_up',
          help:
            'Whether this instance is connected to each broker cluster of AMQP_URL (1) or not ' +
            '(0), by its position there (0 = first); rooms on a cluster at 0 answer UNAVAILABLE',
          labelNames: ['cluster'],
          registers: [registry],
          collect() {
            for (const [i, up] of link.clusterStates().entries()) {
              this.set({ cluster: String(i) }, up ? 1 : 0);
            }
          },
        });
        return link;
      },
    },
  ];
}
