import type { Provider } from '@nestjs/common';
import {
  AmqpQueueProbe,
  AmqpTopicClient,
  ClusterLinks,
  ClusterPublishers,
  provideAmqpQueueProbe,
  provideAmqpTopicClient,
} from '@roomcast/amqp-transport';
import { amqpClusters, clusterSuffix } from '@roomcast/config';
import type { PresenceEnv } from '../config/presence.env';
import { ClusterQueueProbes } from './cluster-probes';

/**
 * Presence's publishing clients and queue probe. With one broker cluster: one client (also
 * provided as AmqpTopicClient) and one probe, as always. With several: a client and a probe per
 * cluster (each opened at start: every cluster must answer then), the probes merged
 * (ClusterQueueProbes: a gateway's queue is on every cluster).
 */
export function brokerProviders(config: PresenceEnv): Provider[] {
  const clusters = amqpClusters(config.AMQP_URL);
  // The probe has a connection of its own: failed passive declares close channels, never the
  // publisher's.
  const linkOptions = (i: number, role: 'publish' | 'probe') => ({
    urls: clusters[i],
    name: `${config.INSTANCE_ID}/${role}${clusterSuffix(config.AMQP_URL, i)}`,
    exchange: config.EXCHANGE,
  });
  if (clusters.length === 1) {
    return [
      provideAmqpTopicClient(linkOptions(0, 'publish')),
      provideAmqpQueueProbe(linkOptions(0, 'probe')),
      {
        provide: ClusterPublishers,
        inject: [AmqpTopicClient],
        useFactory: (client: AmqpTopicClient) => new ClusterPublishers([client]),
      },
    ];
  }
  return [
    {
      provide: ClusterPublishers,
      useFactory: async () =>
        new ClusterPublishers(
          await ClusterLinks.open(
            clusters.map((_, i) => new AmqpTopicClient(linkOptions(i, 'publish'))),
          ),
        ),
    },
    {
      provide: AmqpTopicClient,
      inject: [ClusterPublishers],
      useFactory: ({ links }: ClusterPublishers) => links[0],
    },
    {
      provide: ClusterProbes,
      useFactory: async () =>
        new ClusterProbes(
          await ClusterLinks.open(
            clusters.map((_, i) => new AmqpQueueProbe(linkOptions(i, 'probe'))),
          ),
        ),
    },
    {
      provide: AmqpQueueProbe,
      inject: [ClusterProbes],
      useFactory: ({ links }: ClusterProbes) => new ClusterQueueProbes(links),
    },
  ];
}

/** The queue probes of several clusters. */
class ClusterProbes extends ClusterLinks<AmqpQueueProbe> {}
