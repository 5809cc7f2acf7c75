import { Logger, type OnApplicationShutdown } from '@nestjs/common';
import { clusterOf } from '@roomcast/contracts';
import { firstConnected } from '@roomcast/delivery';
import {
  AmqpTopicClient,
  type AmqpPublishOptions,
  type AmqpTopicClientOptions,
} from '@roomcast/amqp-transport';

/** How long the publish API waits between two attempts to reach a broker it never reached. */
export const BROKER_RETRY_MS = 1000;

/**
 * The publish API's link to one broker cluster. Only that route needs the broker, so the stats service
 * starts and serves the Stats API and /admin without it: the link is opened in the background,
 * and tried again every BROKER_RETRY_MS until it connects; meanwhile a publish fails at once
 * (the API answers 503 UNAVAILABLE). Once connected, amqp-connection-manager keeps reconnecting
 * on its own, and a publish over a link known to be down fails at once too (AmqpTopicClient).
 */
export class ClusterLink implements OnApplicationShutdown {
  private readonly logger = new Logger(ClusterLink.name);
  private client?: AmqpTopicClient;
  private retry?: NodeJS.Timeout;
  private closed = false;
  private failures = 0;

  constructor(
    private readonly options: AmqpTopicClientOptions,
    private readonly retryMs = BROKER_RETRY_MS,
  ) {
    void this.attempt();
  }

  get connected(): boolean {
    return this.client?.isConnected ?? false;
  }

  /** Publishes on the exchange and resolves once the broker confirmed it. */
  publish(routingKey: string, data: unknown, options?: AmqpPublishOptions): Promise<void> {
    if (!this.client) return Promise.reject(new Error('the broker has not been reachable yet'));
    return this.client.publishEvent(routingKey, data, options);
  }

  async onApplicationShutdown(): Promise<void> {
    this.closed = true;
    clearTimeout(this.retry);
    await this.client?.close();
  }

  private async attempt(): Promise<void> {
    const client = new AmqpTopicClient(this.options);
    try {
      await client.connect();
    } catch (err) {
      await client.close();
      // One line when it starts failing, not one a second for as long as the broker is away.
      if (this.failures++ === 0) {
        this.logger.warn(
          `${(err as Error).message}; the publish API answers 503 until the broker answers (retrying every ${this.retryMs} ms)`,
        );
      }
      if (!this.closed) this.retry = setTimeout(() => void this.attempt(), this.retryMs);
      return;
    }
    if (this.closed) return void (await client.close());
    if (this.failures > 0) this.logger.log(`broker reachable after ${this.failures} attempts`);
    this.client = client;
  }
}

/**
 * The server API's links to the broker clusters of AMQP_URL (one in most deployments), each a
 * ClusterLink. A room's traffic goes to the room's cluster (`publishOn(clusterOf(room))`);
 * webhook events to the first cluster (`publish`), where presence keeps the webhook queues;
 * notices to gateways (`notify`) to any connected cluster, since every gateway consumes its own
 * queue on each.
 */
export class BrokerLink implements OnApplicationShutdown {
  private readonly links: ClusterLink[];

  constructor(
    options: AmqpTopicClientOptions | AmqpTopicClientOptions[],
    retryMs = BROKER_RETRY_MS,
  ) {
    const all = Array.isArray(options) ? options : [options];
    this.links = all.map((o) => new ClusterLink(o, retryMs));
  }

  /** How many clusters. */
  get clusters(): number {
    return this.links.length;
  }

  /** Some cluster is connected. */
  get connected(): boolean {
    return this.links.some((l) => l.connected);
  }

  /** The cluster carrying `room` is connected: a write to the room can be published. */
  reaches(room: string): boolean {
    return this.links[clusterOf(room, this.links.length)].connected;
  }

  /** Publishes on the first (home) cluster and resolves once its broker confirmed it. */
  publish(routingKey: string, data: unknown, options?: AmqpPublishOptions): Promise<void> {
    return this.links[0].publish(routingKey, data, options);
  }

  /** Publishes on cluster `cluster` (AMQP_URL's order) and resolves once it confirmed it. */
  publishOn(
    cluster: number,
    routingKey: string,
    data: unknown,
    options?: AmqpPublishOptions,
  ): Promise<void> {
    return this.links[cluster].publish(routingKey, data, options);
  }

  /** Publishes a message to gateways (their own keys) on the first connected cluster. */
  notify(routingKey: string, data: unknown, options?: AmqpPublishOptions): Promise<void> {
    const links = this.links.map((l) => ({ isConnected: l.connected }));
    return this.links[firstConnected(links)].publish(routingKey, data, options);
  }

  async onApplicationShutdown(): Promise<void> {
    await Promise.all(this.links.map((l) => l.onApplicationShutdown()));
  }
}
