import { Logger, type OnApplicationShutdown } from '@nestjs/common';
import {
  AmqpTopicClient,
  type AmqpPublishOptions,
  type AmqpTopicClientOptions,
} from '@roomcast/amqp-transport';

/** How long the publish API waits between two attempts to reach a broker it never reached. */
export const BROKER_RETRY_MS = 1000;

/**
 * The publish API's link to the broker. Only that route needs the broker, so the stats service
 * starts and serves the Stats API and /admin without it: the link is opened in the background,
 * and tried again every BROKER_RETRY_MS until it connects; meanwhile a publish fails at once
 * (the API answers 503 UNAVAILABLE). Once connected, amqp-connection-manager keeps reconnecting
 * on its own, and a publish over a link known to be down fails at once too (AmqpTopicClient).
 */
export class BrokerLink implements OnApplicationShutdown {
  private readonly logger = new Logger(BrokerLink.name);
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
