import { webhookQueues } from '@roomcast/delivery';
import { IsOptional, IsString } from 'class-validator';

/** One webhook receiver on the operations page. */
export interface ReceiverBacklog {
  /** The URL as people may see it: origin and path (no credentials, no query). */
  url: string;
  /**
   * Events waiting on the broker for it (its backlog queue and its wait queue), as presence's
   * `roomcast_webhook_backlog_events{url}` counts them; null when the broker did not answer
   * about its queues in time (or they do not exist yet: presence has not started).
   */
  backlog: number | null;
}

/**
 * WEBHOOK_URL, presence's setting: the api reads the same variable (compose gives every service
 * the one `.env`) only to name each receiver's queues, which it counts; it never sends a
 * webhook. Presence validates the URLs and refuses to start on a bad one.
 */
export class WebhookReceiversEnv {
  @IsOptional()
  @IsString()
  WEBHOOK_URL?: string;
}

/** WEBHOOK_URL as a list, as presence splits it (empty: no receivers). */
export const webhookReceiverUrls = (env: WebhookReceiversEnv): string[] =>
  (env.WEBHOOK_URL ?? '')
    .split(',')
    .map((u) => u.trim())
    .filter(Boolean);

/** A reading younger than this is answered again: many open pages cost one read a second. */
const FRESH_MS = 900;

/** Message counts of named queues, null where the broker did not answer (BrokerQueueCounts). */
export type QueueCounts = (queues: readonly string[]) => Promise<(number | null)[]>;

/**
 * The webhook backlog per receiver for /admin/state: the messages in each URL's backlog and
 * wait queues (`<WEBHOOK_QUEUE>.<hash of the URL>` and `.wait`). Its cost is bounded whatever
 * the number of pages polling: one read at a time, its answer reused for FRESH_MS, and no broker
 * read at all without WEBHOOK_URL.
 */
export class WebhookBacklog {
  private readonly receivers: { url: string; queues: [string, string] }[];
  private reading?: Promise<ReceiverBacklog[]>;
  private last?: { at: number; receivers: ReceiverBacklog[] };

  constructor(
    urls: readonly string[],
    base: string,
    private readonly counts: QueueCounts,
  ) {
    this.receivers = urls.map((url) => {
      const { main, wait } = webhookQueues(base, url);
      return { url: shownUrl(url), queues: [main, wait] };
    });
  }

  /** Every receiver with its backlog; [] without WEBHOOK_URL. Never throws. */
  async read(): Promise<ReceiverBacklog[]> {
    if (this.receivers.length === 0) return [];
    if (this.last && Date.now() - this.last.at < FRESH_MS) return this.last.receivers;
    this.reading ??= this.readNow().finally(() => (this.reading = undefined));
    return this.reading;
  }

  private async readNow(): Promise<ReceiverBacklog[]> {
    const counts = await this.counts(this.receivers.flatMap((r) => r.queues)).catch(() => []);
    const receivers = this.receivers.map((r, i) => {
      const [main, wait] = [counts[2 * i] ?? null, counts[2 * i + 1] ?? null];
      return { url: r.url, backlog: main === null || wait === null ? null : main + wait };
    });
    this.last = { at: Date.now(), receivers };
    return receivers;
  }
}

/** Origin and path, as presence labels its webhook metrics: no credentials, no query. */
function shownUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    return '(bad URL)';
  }
}
