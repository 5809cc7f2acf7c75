import { AmqpTopicClient } from './amqp-topic.client';

/** A link to one broker: a publishing client, a queue probe. */
export interface ClusterLink {
  connect(): Promise<unknown>;
  close(): Promise<unknown>;
}

/**
 * Links of one kind, one per broker cluster of AMQP_URL in its order, opened together at start
 * (every cluster must answer then) and closed by Nest on shutdown. A service provides a subclass
 * per kind (ClusterPublishers below), so that Nest can inject each by type.
 */
export class ClusterLinks<T extends ClusterLink> {
  constructor(readonly links: T[]) {}

  /** Connects every link; when one fails, closes them all and throws its error. */
  static async open<T extends ClusterLink>(links: T[]): Promise<T[]> {
    try {
      await Promise.all(links.map((l) => l.connect()));
    } catch (err) {
      await Promise.all(links.map((l) => l.close()));
      throw err;
    }
    return links;
  }

  onApplicationShutdown(): Promise<unknown> {
    return Promise.all(this.links.map((l) => l.close()));
  }
}

/** A service's publishers, one per broker cluster of AMQP_URL, in its order. */
export class ClusterPublishers extends ClusterLinks<AmqpTopicClient> {}
