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
      const counts = await Promise.all(senders.map((s) => queued(s)));
      senders.forEach((s, i) => {
        const n = counts[i];
        if (n !== undefined) this.set({ url: redactWebhookUrl(s.url) }, n);
      });
    },
  });
}

/** Messages in the sender's backlog and wait queues, or undefined without an answer in time. */
async function queued(sender: WebhookSender): Promise<number | undefined> {
  const connection = sender.brokerConnection;
  if (!connection) return undefined;
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), CHECK_TIMEOUT_MS);
  });
  const count = (async () => {
    // A channel of its own: a failed passive declare closes its channel, never the sender's.
    const ch = await connection.createChannel();
    ch.on('error', () => undefined);
    try {
      const [main, wait] = await Promise.all([
        ch.checkQueue(sender.queues.main),
        ch.checkQueue(sender.queues.wait),
      ]);
      return main.messageCount + wait.messageCount;
    } finally {
      await ch.close().catch(() => undefined);
    }
  })().catch(() => undefined);
  try {
    return await Promise.race([count, late]);
  } finally {
    clearTimeout(timer);
  }
}
