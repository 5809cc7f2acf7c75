import { Gauge, type Registry } from 'prom-client';
import { redactWebhookUrl, type WebhookSender } from './webhook-sender';

/** The longest a scrape waits for the broker's answer about one URL's queues. */
const CHECK_TIMEOUT_MS = 1000;

/**
 * `roomcast_webhook_backlog_events{url}`: the events waiting on the broker for one receiver, read
 * at each scrape with a passive declare of the URL's backlog queue and its wait queue (retries
 * parked for later): what the receiver has not taken yet. Events a sender holds in flight (up to
 * WEBHOOK_PREFETCH) are not in it. Every replica reports the same queues: take the max over
 * replicas. A URL whose queues the broker does not answer about has no value at that scrape.
 */
export function webhookBacklogGauge(registry: Registry, senders: readonly WebhookSender[]): Gauge {
  return new Gauge({
    name: 'roomcast_webhook_backlog_events',
    help: 'Webhook events waiting on the broker for a receiver (its backlog and wait queues), by URL',
    labelNames: ['url'],
    registers: [registry],
    async collect() {
      this.reset();
      const counts = await Promise.all(senders.map((s) => s.backlog(CHECK_TIMEOUT_MS)));
      senders.forEach((s, i) => {
        const n = counts[i];
        if (n !== undefined) this.set({ url: redactWebhookUrl(s.url) }, n);
      });
    },
  });
}
