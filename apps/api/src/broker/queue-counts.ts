import { Logger, type OnModuleDestroy } from '@nestjs/common';
import {
  openConnection,
  queueMessageCounts,
  type AmqpConnectionOptions,
} from '@roomcast/amqp-transport';
import type { AmqpConnectionManager } from 'amqp-connection-manager';
import type { ChannelModel } from 'amqplib';

/** After a failed connect, the next try waits this long. */
const RECONNECT_AFTER_MS = 5000;

/**
 * Counts of messages in named queues, read with passive declares (`checkQueue`): nothing is
 * created, consumed or changed. The connection is opened at the first read (so the api never
 * waits for the broker to start or to serve anything else) and kept; a failed connect is tried
 * again at a read RECONNECT_AFTER_MS later at the earliest.
 */
export class BrokerQueueCounts implements OnModuleDestroy {
  private readonly logger = new Logger(BrokerQueueCounts.name);
  private connection?: Promise<AmqpConnectionManager>;
  private failedAt = 0;

  constructor(private readonly options: AmqpConnectionOptions & { timeoutMs: number }) {}

  /**
   * Each queue's message count, null for a queue the broker did not answer about within
   * `timeoutMs` (a queue that does not exist, or no broker). Never throws.
   */
  async count(queues: readonly string[]): Promise<(number | null)[]> {
    const connection = await this.connected();
    if (!connection) return queues.map(() => null);
    return queueMessageCounts(connection, queues, this.options.timeoutMs);
  }

  async onModuleDestroy(): Promise<void> {
    const manager = await this.connection?.catch(() => undefined);
    await manager?.close().catch(() => undefined);
  }

  private async connected(): Promise<ChannelModel | undefined> {
    if (!this.connection) {
      if (Date.now() - this.failedAt < RECONNECT_AFTER_MS) return undefined;
      this.connection = openConnection({
        ...this.options,
        connectTimeoutMs: this.options.connectTimeoutMs ?? 3 * this.options.timeoutMs,
      });
    }
    try {
      return (await this.connection).connection;
    } catch (err) {
      this.logger.warn(`queue counts: ${(err as Error).message}`);
      this.connection = undefined;
      this.failedAt = Date.now();
      return undefined;
    }
  }
}
