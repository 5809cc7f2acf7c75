import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { openConnection } from '@roomcast/amqp-transport';
import { unbindRemovedWebhookQueues } from '@roomcast/delivery';
import { amqpUrls } from '@roomcast/config';
import { ALL_WEBHOOKS_PATTERN } from '@roomcast/contracts';
import { Counter, Gauge, Registry } from 'prom-client';
import { PRESENCE_CONFIG, webhookUrls, type PresenceEnv } from '../config/presence.env';
import { webhookBacklogGauge } from './webhook-backlog';
import { redactWebhookUrl, WebhookSender } from './webhook-sender';

/**
 * One WebhookSender per WEBHOOK_URL, started with the service and stopped before it exits; at
 * start, the queue of a URL the last configuration had and this one has not is unbound (also
 * when WEBHOOK_URL is now empty), so it stops collecting events.
 */
@Injectable()
export class WebhookSenders implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(WebhookSenders.name);
  readonly senders: WebhookSender[];

  constructor(
    @Inject(PRESENCE_CONFIG) private readonly config: PresenceEnv,
    registry: Registry,
  ) {
    const attempts = new Counter({
      name: 'roomcast_webhook_attempts_total',
      help: 'Webhook POSTs this replica made, by URL and result (delivered: a 2xx)',
      labelNames: ['url', 'result'],
      registers: [registry],
    });
    const deadLetters = new Counter({
      name: 'roomcast_webhook_dead_letters_total',
      help: 'Webhook events this replica moved to the dead-letter queue after their last attempt',
      labelNames: ['url'],
      registers: [registry],
    });
    const senders: WebhookSender[] = [];
    new Gauge({
      name: 'roomcast_webhook_parked_events',
      help: 'Webhook events this replica has parked in the wait queues (failed, or behind a failed one of their room)',
      labelNames: ['url'],
      registers: [registry],
      collect() {
        for (const s of senders) this.set({ url: redactWebhookUrl(s.url) }, s.parking.size);
      },
    });
    this.senders = webhookUrls(config).map(
      (url) =>
        new WebhookSender(url, {
          amqpUrls: amqpUrls(config.AMQP_URL),
          exchange: config.EXCHANGE,
          queueBase: config.WEBHOOK_QUEUE,
          secret: config.WEBHOOK_SECRET!,
          timeoutMs: config.WEBHOOK_TIMEOUT_MS,
          retryMs: config.WEBHOOK_RETRY_MS,
          maxRetryMs: config.WEBHOOK_MAX_RETRY_MS,
          reorderMs: config.WEBHOOK_REORDER_MS,
          prefetch: config.WEBHOOK_PREFETCH,
          maxAttempts: config.WEBHOOK_MAX_ATTEMPTS,
          parkMs: config.WEBHOOK_PARK_MS,
          queueMax: config.WEBHOOK_QUEUE_MAX,
          deadLetterMax: config.WEBHOOK_DEAD_LETTER_MAX,
          name: `${config.INSTANCE_ID}/webhooks`,
          onAttempt: (result) => attempts.inc({ url: redactWebhookUrl(url), result }),
          onDeadLetter: () => deadLetters.inc({ url: redactWebhookUrl(url) }),
        }),
    );
    senders.push(...this.senders);
    webhookBacklogGauge(registry, this.senders);
  }

  async onApplicationBootstrap(): Promise<void> {
    await Promise.all(this.senders.map((s) => s.start()));
    for (const s of this.senders)
      this.logger.log(`webhooks to ${redactWebhookUrl(s.url)} from queue ${s.queue}`);
    await this.unbindRemoved().catch((err: Error) =>
      this.logger.warn(`could not check for removed webhook URLs: ${err.message}`),
    );
  }

  async onApplicationShutdown(): Promise<void> {
    await Promise.all(this.senders.map((s) => s.close()));
  }

  private async unbindRemoved(): Promise<void> {
    const own = this.senders[0] ? undefined : await this.openOwnConnection();
    const connection = own?.connection ?? this.senders[0]?.brokerConnection;
    try {
      if (!connection) return;
      const removed = await unbindRemovedWebhookQueues(connection, {
        exchange: this.config.EXCHANGE,
        pattern: ALL_WEBHOOKS_PATTERN,
        base: this.config.WEBHOOK_QUEUE,
        current: this.senders.map((s) => s.queue),
        // Without URLs, a deployment that never had webhooks gets no registry queue.
        createRegistry: this.senders.length > 0,
      });
      for (const queue of removed)
        this.logger.log(
          `unbound webhook queue ${queue} (its URL is no longer in WEBHOOK_URL); its backlog ` +
            'stays until the URL comes back or the queue expires unused',
        );
    } finally {
      await own?.close().catch(() => undefined);
    }
  }

  private openOwnConnection() {
    return openConnection({
      urls: amqpUrls(this.config.AMQP_URL),
      exchange: this.config.EXCHANGE,
      name: `${this.config.INSTANCE_ID}/webhooks`,
    });
  }
}
