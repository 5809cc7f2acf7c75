import { Logger, type FactoryProvider } from '@nestjs/common';
import type { AmqpConnectionManager } from 'amqp-connection-manager';
import type { Channel, ChannelModel } from 'amqplib';
import { AmqpReplyCode, amqpReplyCode } from './amqp.constants';
import type { AmqpQueueProbeOptions } from './amqp.interfaces';
import { openConnection } from './connection';

/**
 * What the broker said about a queue: it exists (declared, or RESOURCE_LOCKED: exclusive to a
 * live connection), it does not (404 NOT_FOUND), or no answer (the link is down, the check timed
 * out, any other error), which says nothing either way.
 */
export type QueueState =
  { state: 'present' } | { state: 'missing' } | { state: 'unknown'; error: Error };

const DEFAULT_CHECK_TIMEOUT_MS = 1000;

/**
 * A failed passive declare: 404 NOT_FOUND is a queue that does not exist. RESOURCE_LOCKED is the
 * broker's answer for an exclusive queue that another live connection owns (RabbitMQ checks
 * exclusivity before anything else, passive or not): the queue exists. Anything else says
 * nothing about the queue.
 */
function stateOfFailure(err: unknown): QueueState {
  switch (amqpReplyCode(err)) {
    case AmqpReplyCode.NotFound:
      return { state: 'missing' };
    case AmqpReplyCode.ResourceLocked:
      return { state: 'present' };
    default:
      return { state: 'unknown', error: err as Error };
  }
}

/**
 * Asks the broker whether queues exist, with passive declares (`checkQueue`) on a connection of
 * its own. A failed passive declare makes the broker close the channel, so each round opens a
 * channel and replaces it after every failure; channels are never shared with publishers or
 * consumers.
 */
export class AmqpQueueProbe {
  private readonly logger = new Logger(AmqpQueueProbe.name);
  private connection?: AmqpConnectionManager;
  private lastReconnectAt?: number;

  constructor(private readonly options: AmqpQueueProbeOptions) {}

  async connect(): Promise<void> {
    if (this.connection) return;
    this.connection = await openConnection(this.options);
    // openConnection has seen the first connect: every one from now on is a reconnect.
    this.connection.on('connect', () => (this.lastReconnectAt = Date.now()));
    this.connection.on('disconnect', ({ err }) => {
      this.logger.warn(`broker connection lost (${err?.message ?? 'closed'}); reconnecting`);
    });
  }

  async close(): Promise<void> {
    await this.connection?.close().catch(() => undefined);
    this.connection = undefined;
  }

  /** Nest calls this on shutdown when the probe is a provider. */
  onApplicationShutdown(): Promise<void> {
    return this.close();
  }

  get isConnected(): boolean {
    return this.connection?.isConnected() ?? false;
  }

  /**
   * When the probe's link last came back after a loss (undefined if it never dropped): right
   * after the broker itself restarted, no exclusive queue exists until each owner reconnects.
   */
  get reconnectedAt(): number | undefined {
    return this.lastReconnectAt;
  }

  /** The state of each queue, checked one after the other. Never throws. */
  async check(queues: readonly string[]): Promise<Map<string, QueueState>> {
    const states = new Map<string, QueueState>();
    const model = this.connection?.isConnected() ? this.connection.connection : undefined;
    if (!model) {
      const error = new Error('the broker connection is down');
      for (const q of queues) states.set(q, { state: 'unknown', error });
      return states;
    }
    let channel: Channel | undefined;
    try {
      for (const queue of queues) {
        try {
          channel ??= await this.openChannel(model);
          await this.withTimeout(channel.checkQueue(queue), `checkQueue ${queue}`);
          states.set(queue, { state: 'present' });
        } catch (err) {
          states.set(queue, stateOfFailure(err));
          // The broker closed the channel (or a late answer may still come on it): use a new one.
          // With gateways' queues exclusive, every live one costs a channel: a few per round.
          void channel?.close().catch(() => undefined);
          channel = undefined;
        }
      }
    } finally {
      void channel?.close().catch(() => undefined);
    }
    return states;
  }

  private async openChannel(model: ChannelModel): Promise<Channel> {
    const opening = model.createChannel();
    let channel: Channel;
    try {
      channel = await this.withTimeout(opening, 'opening a channel');
    } catch (err) {
      void opening.then((late) => late.close()).catch(() => undefined);
      throw err;
    }
    // A failed declare is reported by its rejected call; the channel's 'error' event repeats it
    // and would throw without a listener.
    channel.on('error', () => undefined);
    return channel;
  }

  private withTimeout<T>(promise: Promise<T>, what: string): Promise<T> {
    const ms = this.options.checkTimeoutMs ?? DEFAULT_CHECK_TIMEOUT_MS;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
    });
    return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
  }
}

/** A Nest provider of a connected AmqpQueueProbe (closed by Nest on shutdown). */
export function provideAmqpQueueProbe(
  options: AmqpQueueProbeOptions,
): FactoryProvider<AmqpQueueProbe> {
  return {
    provide: AmqpQueueProbe,
    useFactory: async () => {
      const probe = new AmqpQueueProbe(options);
      await probe.connect();
      return probe;
    },
  };
}
