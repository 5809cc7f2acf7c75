import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { amqpUrls } from '@roomcast/config';
import { Counter, Registry } from 'prom-client';
import { PRESENCE_CONFIG, webhookUrls, type PresenceEnv } from '../config/presence.env';
import { redactWebhookUrl, WebhookSender } from './webhook-sender';

/** One WebhookSender per WEBHOOK_URL, started with the service and stopped before it exits. */
@Injectable()
export class WebhookSenders implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(WebhookSenders.name);
  readonly senders: WebhookSender[];

  constructor(@Inject(PRESENCE_CONFIG) config: PresenceEnv, registry: Registry) {
    const attempts = new Counter({
      name: 'roomcast_webhook_attempts_total',
      help: 'Webhook POSTs this replica made, by URL and result (delivered: a 2xx)',
      labelNames: ['url', 'result'],
      registers: [registry],
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
          name: `${config.INSTANCE_ID}/webhooks`,
          onAttempt: (result) => attempts.inc({ url: redactWebhookUrl(url), result }),
        }),
    );
  }

  async onApplicationBootstrap(): Promise<void> {
    await Promise.all(this.senders.map((s) => s.start()));
    for (const s of this.senders)
      this.logger.log(`webhooks to ${redactWebhookUrl(s.url)} from queue ${s.queue}`);
  }

  async onApplicationShutdown(): Promise<void> {
    await Promise.all(this.senders.map((s) => s.close()));
  }
}
