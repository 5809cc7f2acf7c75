import { Logger, type FactoryProvider } from '@nestjs/common';
import { ClientProxy, type ReadPacket, type WritePacket } from '@nestjs/microservices';
import type { AmqpConnectionManager, ChannelWrapper } from 'amqp-connection-manager';
import type { ConfirmChannel } from 'amqplib';
import { AmqpStatus, DEFAULT_PUBLISH_TIMEOUT_MS } from './amqp.constants';
import type { AmqpTopicClientOptions } from './amqp.interfaces';
import { openConnection } from './connection';

type AmqpClientEvents = {
  connect: () => void;
  disconnect: (arg: { err: Error }) => void;
};

/**
 * Publishes events to the topic exchange, the event pattern being the routing key. `emit()`
 * completes once the broker has confirmed the message; confirms are pipelined, so many
 * publishes can be in flight on the one channel.
 */
export class AmqpTopicClient extends ClientProxy<AmqpClientEvents, AmqpStatus> {
  private readonly logger = new Logger(AmqpTopicClient.name);
  private readonly options: AmqpTopicClientOptions;
  private connection?: AmqpConnectionManager;
  private channel?: ChannelWrapper;
  private connecting?: Promise<ChannelWrapper>;

  constructor(options: AmqpTopicClientOptions) {
    super();
    this.options = options;
  }

  connect(): Promise<ChannelWrapper> {
    this.connecting ??= this.open();
    return this.connecting;
  }

  async close(): Promise<void> {
    await this.channel?.close().catch(() => undefined);
    await this.connection?.close().catch(() => undefined);
    this.channel = undefined;
    this.connection = undefined;
    this.connecting = undefined;
  }

  /** Nest calls this on shutdown when the client is a provider. */
  onApplicationShutdown(): Promise<void> {
    return this.close();
  }

  get isConnected(): boolean {
    return this.connection?.isConnected() ?? false;
  }

  /** Publishes straight away, without the observable: the hot path of a chat message. */
  async publishEvent(routingKey: string, data: unknown): Promise<void> {
    const channel = this.channel ?? (await this.connect());
    // A link known to be down fails at once: callers answer UNAVAILABLE instead of buffering.
    if (this.connection && !this.connection.isConnected()) {
      throw new Error('the broker connection is down');
    }
    await channel.publish(this.options.exchange, routingKey, Buffer.from(JSON.stringify(data)), {
      contentType: 'application/json',
      timeout: this.options.publishTimeoutMs ?? DEFAULT_PUBLISH_TIMEOUT_MS,
    });
  }

  override on<K extends keyof AmqpClientEvents>(event: K, callback: AmqpClientEvents[K]): void {
    if (!this.connection) throw new Error('AmqpTopicClient.on() called before connect()');
    this.connection.on(event, callback);
  }

  unwrap<T>(): T {
    if (!this.connection) throw new Error('AmqpTopicClient is not connected yet');
    return this.connection as T;
  }

  protected async dispatchEvent<T = unknown>(packet: ReadPacket): Promise<T> {
    await this.publishEvent(this.normalizePattern(packet.pattern), packet.data);
    return undefined as T;
  }

  protected publish(_packet: ReadPacket, callback: (packet: WritePacket) => void): () => void {
    callback({ err: new Error('AmqpTopicClient supports events only (emit), not send()') });
    return () => undefined;
  }

  private async open(): Promise<ChannelWrapper> {
    const connection = await openConnection(this.options);
    connection.on('connect', () => this._status$.next(AmqpStatus.Connected));
    connection.on('disconnect', ({ err }) => {
      this._status$.next(AmqpStatus.Disconnected);
      this.logger.warn(`broker connection lost (${err?.message ?? 'closed'}); reconnecting`);
    });
    const channel = connection.createChannel({
      json: false,
      confirm: true,
      setup: (ch: ConfirmChannel) =>
        ch.assertExchange(this.options.exchange, 'topic', { durable: true }),
    });
    await channel.waitForConnect();
    this.connection = connection;
    this.channel = channel;
    return channel;
  }
}

/** A Nest provider of a connected AmqpTopicClient (closed by Nest on shutdown). */
export function provideAmqpTopicClient(
  options: AmqpTopicClientOptions,
): FactoryProvider<AmqpTopicClient> {
  return {
    provide: AmqpTopicClient,
    useFactory: async () => {
      const client = new AmqpTopicClient(options);
      await client.connect();
      return client;
    },
  };
}
