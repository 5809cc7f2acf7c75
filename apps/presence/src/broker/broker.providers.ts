import type { Provider } from '@nestjs/common';
import {
  AmqpQueueProbe,
  AmqpTopicClient,
  provideAmqpQueueProbe,
  provideAmqpTopicClient,
} from '@roomcast/amqp-transport';
import { amqpClusters, clusterSuffix } from '@roomcast/config';
import type { PresenceEnv } from '../config/presence.env';
import { ClusterQueueProbes } from './cluster-probes';

/** Presence's publishers, one per broker cluster of AMQP_URL, in its order (closed on shutdown). */
export class ClusterClients {
  constructor(readonly clients: AmqpTopicClient[]) {}

  onApplicationShutdown(): Promise<unknown> {
    return Promise.all(this.clients.map((c) => c.close()));
  }
}

/**
 * Presence's publishing clients and queue probe. With one broker cluster: one client (also
 * provided as AmqpTopicClient) and one probe, as always. With several: a client and a probe per
 * cluster (each opened at start: every cluster must answer then), the probes merged
 * (ClusterQueueProbes: a gateway's queue is on every cluster).
 */
export function brokerProviders(config: PresenceEnv): Provider[] {
  const clusters = amqpClusters(config.AMQP_URL);
  const clientOptions = (i: number) => ({
    urls: clusters[i],
    name: `${config.INSTANCE_ID}/publish${clusterSuffix(config.AMQP_URL, i)}`,
    exchange: config.EXCHANGE,
  });
  // A connection of its own: failed passive declares close channels, never the publisher's.
  const probeOptions = (i: number) => ({
    urls: clusters[i],
    name: `${config.INSTANCE_ID}/probe${clusterSuffix(config.AMQP_URL, i)}`,
    exchange: config.EXCHANGE,
  });
  if (clusters.length === 1) {
    return [
      provideAmqpTopicClient(clientOptions(0)),
      provideAmqpQueueProbe(probeOptions(0)),
      {
        provide: ClusterClients,
        inject: [AmqpTopicClient],
        useFactory: (client: AmqpTopicClient) => new ClusterClients([client]),
      },
    ];
  }
  return [
    {
      provide: ClusterClients,
      useFactory: async () => {
        const clients = clusters.map((_, i) => new AmqpTopicClient(clientOptions(i)));
        await Promise.all(clients.map((c) => c.connect()));
        return new ClusterClients(clients);
      },
    },
    {
      provide: AmqpTopicClient,
      inject: [ClusterClients],
      useFactory: ({ clients }: ClusterClients) => clients[0],
    },
    {
      provide: ClusterProbes,
      useFactory: async () => {
        const probes = clusters.map((_, i) => new AmqpQueueProbe(probeOptions(i)));
        await Promise.all(probes.map((p) => p.connect()));
        return new ClusterProbes(probes);
      },
    },
    {
      provide: AmqpQueueProbe,
      inject: [ClusterProbes],
      useFactory: ({ probes }: ClusterProbes) => new ClusterQueueProbes(probes),
    },
  ];
}

/** The probes of several clusters, closed by Nest on shutdown. */
class ClusterProbes {
  constructor(readonly probes: AmqpQueueProbe[]) {}

  onApplicationShutdown(): Promise<unknown> {
    return Promise.all(this.probes.map((p) => p.close()));
  }
}
