import { randomUUID } from 'node:crypto';
import { Logger, type FactoryProvider } from '@nestjs/common';
import { ClientProxy, type ReadPacket, type WritePacket } from '@nestjs/microservices';
import type { AmqpConnectionManager, ChannelWrapper } from 'amqp-connection-manager';
import type { ConfirmChannel, ConsumeMessage, Options } from 'amqplib';
import {
  AmqpStatus,
  DEFAULT_PUBLISH_TIMEOUT_MS,
  DEFAULT_REQUEST_TIMEOUT_MS,
  DIRECT_REPLY_QUEUE,
} from './amqp.constants';
import type { AmqpTopicClientOptions } from './amqp.interfaces';
import { openConnection } from './connection';

type AmqpClientEvents = {
  connect: () => void;
  disconnect: (arg: { err: Error }) => void;
};

/** The body of a reply: Nest's WritePacket, as the topic server answers a request. */
export interface AmqpReply {
  response?: unknown;
  err?: unknown;
  isDisposed?: boolean;
}

/**
 * Publishes events to the topic exchange, the event pattern being the routing key. `emit()`
 * completes once the broker has confirmed the message; confirms are pipelined, so many
 * publishes can be in flight on the one channel.
 *
 * `send()` (and `request()`) is request/response over the same exchange: the request carries a
 * correlation id and RabbitMQ's direct reply-to pseudo-queue, and an AmqpTopicServer's
 * `@MessagePattern` handler answers it. A reply lost with the channel (the link dropped) or
 * late past the timeout fails the request: the caller cannot tell whether it was applied.
 */
export class AmqpTopicClient extends ClientProxy<AmqpClientEvents, AmqpStatus> {
  private readonly logger = new Logger(AmqpTopicClient.name);
  private readonly options: AmqpTopicClientOptions;
  private connection?: AmqpConnectionManager;
  private channel?: ChannelWrapper;
  private connecting?: Promise<ChannelWrapper>;
  /** Requests awaiting their reply, by correlation id. */
  private readonly pending = new Map<string, (reply: AmqpReply) => void>();

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
  publishEvent(routingKey: string, data: unknown): Promise<void> {
    return this.publishJson(routingKey, data);
  }

  /**
   * Publishes a request with `routingKey` and resolves with the handler's answer; rejects with
   * the handler's error, or when no answer comes within `timeoutMs` or the link drops first.
   */
  async request<T>(routingKey: string, data: unknown, timeoutMs?: number): Promise<T> {
    const ms = timeoutMs ?? this.options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    const correlationId = randomUUID();
    const reply = new Promise<AmqpReply>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(correlationId);
        reject(new Error(`no answer to ${routingKey} within ${ms} ms`));
      }, ms);
      this.pending.set(correlationId, (r) => {
        clearTimeout(timer);
        this.pending.delete(correlationId);
        resolve(r);
      });
    });
    try {
      await this.publishJson(routingKey, data, { correlationId, replyTo: DIRECT_REPLY_QUEUE });
    } catch (err) {
      this.pending.get(correlationId)?.({ err: (err as Error).message });
    }
    const { err, response } = await reply;
    if (err !== undefined && err !== null) {
      throw new Error(typeof err === 'string' ? err : JSON.stringify(err));
    }
    return response as T;
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

  /** Nest's `send(pattern, data)`: one request, one answer. */
  protected publish(packet: ReadPacket, callback: (packet: WritePacket) => void): () => void {
    this.request(this.normalizePattern(packet.pattern), packet.data).then(
      (response) => callback({ response, isDisposed: true }),
      (err: unknown) => callback({ err, isDisposed: true }),
    );
    return () => undefined;
  }

  /**
   * Publishes `data` as JSON and resolves once the broker confirmed it. A link known to be down
   * fails at once: callers answer UNAVAILABLE instead of buffering.
   */
  private async publishJson(
    routingKey: string,
    data: unknown,
    options: Options.Publish = {},
  ): Promise<void> {
    const channel = this.channel ?? (await this.connect());
    if (this.connection && !this.connection.isConnected()) {
      throw new Error('the broker connection is down');
    }
    await channel.publish(this.options.exchange, routingKey, Buffer.from(JSON.stringify(data)), {
      contentType: 'application/json',
      timeout: this.options.publishTimeoutMs ?? DEFAULT_PUBLISH_TIMEOUT_MS,
      ...options,
    });
  }

  private onReply(msg: ConsumeMessage | null): void {
    const id = msg?.properties.correlationId as string | undefined;
    const settle = id === undefined ? undefined : this.pending.get(id);
    if (!msg || !settle) return; // late: its request has timed out
    try {
      settle(JSON.parse(msg.content.toString('utf8')) as AmqpReply);
    } catch {
      settle({ err: 'undecodable reply' });
    }
  }

  /** Replies come on the channel that sent the request: when it goes, so do they. */
  private failPending(reason: string): void {
    for (const settle of [...this.pending.values()]) settle({ err: reason });
  }

  private async open(): Promise<ChannelWrapper> {
    const connection = await openConnection(this.options);
    connection.on('connect', () => this._status$.next(AmqpStatus.Connected));
    connection.on('disconnect', ({ err }) => {
      this._status$.next(AmqpStatus.Disconnected);
      this.failPending('the broker connection dropped before the answer came');
      this.logger.warn(`broker connection lost (${err?.message ?? 'closed'}); reconnecting`);
    });
    const channel = connection.createChannel({
      json: false,
      confirm: true,
      setup: async (ch: ConfirmChannel) => {
        await ch.assertExchange(this.options.exchange, 'topic', { durable: true });
        // Direct reply-to: answers come straight to this channel, no queue to declare.
        await ch.consume(DIRECT_REPLY_QUEUE, (msg) => this.onReply(msg), { noAck: true });
      },
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
