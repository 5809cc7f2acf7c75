import { randomUUID } from 'node:crypto';
import { Logger, type FactoryProvider } from '@nestjs/common';
import { ClientProxy, type ReadPacket, type WritePacket } from '@nestjs/microservices';
import type { AmqpConnectionManager, ChannelWrapper } from 'amqp-connection-manager';
import type { ConfirmChannel, ConsumeMessage, Options } from 'amqplib';
import {
  AmqpStatus,
  DEFAULT_CONNECT_TIMEOUT_MS,
  DEFAULT_PUBLISH_TIMEOUT_MS,
  DEFAULT_REOPEN_AFTER_NACKS,
  DEFAULT_REQUEST_TIMEOUT_MS,
  DIRECT_REPLY_QUEUE,
  REOPEN_MIN_INTERVAL_MS,
  REOPEN_RETRY_MS,
} from './amqp.constants';
import { isNack, UnroutableError } from './amqp.errors';
import type { AmqpPublishOptions, AmqpTopicClientOptions } from './amqp.interfaces';
import { openConnection } from './connection';

type AmqpClientEvents = {
  connect: () => void;
  disconnect: (arg: { err: Error }) => void;
};

/** The part of a routing key that failures are counted by: `presence`, `room`, ... */
const destinationOf = (routingKey: string): string => routingKey.split('.', 1)[0];

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
 *
 * A message published `mandatory` that no queue takes comes back (`basic.return`, which the
 * broker sends before the message's confirm): its publish or request fails at once with an
 * UnroutableError. A destination that fails `reopenAfterNacks` times in a row (a nack, or a
 * confirmed request that gets no answer) gets a fresh channel (see DEFAULT_REOPEN_AFTER_NACKS);
 * the old one is closed once the requests sent on it are answered or timed out, and `onReopen`
 * listeners are told.
 */
export class AmqpTopicClient extends ClientProxy<AmqpClientEvents, AmqpStatus> {
  private readonly logger = new Logger(AmqpTopicClient.name);
  private readonly options: AmqpTopicClientOptions;
  private connection?: AmqpConnectionManager;
  private channel?: ChannelWrapper;
  private connecting?: Promise<ChannelWrapper>;
  /** Requests awaiting their reply, by correlation id, with the channel that sent each. */
  private readonly pending = new Map<string, (reply: AmqpReply) => void>();
  private readonly sentOn = new Map<string, ChannelWrapper>();
  /** Message ids of mandatory publishes the broker returned, until their confirm comes. */
  private readonly returned = new Set<string>();
  /**
   * Failures in a row per destination (a routing key's first word): nacks, and requests the
   * broker confirmed that got no answer. A confirmed event or an answered request ends a run.
   */
  private readonly failures = new Map<string, number>();
  /** What was done for a destination's failures since its last success: 1 new channel, 2 reconnect. */
  private readonly reopenedFor = new Map<string, number>();
  private reopening = false;
  private lastReopenAt = 0;
  private readonly reopenListeners: ((reason: string) => void)[] = [];
  /** Publishing channels replaced in this process's life (for tests and logs). */
  reopens = 0;

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
  publishEvent(routingKey: string, data: unknown, options: AmqpPublishOptions = {}): Promise<void> {
    return this.publishJson(routingKey, data, {}, options);
  }

  /** Called with the reason each time the publishing channel is replaced after repeated nacks. */
  onReopen(listener: (reason: string) => void): void {
    this.reopenListeners.push(listener);
  }

  /**
   * Publishes a request with `routingKey` and resolves with the handler's answer; rejects with
   * the handler's error, or when no answer comes within `timeoutMs` or the link drops first.
   */
  async request<T>(
    routingKey: string,
    data: unknown,
    timeoutMs?: number,
    options: AmqpPublishOptions = {},
  ): Promise<T> {
    const ms = timeoutMs ?? this.options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    const correlationId = randomUUID();
    const destination = destinationOf(routingKey);
    let failed: unknown;
    const reply = new Promise<AmqpReply>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(correlationId);
        this.sentOn.delete(correlationId);
        // Confirmed (or it would have failed before) yet unanswered: the channel's replies may
        // be stuck after a node loss, which only a fresh channel or connection repairs.
        if (failed === undefined) this.failedTo(destination, routingKey, 'unanswered');
        reject(new Error(`no answer to ${routingKey} within ${ms} ms`));
      }, ms);
      this.pending.set(correlationId, (r) => {
        clearTimeout(timer);
        this.pending.delete(correlationId);
        this.sentOn.delete(correlationId);
        if (failed === undefined) this.succeeded(destination);
        resolve(r);
      });
    });
    try {
      await this.publishJson(
        routingKey,
        data,
        { correlationId, replyTo: DIRECT_REPLY_QUEUE },
        options,
      );
    } catch (err) {
      failed = err;
      this.pending.get(correlationId)?.({ err: (err as Error).message });
    }
    const { err, response } = await reply;
    // Not published (returned, nacked, link down): the caller gets that error, its type intact.
    if (failed instanceof Error) throw failed;
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
    properties: Options.Publish = {},
    options: AmqpPublishOptions = {},
  ): Promise<void> {
    const channel = this.channel ?? (await this.connect());
    if (this.connection && !this.connection.isConnected()) {
      throw new Error('the broker connection is down');
    }
    const messageId = options.mandatory ? randomUUID() : undefined;
    if (properties.correlationId) this.sentOn.set(properties.correlationId, channel);
    const destination = destinationOf(routingKey);
    let failure: unknown;
    try {
      await channel.publish(this.options.exchange, routingKey, Buffer.from(JSON.stringify(data)), {
        contentType: 'application/json',
        timeout: this.options.publishTimeoutMs ?? DEFAULT_PUBLISH_TIMEOUT_MS,
        ...properties,
        ...(messageId ? { mandatory: true, messageId } : {}),
        ...(options.bcc?.length ? { BCC: options.bcc } : {}),
      });
    } catch (err) {
      failure = err ?? new Error('publish failed');
    }
    // A return comes before its message's confirm (or nack): seen by now if it came.
    if (messageId && this.returned.delete(messageId)) throw new UnroutableError(routingKey);
    if (failure !== undefined) {
      if (isNack(failure)) this.failedTo(destination, routingKey, 'nacked');
      throw failure;
    }
    // A request succeeds when it is answered, not when it is confirmed.
    if (!properties.correlationId) this.succeeded(destination);
  }

  private succeeded(destination: string): void {
    this.failures.delete(destination);
    this.reopenedFor.delete(destination);
  }

  /**
   * One more failure for `destination` (a nack, or a confirmed request left unanswered): at
   * `reopenAfterNacks` in a row the channel is replaced; when that did not help (as many failures
   * again with no success between) the connection is, which
   * also moves it to the next node of a cluster; after that nothing more until the destination
   * confirms again or REOPEN_RETRY_MS have passed, when it starts over. So a queue that refuses
   * by design (`reject-publish` when full) costs one channel and one reconnect per 30 s, not one
   * every few seconds, and a gateway is never cut off from a destination for good.
   */
  private failedTo(destination: string, routingKey: string, how: 'nacked' | 'unanswered'): void {
    const limit = this.options.reopenAfterNacks ?? DEFAULT_REOPEN_AFTER_NACKS;
    if (limit <= 0) return;
    const n = (this.failures.get(destination) ?? 0) + 1;
    this.failures.set(destination, n);
    let stage = this.reopenedFor.get(destination) ?? 0;
    if (n < limit) return;
    if (stage >= 2) {
      if (Date.now() - this.lastReopenAt < (this.options.reopenRetryMs ?? REOPEN_RETRY_MS)) return;
      stage = 0;
    }
    if (this.reopening || Date.now() - this.lastReopenAt < REOPEN_MIN_INTERVAL_MS) return;
    this.failures.delete(destination);
    this.reopenedFor.set(destination, stage + 1);
    const reason =
      how === 'nacked'
        ? `the broker nacked ${n} publishes in a row to ${destination}.* (last ${routingKey})`
        : `${n} requests in a row to ${destination}.* failed, the last (${routingKey}) confirmed but unanswered`;
    if (stage === 1) {
      this.lastReopenAt = Date.now();
      this.logger.warn(`${reason} on a fresh channel too; reconnecting`);
      this.connection?.reconnect();
      return;
    }
    void this.reopen(reason);
  }

  /**
   * Opens a fresh publishing channel and sends from it; the old one stays open until the
   * requests sent on it are answered (their replies come to it) or have timed out.
   */
  private async reopen(reason: string): Promise<void> {
    const connection = this.connection;
    const old = this.channel;
    if (!connection || !old) return;
    this.reopening = true;
    this.lastReopenAt = Date.now();
    const fresh = this.createChannel(connection);
    try {
      const ms = this.options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        fresh.waitForConnect(),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no channel within ${ms} ms`)), ms);
        }),
      ]).finally(() => clearTimeout(timer));
    } catch (err) {
      this.reopening = false;
      void fresh.close().catch(() => undefined);
      this.logger.warn(`${reason}; a fresh channel failed: ${(err as Error).message}`);
      return;
    }
    this.channel = fresh;
    this.reopens++;
    this.reopening = false;
    this.logger.warn(`${reason}; publishing on a fresh channel`);
    void this.retire(old);
    for (const listener of this.reopenListeners) {
      try {
        listener(reason);
      } catch (err) {
        this.logger.error(`a reopen listener failed: ${(err as Error).message}`);
      }
    }
  }

  /** Closes a replaced channel once no request waits for a reply on it (bounded by the timeouts). */
  private async retire(old: ChannelWrapper): Promise<void> {
    const ms =
      (this.options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS) +
      (this.options.publishTimeoutMs ?? DEFAULT_PUBLISH_TIMEOUT_MS);
    const until = Date.now() + ms;
    const waiting = () => [...this.sentOn.values()].some((c) => c === old);
    while (waiting() && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
    await old.close().catch(() => undefined);
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
    const channel = this.createChannel(connection);
    await channel.waitForConnect();
    this.connection = connection;
    this.channel = channel;
    return channel;
  }

  private createChannel(connection: AmqpConnectionManager): ChannelWrapper {
    return connection.createChannel({
      json: false,
      confirm: true,
      setup: async (ch: ConfirmChannel) => {
        ch.on('return', (msg: ConsumeMessage) => {
          const id = msg.properties.messageId as string | undefined;
          if (id) this.returned.add(id);
        });
        await ch.assertExchange(this.options.exchange, 'topic', { durable: true });
        // Direct reply-to: answers come straight to this channel, no queue to declare.
        await ch.consume(DIRECT_REPLY_QUEUE, (msg) => this.onReply(msg), { noAck: true });
      },
    });
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
