import { Logger } from '@nestjs/common';
import { isObservable, lastValueFrom } from 'rxjs';
import {
  CustomTransportStrategy,
  MessageHandler,
  Server,
  type WritePacket,
} from '@nestjs/microservices';
import { isTopicPattern, topicMatcher } from './topic';
import type { AmqpConnectionManager, ChannelWrapper } from 'amqp-connection-manager';
import type { ChannelModel, ConfirmChannel, ConsumeMessage, Options } from 'amqplib';
import { AmqpReplyCode, AmqpStatus, amqpReplyCode, REDECLARE_RETRY_MS } from './amqp.constants';
import { AmqpTopicContext } from './amqp.context';
import { QueueInUseError, QueueTypeMismatchError } from './amqp.errors';
import type { AmqpTopicServerOptions } from './amqp.interfaces';
import { openConnection } from './connection';

type AmqpServerEvents = {
  connect: () => void;
  disconnect: (arg: { err: Error }) => void;
};

/**
 * A Nest transport strategy that consumes one queue bound to a topic exchange. Handlers are
 * matched by routing key, with AMQP wildcards (`@EventPattern('room.*')`). Bindings can change
 * at run time (`bind` / `unbind`); after a reconnect the queue is declared again and every
 * current binding is restored, which amqp-connection-manager does not do by itself.
 */
export class AmqpTopicServer
  extends Server<AmqpServerEvents, AmqpStatus>
  implements CustomTransportStrategy
{
  override readonly propagatesEventHandlerErrors = true;
  protected override readonly logger = new Logger(AmqpTopicServer.name);

  private readonly options: Required<AmqpTopicServerOptions>;
  private readonly dynamicBindings = new Set<string>();
  private connection?: AmqpConnectionManager;
  private channel?: ChannelWrapper;
  private queueName?: string;
  private connected = false;
  /** Settles `listen()` with the first setup's outcome; cleared once it has. */
  private settleStart?: (err?: unknown) => void;
  private settingUp = false;
  private retryTimer?: NodeJS.Timeout;
  /** Consumes set up so far (the first at start, then one per reconnect). */
  private setups = 0;

  constructor(options: AmqpTopicServerOptions) {
    super();
    this.options = {
      queue: '',
      durable: true,
      queueType: 'classic',
      exclusive: false,
      bindings: [],
      prefetch: 1,
      noAck: false,
      connectTimeoutMs: 5000,
      heartbeatSeconds: 5,
      name: '',
      ...options,
    };
  }

  async listen(callback: (err?: unknown) => void): Promise<void> {
    try {
      this.connection = await openConnection(this.options);
    } catch (err) {
      callback(err);
      return;
    }
    this.connection.on('disconnect', this.onDisconnect);
    const started = new Promise<unknown>((resolve) => (this.settleStart = resolve));
    this.channel = this.connection.createChannel({
      json: false,
      setup: (channel: ConfirmChannel) => this.setup(channel),
    });
    // setup() reports its own failures; this only keeps a stray one from being unhandled.
    this.channel.on('error', (err: Error) => this.logger.error(`channel error: ${err.message}`));
    const err = await started;
    if (err) {
      await this.close();
      callback(err);
    } else callback();
  }

  private readonly onDisconnect = ({ err }: { err?: Error }): void => {
    this.connected = false;
    this._status$.next(AmqpStatus.Disconnected);
    this.logger.warn(`broker connection lost (${err?.message ?? 'closed'}); reconnecting`);
  };

  /** The queue this server consumes (a server-named queue gets a new name after a reconnect). */
  get queue(): string | undefined {
    return this.queueName;
  }

  get isConnected(): boolean {
    return this.connected;
  }

  /** Routing keys currently bound at run time (static bindings excluded). */
  get bindings(): ReadonlySet<string> {
    return this.dynamicBindings;
  }

  async bind(pattern: string): Promise<void> {
    this.dynamicBindings.add(pattern);
    await this.applyBinding(pattern, 'bind');
  }

  async unbind(pattern: string): Promise<void> {
    this.dynamicBindings.delete(pattern);
    await this.applyBinding(pattern, 'unbind');
  }

  async close(): Promise<void> {
    this.connected = false;
    // Our own close is no lost link: no warning, no reconnect message.
    this.connection?.removeListener('disconnect', this.onDisconnect);
    clearTimeout(this.retryTimer);
    await this.channel?.close().catch(() => undefined);
    await this.connection?.close().catch(() => undefined);
    this.channel = undefined;
    this.connection = undefined;
  }

  on<K extends keyof AmqpServerEvents>(event: K, callback: AmqpServerEvents[K]): void {
    if (!this.connection) throw new Error('AmqpTopicServer.on() called before listen()');
    this.connection.on(event, callback);
  }

  unwrap<T>(): T {
    if (!this.connection) throw new Error('AmqpTopicServer is not listening yet');
    return this.connection as T;
  }

  /** Exact patterns first, then the first wildcard pattern that matches the routing key. */
  override getHandlerByPattern(pattern: string): MessageHandler | null {
    const exact = this.messageHandlers.get(pattern);
    if (exact) return exact;
    for (const [matches, handler] of this.wildcardHandlers()) {
      if (matches(pattern)) return handler;
    }
    return null;
  }

  /** The wildcard handlers with their patterns split once, rebuilt when handlers are added. */
  private wildcards?: { size: number; list: [(key: string) => boolean, MessageHandler][] };

  private wildcardHandlers(): [(key: string) => boolean, MessageHandler][] {
    if (this.wildcards?.size !== this.messageHandlers.size) {
      const list: [(key: string) => boolean, MessageHandler][] = [];
      for (const [handlerPattern, handler] of this.messageHandlers) {
        if (isTopicPattern(handlerPattern)) list.push([topicMatcher(handlerPattern), handler]);
      }
      this.wildcards = { size: this.messageHandlers.size, list };
    }
    return this.wildcards.list;
  }

  /**
   * Runs on every (re)connect. The first run settles `listen()`: a failure there fails start-up
   * (a queue held by another process is a QueueInUseError). A later failure leaves the server
   * disconnected and retries with a fresh connection: after a network cut the broker may still
   * hold our old connection, and with it our exclusive queue, until its heartbeat times out.
   */
  private async setup(channel: ConfirmChannel): Promise<void> {
    this.settingUp = true;
    // amqp-connection-manager does not listen for a channel's errors, and an unheard one would
    // tear down the whole connection. Setup reports its own; a later one (the broker closed the
    // channel) leaves us consuming nothing, so reconnect, which restores everything.
    channel.on('error', (err: Error) => {
      if (!this.settingUp) this.reconnectLater(`channel closed by the broker (${err.message})`);
    });
    try {
      await this.declareAndConsume(channel);
    } catch (err) {
      // The channel or connection closed under us: the next connect runs setup again.
      if ((err as Error).name === 'IllegalOperationError') return;
      const failure =
        amqpReplyCode(err) === AmqpReplyCode.ResourceLocked
          ? new QueueInUseError(this.options.queue, err)
          : err;
      const settle = this.settleStart;
      if (settle) {
        this.settleStart = undefined;
        settle(failure);
        return;
      }
      this.reconnectLater(`could not consume after a reconnect (${(failure as Error).message})`);
      return;
    } finally {
      this.settingUp = false;
    }
    const settle = this.settleStart;
    this.settleStart = undefined;
    settle?.();
  }

  private reconnectLater(reason: string): void {
    this.connected = false;
    this._status$.next(AmqpStatus.Disconnected);
    this.logger.error(`${reason}; reconnecting in ${REDECLARE_RETRY_MS} ms`);
    if (this.retryTimer) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.connection?.reconnect();
    }, REDECLARE_RETRY_MS);
    this.retryTimer.unref();
  }

  /** How the queue is declared: exclusive to this connection, or shared, of its type. */
  private queueOptions(): Options.AssertQueue {
    const { queue, durable, exclusive, queueType } = this.options;
    if (queue === '' || exclusive) return { exclusive: true, autoDelete: true, durable: false };
    if (queueType === 'quorum') return { durable: true, arguments: { 'x-queue-type': 'quorum' } };
    return { durable };
  }

  /**
   * A shared queue of a type other than the one asked for (a classic presence queue left by an
   * earlier version) makes the broker refuse the declare with PRECONDITION_FAILED. Once nothing
   * consumes it, it is replaced: deleted (with whatever waits in it) and declared again as asked.
   * While something still does, that is a QueueTypeMismatchError. Runs on a channel of its own,
   * since a refused declare closes its channel.
   */
  private async replaceQueueOfOtherType(): Promise<void> {
    const { queue, queueType } = this.options;
    if (queueType === 'classic' || queue === '' || this.options.exclusive) return;
    const model: ChannelModel | undefined = this.connection?.connection;
    if (!model) throw new Error('the broker connection is down');
    const open = async () => {
      const ch = await model.createChannel();
      ch.on('error', () => undefined); // a refused declare is reported by its call
      return ch;
    };
    const probe = await open();
    try {
      await probe.assertQueue(queue, this.queueOptions());
      return;
    } catch (err) {
      if (amqpReplyCode(err) !== AmqpReplyCode.PreconditionFailed) throw err;
    } finally {
      void probe.close().catch(() => undefined);
    }
    const admin = await open();
    try {
      const { consumerCount, messageCount } = await admin.checkQueue(queue);
      if (consumerCount > 0) throw new QueueTypeMismatchError(queue, queueType, consumerCount);
      await admin.deleteQueue(queue, { ifUnused: true });
      await admin.assertQueue(queue, this.queueOptions());
      this.logger.warn(
        `replaced queue ${queue}, of another type and unused, by a ${queueType} queue ` +
          `(${messageCount} waiting message(s) dropped)`,
      );
    } finally {
      void admin.close().catch(() => undefined);
    }
  }

  private async declareAndConsume(channel: ConfirmChannel): Promise<void> {
    const { exchange, queue, prefetch, noAck } = this.options;
    await channel.assertExchange(exchange, 'topic', { durable: true });
    await this.replaceQueueOfOtherType();
    const declared = await channel.assertQueue(queue, this.queueOptions());
    this.queueName = declared.queue;
    const patterns = new Set([...this.options.bindings, ...this.dynamicBindings]);
    await Promise.all([...patterns].map((p) => channel.bindQueue(declared.queue, exchange, p)));
    if (!noAck) await channel.prefetch(prefetch);
    await channel.consume(declared.queue, (msg) => msg && void this.handleMessage(msg, channel), {
      noAck,
    });
    this.connected = true;
    // Connected means consuming again with every binding restored, not merely a TCP link.
    this._status$.next(AmqpStatus.Connected);
    // At start this is part of the service's one "listening" line; after a reconnect it is news.
    const line = `consuming ${declared.queue} with ${patterns.size} binding(s)`;
    if (this.setups++ === 0) this.logger.debug(line);
    else this.logger.log(line);
  }

  private async applyBinding(pattern: string, op: 'bind' | 'unbind'): Promise<void> {
    const channel = this.channel;
    const queue = this.queueName;
    if (!channel || !queue || !this.connected) return; // setup() applies the set on reconnect
    try {
      if (op === 'bind') await channel.bindQueue(queue, this.options.exchange, pattern);
      else await channel.unbindQueue(queue, this.options.exchange, pattern);
    } catch (err) {
      // Lost link mid-call: setup() will restore exactly the current set on reconnect.
      if (this.connected) throw err;
    }
  }

  /**
   * A request to a `@MessagePattern` handler: its answer (or error) goes to the requester's
   * `replyTo` with the request's correlation id, as Nest's WritePacket.
   */
  private answer(
    handler: MessageHandler,
    packet: { pattern: string; data: unknown },
    msg: ConsumeMessage,
    channel: ConfirmChannel,
    to: { replyTo: string; correlationId?: string },
  ): Promise<void> {
    const context = new AmqpTopicContext([msg, channel, packet.pattern]);
    // One answer per request: the handler's last value (a request wants one) once it is done.
    let answered = false;
    let last: unknown;
    const respond = (reply: WritePacket) => {
      if (answered) return;
      if (reply.err === undefined && !reply.isDisposed) {
        last = reply.response;
        return;
      }
      answered = true;
      const body =
        reply.err !== undefined && reply.err !== null
          ? { err: errorText(reply.err), isDisposed: true }
          : { response: reply.response ?? last, isDisposed: true };
      channel.sendToQueue(to.replyTo, Buffer.from(JSON.stringify(body)), {
        correlationId: to.correlationId,
        contentType: 'application/json',
      });
    };
    return new Promise<void>((done) => {
      const failed = (err: unknown) => {
        this.logger.error(`handler for ${packet.pattern} failed: ${errorText(err)}`);
        respond({ err: errorText(err), isDisposed: true });
        done();
      };
      try {
        const running = this.handleRequest(
          context,
          async () => this.transformToObservable(await handler(packet.data, context)),
          (reply) => {
            respond(reply);
            if (answered) done();
          },
        ) as unknown;
        // Nest's typing says void; it returns the run's promise, rejected if the handler threw.
        if (running instanceof Promise) running.catch(failed);
      } catch (err) {
        failed(err);
      }
    });
  }

  private async handleMessage(msg: ConsumeMessage, channel: ConfirmChannel): Promise<void> {
    const pattern = msg.fields.routingKey;
    const settle = (ok: boolean) => {
      if (this.options.noAck) return;
      if (ok) channel.ack(msg);
      else channel.nack(msg, false, false);
    };
    let data: unknown;
    try {
      data = JSON.parse(msg.content.toString('utf8'));
    } catch {
      this.logger.error(`dropping undecodable message on ${pattern}`);
      return settle(false);
    }
    const handler = this.getHandlerByPattern(pattern);
    if (!handler) {
      this.logger.error(`no handler for routing key ${pattern}; message dropped`);
      return settle(false);
    }
    const { replyTo, correlationId } = msg.properties as {
      replyTo?: string;
      correlationId?: string;
    };
    if (!handler.isEventHandler && replyTo) {
      return this.answer(handler, { pattern, data }, msg, channel, { replyTo, correlationId }).then(
        () => settle(true),
      );
    }
    try {
      // Straight to the handler found above (Nest's handleEvent would look it up again and wrap
      // the call in processing hooks no transport of ours sets); an observable it returns is
      // run to its end, so its error still nacks.
      const result: unknown = await handler(data, new AmqpTopicContext([msg, channel, pattern]));
      if (isObservable(result)) await lastValueFrom(result, { defaultValue: undefined });
      settle(true);
    } catch (err) {
      this.logger.error(`handler for ${pattern} failed: ${(err as Error).message}`);
      settle(false);
    }
  }
}

function errorText(err: unknown): string {
  if (err instanceof Error) return err.message;
  if (typeof err === 'string') return err;
  return JSON.stringify(err) ?? String(err);
}
